"""vibeforge's X client posting images to the sandbox: uploads, alt text, charges, the checks
made before anything is sent, and a create whose answer is lost landing once."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from vibeforge.platforms.auth import BearerAuth
from vibeforge.platforms.base import Image, InvalidRequest
from vibeforge.platforms.bluesky import Image as BlueskyImage
from vibeforge.platforms.x import XClient
from vibeforge.sandbox.clock import to_datetime
from vibeforge.sandbox.server import RunningSandbox


class _Recording(httpx.BaseTransport):
    """The real transport; notes each request, and can lose the answer of the first create
    after the server has handled it (a 503 in its place)."""

    def __init__(self, *, lose_first_create: bool = False) -> None:
        self.inner = httpx.HTTPTransport()
        self.sent: list[tuple[str, str]] = []
        self.lose = lose_first_create

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, request.url.path))
        response = self.inner.handle_request(request)
        if self.lose and request.method == "POST" and request.url.path == "/2/tweets":
            self.lose = False
            response.read()
            response.close()
            return httpx.Response(503, json={"title": "Service Unavailable"}, request=request)
        return response

    def close(self) -> None:
        self.inner.close()


def client(sandbox: RunningSandbox, handle: str, token: str, **kw: object) -> XClient:
    return XClient(
        base_url=sandbox.base_url,
        auth=BearerAuth(sandbox.app_token),
        user_auth={handle: BearerAuth(token)},
        clock=lambda: to_datetime(sandbox.world.now_ms()),
        backoff_s=0.0,
        **kw,  # type: ignore[arg-type]
    )


def stored_media(sandbox: RunningSandbox, post_id: str) -> list[tuple[bytes, str, str | None]]:
    rows = sandbox.world.store.all(
        "SELECT m.data, m.mime, m.alt_text FROM x_post_media pm JOIN x_media m "
        "ON m.id = pm.media_id WHERE pm.post_id = ? ORDER BY pm.position",
        (int(post_id),),
    )
    return [(bytes(r[0]), r[1], r[2]) for r in rows]


def test_publish_with_images_stores_their_bytes_and_charges_each_call(
    sandbox: RunningSandbox, png: Callable[..., bytes]
) -> None:
    token = sandbox.create_account("xclientpics", niche="airlines")
    images = [
        Image(data=png(30, 20, seed=1), mime="image/png", alt="departures board"),
        Image(data=png(20, 30, seed=2), mime="image/png"),  # no alt: no metadata call
    ]
    transport = _Recording()
    with client(sandbox, "xclientpics", token, transport=transport) as x:
        ref = x.publish(
            account="xclientpics",
            text="Boarding now, two pictures",
            idempotency_key="i1",
            images=images,
        )
        bare = x.upload_media(account="xclientpics", data=png(4, 4), mime="image/png")
    assert stored_media(sandbox, ref.id) == [
        (images[0].data, "image/png", "departures board"),
        (images[1].data, "image/png", None),
    ]
    assert bare.isdigit() and sandbox.world.store.one(
        "SELECT size FROM x_media WHERE id = ?", (int(bare),)
    )[0] == len(png(4, 4))
    assert transport.sent == [
        ("POST", "/2/media/upload"),
        ("POST", "/2/media/metadata"),
        ("POST", "/2/media/upload"),
        ("POST", "/2/tweets"),
        ("POST", "/2/media/upload"),
    ]
    kinds = [e.kind for e in x.ledger.entries()]
    assert kinds == [
        "media_upload",
        "media_metadata",
        "media_upload",
        "post_create",
        "media_upload",
    ]
    assert x.ledger.spent() == pytest.approx(0.005 + 0.015)
    # the class the Bluesky client has always exported is the same one
    assert BlueskyImage is Image


def test_bad_images_are_refused_before_anything_is_sent(
    sandbox: RunningSandbox, png: Callable[..., bytes]
) -> None:
    token = sandbox.create_account("badpics", niche="airlines")
    transport = _Recording()
    ok = Image(data=png(2, 2))
    with client(sandbox, "badpics", token, transport=transport) as x:
        for images, why in (
            ([ok] * 5, "at most 4"),
            ([ok, Image(data=b"GIF89a...", mime="image/tiff")], "image/tiff"),
            ([Image(data=b"\x89PNG" + b"\x00" * (5 * 1024 * 1024))], "5 MB"),
            ([Image(data=b"")], "5 MB"),
            ([Image(data=png(2, 2), alt="a" * 1001)], "alt text"),
        ):
            with pytest.raises(InvalidRequest, match=why):
                x.publish(account="badpics", text="nope", idempotency_key="b", images=images)
        with pytest.raises(InvalidRequest, match="image/bmp"):
            x.upload_media(account="badpics", data=b"BM", mime="image/bmp")
    assert transport.sent == [] and x.ledger.entries() == []


def test_an_image_post_whose_answer_is_lost_exists_once(
    sandbox: RunningSandbox, png: Callable[..., bytes]
) -> None:
    token = sandbox.create_account("lostpics", niche="airlines")
    transport = _Recording(lose_first_create=True)
    image = Image(data=png(6, 6, seed=9), alt="gate")
    with client(sandbox, "lostpics", token, transport=transport) as x:
        ref = x.publish(
            account="lostpics",
            text="Delayed again, here is the gate",
            idempotency_key="l",
            images=[image],
        )
    uid = int(token.split("-")[0])
    posts = sandbox.world.store.all("SELECT id FROM posts WHERE author_id = ?", (uid,))
    assert [str(r[0]) for r in posts] == [ref.id]  # the lost create was found, not resent
    assert stored_media(sandbox, ref.id) == [(image.data, "image/png", "gate")]
    assert transport.sent.count(("POST", "/2/tweets")) == 1
    assert transport.sent.count(("POST", "/2/media/upload")) == 1
    assert sandbox.world.store.count("SELECT COUNT(*) FROM x_media WHERE owner_id = ?", (uid,)) == 1
