"""vibeforge's own X client against the sandbox: the platform the loop runs on by default."""

from __future__ import annotations

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
