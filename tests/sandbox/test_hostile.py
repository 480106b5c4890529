"""Hostile input: each case that once gave a 500 or broke the world's clock is a 4xx in X's
shape, and the world is unchanged afterwards."""

from __future__ import annotations

import socket
import threading

import httpx
import pytest
from tests.sandbox.conftest import bearer

from vibeforge.sandbox.bodylimit import MAX_BODY_BYTES
from vibeforge.sandbox.server import RunningSandbox

BIG = 5_000_000  # the 5 MB body that once held every other request for seconds


def assert_x_error(r: httpx.Response, status: int = 400) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert {"title", "detail", "type", "status"} <= set(body) and body["status"] == status
    return body


@pytest.mark.parametrize(
    "path",
    [
        "/2/tweets/²",  # a Unicode digit: str.isdigit() says yes, int() says no
        "/2/tweets?ids=1,²",
        "/2/tweets/9223372036854775808",  # 2^63: past SQLite's INTEGER
        "/2/users/9223372036854775808",
        "/2/users/9999999999999999999/tweets",
        "/2/lists/{list}/tweets?since_id=9999999999999999999",
        "/2/lists/{list}/tweets?max_results=1²",
        "/2/lists/{list}/tweets?pagination_token=" + "z" * 200,
        "/2/lists/{list}/members?pagination_token=" + "z" * 200,
        "/2/lists/{list}/members?pagination_token=%C2%B2",
        "/admin/truth?ids=9223372036854775808",
    ],
)
def test_bad_ids_and_tokens_are_400s(
    sandbox: RunningSandbox, http: httpx.Client, path: str
) -> None:
    url = path.format(list=sandbox.list_ids()["apple"])
    body = assert_x_error(http.get(url, headers=bearer(sandbox.admin_token)))
    assert body["title"] == "Invalid Request" and body["errors"][0]["message"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/admin/clock/speed", '{"speed": NaN}'),
        ("/admin/clock/speed", '{"speed": Infinity}'),
        ("/admin/clock/speed", '{"speed": 1e300}'),
        ("/admin/clock/speed", '{"speed": -1}'),
        ("/admin/clock/speed", '{"speed": "60"}'),
        ("/admin/clock/advance", '{"hours": 1e300}'),
        ("/admin/clock/advance", '{"hours": Infinity}'),
        ("/admin/clock/advance", '{"hours": NaN}'),
        ("/admin/clock/advance", '{"hours": -1}'),
        ("/admin/clock/advance", '{"seconds": 1e400}'),  # JSON's 1e400 parses as inf
        ("/admin/clock/advance", "[" * 100_000 + "]" * 100_000),  # nested past the stack
        ("/admin/clock/advance", '{"a":' * 5000 + "1" + "}" * 5000),
        ("/admin/trends", '{"niche": "apple", "in_hours": 1e300}'),
        ("/admin/trends", '{"niche": "apple", "strength": NaN}'),
        ("/admin/accounts", '{"username": "big", "followers": 1e18}'),
        ("/admin/accounts", '{"username": "a\\u00b2"}'),
        ("/admin/evaluate", '{"texts": ["x"], "author_id": 1000001, "at": "garbage"}'),
        ("/admin/world", '{"world": "tiny", "seed": 1e300}'),
        ("/admin/world", '{"world": "tiny", "overrides": {"members_per_niche": 1e300}}'),
        ("/admin/world", '{"world": "tiny", "overrides": {"niches": 5}}'),
        ("/admin/world", '{"world": "tiny", "overrides": {"seed": 5}}'),
    ],
)
def test_bad_admin_numbers_are_refused_and_the_world_is_unchanged(
    sandbox: RunningSandbox, http: httpx.Client, path: str, body: str
) -> None:
    admin = {**bearer(sandbox.admin_token), "content-type": "application/json"}
    before = http.get("/admin/world", headers=admin).json()
    assert_x_error(http.post(path, content=body, headers=admin))
    after = http.get("/admin/world", headers=admin)
    assert after.status_code == 200
    world = after.json()
    assert (world["now"], world["speed"], world["seed"]) == (
        before["now"],
        before["speed"],
        before["seed"],
    )
    assert world["counts"] == before["counts"]


def _raw(port: int, head: str, chunks: list[bytes], *, timeout: float = 20) -> bytes:
    """Send a request by hand (the body may stop short of its Content-Length); the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(head.encode())
        for chunk in chunks:
            try:
                s.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):  # refused mid-upload: read why
                break
        answer = b""
        while b"\r\n\r\n" not in answer:
            more = s.recv(65536)
            if not more:
                break
            answer += more
        return answer


def test_a_declared_big_body_gets_413_before_it_is_sent(sandbox: RunningSandbox) -> None:
    token = sandbox.create_account("uploader")
    head = (
        "POST /2/tweets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: {BIG}\r\n\r\n"
    )
    # only 64 KB of the 5 MB is ever sent: a server waiting for the rest would time out here
    answer = _raw(sandbox.port, head, [b'{"text": "' + b"a" * 65_536])
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"status":413' in answer or b'"status": 413' in answer
    assert b"content-type: application/problem+json" in answer.lower()


def test_a_chunked_big_body_is_cut_off_at_the_limit(sandbox: RunningSandbox) -> None:
    head = (
        "POST /admin/clock/advance HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {sandbox.admin_token}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    piece = b"a" * 65_536
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    n = MAX_BODY_BYTES // len(piece) + 2  # just past the limit, never the terminating chunk
    answer = _raw(sandbox.port, head, [chunk] * n)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_a_5mb_upload_does_not_stall_other_requests(
    sandbox: RunningSandbox, http: httpx.Client
) -> None:
    token = sandbox.create_account("bigposter")
    head = (
        "POST /2/tweets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: {BIG}\r\n\r\n"
    )
    body = b'{"text": "' + b"a" * (BIG - 12) + b'"}'
    sent = threading.Event()
    answers: list[bytes] = []

    def upload() -> None:
        chunks = [body[i : i + 262_144] for i in range(0, len(body), 262_144)]
        sent.set()
        answers.append(_raw(sandbox.port, head, chunks, timeout=60))

    thread = threading.Thread(target=upload)
    thread.start()
    assert sent.wait(10)
    # answered while the upload is in flight or being refused; generous against a slow machine
    assert http.get("/health", timeout=10).status_code == 200
    thread.join(60)
    assert answers and answers[0].startswith(b"HTTP/1.1 413"), answers[:1]
