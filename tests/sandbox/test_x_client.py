"""vibeforge's own X client against the sandbox: the platform the loop runs on by default."""

from __future__ import annotations

import re

import httpx

from vibeforge.domain import Timeline, TimelineKind
from vibeforge.platforms.auth import BearerAuth
from vibeforge.platforms.x import XClient
from vibeforge.sandbox.clock import to_datetime
from vibeforge.sandbox.server import RunningSandbox


def test_x_client_reads_publishes_and_measures(sandbox: RunningSandbox) -> None:
    token = sandbox.create_account("xclientbot", niche="airlines", followers=100)
    with XClient(
        base_url=sandbox.base_url,
        auth=BearerAuth(sandbox.app_token),
        user_auth={"xclientbot": BearerAuth(token)},
        clock=lambda: to_datetime(sandbox.world.now_ms()),  # platform time, not the wall's
    ) as x:
        list_id = sandbox.list_ids()["airlines"]
        posts = x.timeline(source=Timeline(name="a", kind=TimelineKind.LIST, source=list_id))
        assert posts and all(p.metrics is not None for p in posts)
        newest = max(posts, key=lambda p: int(p.id)).id
        again = x.timeline(
            source=Timeline(name="a", kind=TimelineKind.LIST, source=list_id), since_id=newest
        )
        assert all(int(p.id) > int(newest) for p in again)
        home = x.timeline(source=Timeline(name="h", kind=TimelineKind.HOME, source="xclientbot"))
        assert {p.author_id for p in home} <= {a.id for a in x.list_members(list_id=list_id)}

        ref = x.publish(
            account="xclientbot", text="Window or aisle on a red-eye?", idempotency_key="k"
        )
        sandbox.advance(hours=24)
        metrics = x.metrics(post_ids=[ref.id])[ref.id]
        assert metrics.impression_count and metrics.impression_count > 0
        assert x.account(handle="xclientbot").followers_count == 100


class _Counting(httpx.BaseTransport):
    """The real HTTP transport, noting each request that goes out."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.sent: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, request.url.path))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def _endpoint_pattern(endpoint: str) -> re.Pattern[str]:
    method, template = endpoint.split(" ", 1)
    return re.compile(re.escape(method) + " " + re.sub(r":\w+", "[^/]+", template) + "$")


def test_every_endpoint_call_is_charged_once(sandbox: RunningSandbox) -> None:
    token = sandbox.create_account("chargebot", niche="airlines", followers=50)
    transport = _Counting()
    with XClient(
        base_url=sandbox.base_url,
        auth=BearerAuth(sandbox.app_token),
        user_auth={"chargebot": BearerAuth(token)},
        transport=transport,
        clock=lambda: to_datetime(sandbox.world.now_ms()),
    ) as x:
        list_id = sandbox.list_ids()["airlines"]
        posts = x.timeline(
            source=Timeline(name="a", kind=TimelineKind.LIST, source=list_id), max_posts=150
        )
        x.list_members(list_id=list_id, max_users=5)
        x.account(handle="chargebot")
        x.me(account="chargebot")
        ref = x.publish(account="chargebot", text="Aisle seats, always.", idempotency_key="c1")
        x.metrics(post_ids=[ref.id, *(p.id for p in posts[:3])])
        x.timeline(source=Timeline(name="h", kind=TimelineKind.HOME, source="chargebot"))
    entries = x.ledger.entries()
    # every call that returned something was charged, each exactly once, in the order sent
    assert len(entries) == len(transport.sent) == 7
    for entry, (method, path) in zip(entries, transport.sent, strict=True):
        assert _endpoint_pattern(entry.endpoint).match(f"{method} {path}"), (entry, path)
        assert entry.calls == 1 and entry.units >= 1
    kinds = {e.endpoint: e.kind for e in entries}
    assert kinds["POST /2/tweets"] == "post_create"
    assert kinds["GET /2/users/me"] == kinds["GET /2/lists/:id/members"] == "user_read"
    assert [e.units for e in entries if e.endpoint == "GET /2/tweets"] == [4]
