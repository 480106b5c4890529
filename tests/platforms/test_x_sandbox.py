"""The X client, unchanged, against the sandbox server on loopback."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from vibeforge.domain import Timeline, TimelineKind
from vibeforge.platforms.auth import BearerAuth
from vibeforge.platforms.base import AuthError, PlatformError, RateLimited
from vibeforge.platforms.x import XClient


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    from vibeforge.sandbox import start_sandbox

    home = tmp_path_factory.mktemp("sandbox")
    # every corpus tweet of a niche already posted: 1,200 corpus tweets of airline talk to ingest
    with start_sandbox(
        home=home,
        world="tiny",
        seed=0,
        speed=0,
        tweets_per_niche=1200,
        history_days=10,
        horizon_days=1,
    ) as sb:
        yield sb


def _client(sb, **kw) -> XClient:
    return XClient(base_url=sb.base_url, auth=BearerAuth(sb.app_token), **kw)


def test_ingests_a_niche_of_1000_posts_through_pagination(sandbox) -> None:
    client = _client(sandbox)
    airlines = Timeline(name="air", kind=TimelineKind.LIST, source=sandbox.list_ids()["airlines"])
    posts = client.timeline(source=airlines, max_posts=5000)
    assert len(posts) >= 1000
    assert len({p.id for p in posts}) == len(posts)
    ids = [int(p.id) for p in posts]
    assert ids == sorted(ids, reverse=True)  # newest first across pages
    pages = [e for e in client.ledger.entries() if e.endpoint == "GET /2/lists/:id/tweets"]
    assert len(pages) >= 10 and all(e.units <= 100 for e in pages)
    assert any("@" in p.text or "http" in p.text for p in posts)  # raw: the scrubber has work
    # incremental: nothing new since the newest id
    assert client.timeline(source=airlines, since_id=posts[0].id) == []
    newest_but_ten = posts[10].id
    assert [p.id for p in client.timeline(source=airlines, since_id=newest_but_ten)] == [
        p.id for p in posts[:10]
    ]


def test_handles_timeline_is_incremental(sandbox) -> None:
    client = _client(sandbox)
    members = client.list_members(list_id=sandbox.list_ids()["apple"])
    handles = ",".join(m.handle for m in members[:2])
    tl = Timeline(name="h", kind=TimelineKind.HANDLES, source=handles)
    posts = client.timeline(source=tl, max_posts=300)
    assert posts and {p.author_id for p in posts} <= {m.id for m in members[:2]}
    newest = max(posts, key=lambda p: int(p.id)).id
    assert client.timeline(source=tl, since_id=newest) == []


def test_publish_then_read_metrics_in_batches_of_100(sandbox) -> None:
    token = sandbox.create_account("flyerbot", niche="airlines", followers=200)
    client = _client(sandbox, user_auth={"flyerbot": BearerAuth(token)})
    ref = client.publish(
        account="flyerbot",
        text="Is it just me or are gate changes worse this week?",
        idempotency_key="k1",
    )
    sandbox.advance(hours=6)
    airlines = Timeline(name="air", kind=TimelineKind.LIST, source=sandbox.list_ids()["airlines"])
    human = [p.id for p in client.timeline(source=airlines, max_posts=249)]
    before = len(client.ledger.entries())
    metrics = client.metrics(post_ids=[ref.id, *human])
    calls = client.ledger.entries()[before:]
    assert [c.units for c in calls] == [100, 100, 50]
    assert ref.id in metrics and metrics[ref.id].impression_count is not None
    created = [e for e in client.ledger.entries() if e.endpoint == "POST /2/tweets"]
    assert created[-1].cost_usd == pytest.approx(0.015)
    # the sandbox marks it as AI-made and shows it on the account
    since = datetime(2000, 1, 1, tzinfo=UTC)
    text = "Is it just me or are gate changes worse this week?"
    found = client.find_published(account="flyerbot", text=text, since=since)
    assert found is not None and found.id == ref.id


@pytest.mark.parametrize("fields_param", ["post.fields", "tweet.fields"])
def test_both_vocabularies_read_the_same_posts(sandbox, fields_param: str) -> None:
    """X's spec 2.167 names (post.fields, referenced_posts, repost_count) and the older ones
    (tweet.fields, referenced_tweets, retweet_count) parse into the same posts."""
    handle = f"vocab{fields_param[0]}"
    token = sandbox.create_account(handle, niche="apple", followers=300)
    poster = _client(sandbox, user_auth={handle: BearerAuth(token)})
    root = poster.publish(
        account=handle, text=f"@{handle} which MacBook for a student?", idempotency_key="v1"
    )
    reply = poster.publish(
        account=handle,
        text="Asking for my cousin, who studies design",
        idempotency_key="v2",
        reply_to=root.id,
    )
    sandbox.advance(hours=12)
    client = _client(sandbox, fields_param=fields_param)
    got = {p.id: p for p in client.get_posts(post_ids=[root.id, reply.id])}
    assert got[reply.id].in_reply_to_id == root.id and got[root.id].in_reply_to_id is None
    shown = sandbox.world.metrics([int(root.id)])[int(root.id)]
    metrics = got[root.id].metrics
    assert metrics is not None and metrics.impression_count == shown["impressions"] > 0
    assert (metrics.like_count, metrics.repost_count) == (shown["like"], shown["repost"])
    assert got[root.id].author_followers == 300
    account = client.account(handle=handle)
    assert account.followers_count == 300 and account.post_count == 2


def test_app_token_cannot_post_and_bad_tokens_are_refused(sandbox) -> None:
    client = _client(sandbox, user_auth={"ghost": BearerAuth(sandbox.app_token)})
    # X's 403 "Unsupported Authentication": a credentials problem, with its fix
    with pytest.raises(AuthError, match="run 'vibeforge auth x ghost'"):
        client.publish(account="ghost", text="hello", idempotency_key="k")
    bad = XClient(base_url=sandbox.base_url, auth=BearerAuth("nope"))
    with pytest.raises(AuthError):
        bad.account(handle="flyerbot")
    token = sandbox.create_account("longbot", niche="apple")
    poster = _client(sandbox, user_auth={"longbot": BearerAuth(token)})
    with pytest.raises(PlatformError) as info:
        poster.publish(account="longbot", text="x" * 300, idempotency_key="k")
    assert info.value.status in (400, 403)


def test_rate_limits_wait_or_raise(tmp_path) -> None:
    from vibeforge.sandbox import RateLimits, start_sandbox

    limits = RateLimits(window_s=2.0, overrides={"GET /2/users/by/username/:username": (2, 2)})
    with start_sandbox(home=tmp_path, world="tiny", seed=1, speed=0, limits=limits) as sb:
        handle = _client(sb).list_members(list_id=sb.list_ids()["airlines"])[0].handle
        raising = _client(sb, on_rate_limit="raise")
        raising.account(handle=handle)
        raising.account(handle=handle)
        with pytest.raises(RateLimited) as info:
            raising.account(handle=handle)
        assert info.value.reset_at.timestamp() > time.time() - 1
        waiting = _client(sb, on_rate_limit="wait")
        t0 = time.monotonic()
        for _ in range(3):
            waiting.account(handle=handle)
        assert time.monotonic() - t0 >= 0.5  # it slept until the window reset, then went on
