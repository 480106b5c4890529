"""Reach on Bluesky: timeline posts carry their authors' follower counts, read with
`app.bsky.actor.getProfiles` (feed items' `ProfileViewBasic` authors have none), 25 actors a call,
each author's count kept a day of platform time. Through the real atproto SDK, against the
sandbox's XRPC face (and a scripted server for the failures the sandbox never produces)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from vibeforge.domain import Post, Timeline, TimelineKind
from vibeforge.loop.platform_kinds import SandboxClock
from vibeforge.platforms.bluesky import BlueskyClient
from vibeforge.sandbox.atids import did_for
from vibeforge.sandbox.server import RunningSandbox, start_sandbox

BOT = "reach-bot.test"
PROFILES = "app.bsky.actor.getProfiles"
HUMANS = 30  # per niche: a list feed with more than 25 distinct authors


@pytest.fixture(scope="module")
def sb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    home: Path = tmp_path_factory.mktemp("bsky-reach")
    with start_sandbox(
        home=home,
        world="tiny",
        seed=5,
        speed=0,
        humans_per_niche=HUMANS,
        tweets_per_niche=600,
        history_days=10,
        horizon_days=3,
    ) as s:
        s.create_account("reach_bot", niche="apple", followers=10)
        yield s


def _client(sb: RunningSandbox, **kw: Any) -> BlueskyClient:
    return BlueskyClient(
        base_url=sb.xrpc_url,
        credentials={BOT: sb.user_token("reach_bot")},
        clock=SandboxClock(sb.base_url, sb.admin_token),
        **kw,
    )


def _recorded_followers(sb: RunningSandbox) -> dict[str, int]:
    """Each account's followers as the sandbox stores them (audience members and accounts)."""
    rows = sb.world.store.all(
        "SELECT id, (SELECT COUNT(*) FROM member_follows WHERE user_id = users.id)"
        " + (SELECT COUNT(*) FROM follows WHERE followee_id = users.id) FROM users"
    )
    return {did_for("user", uid): count for uid, count in rows}


def _lookups(client: BlueskyClient) -> list[int]:
    """Profiles returned by each getProfiles call so far, from the client's ledger."""
    return [e.units for e in client.ledger.entries() if e.endpoint == PROFILES]


def _airlines(sb: RunningSandbox) -> Timeline:
    return Timeline(name="air", kind=TimelineKind.LIST, source=sb.list_uris()["airlines"])


def _assert_reach(posts: list[Post], recorded: dict[str, int]) -> None:
    assert posts
    assert {p.id: p.author_followers for p in posts} == {p.id: recorded[p.author_id] for p in posts}


def test_list_author_and_custom_feeds_carry_the_recorded_follower_counts(
    sb: RunningSandbox,
) -> None:
    client = _client(sb)
    recorded = _recorded_followers(sb)
    listed = client.timeline(source=_airlines(sb), max_posts=60)
    _assert_reach(listed, recorded)
    assert len({p.author_followers for p in listed}) > 1  # real, differing counts
    authors = sorted({p.author_id for p in listed})[:2]
    by_author = client.timeline(
        source=Timeline(name="h", kind=TimelineKind.HANDLES, source=",".join(authors)),
        max_posts=40,
    )
    _assert_reach(by_author, recorded)
    assert {p.author_id for p in by_author} == set(authors)
    feed = Timeline(name="apple", kind=TimelineKind.FEED, source=sb.feed_uris()["apple"])
    _assert_reach(client.timeline(source=feed, max_posts=40), recorded)
    # what the sandbox's own profile view says, too
    one = client.account(handle=authors[0])
    assert one.followers_count == recorded[authors[0]] > 0
    # reads cost no write points: the lookups are bsky_read lines of profiles returned
    lines = [e for e in client.ledger.entries() if e.endpoint == PROFILES]
    assert lines and all(e.kind == "bsky_read" and e.cost_usd == 0 for e in lines)


def test_more_than_25_authors_take_batched_calls(sb: RunningSandbox) -> None:
    client = _client(sb)
    posts = client.timeline(source=_airlines(sb), max_posts=400)
    authors = {p.author_id for p in posts}
    assert len(authors) > 25
    _assert_reach(posts, _recorded_followers(sb))
    calls = _lookups(client)
    assert len(calls) == -(-len(authors) // 25) and max(calls) == 25 and sum(calls) == len(authors)


def test_counts_are_kept_a_day_of_platform_time_then_read_again(sb: RunningSandbox) -> None:
    client = _client(sb)
    first = client.timeline(source=_airlines(sb), max_posts=400)
    before = _recorded_followers(sb)
    _assert_reach(first, before)
    calls = len(_lookups(client))
    assert calls >= 2
    # a second poll, another bot's view of the client, an author feed of known authors: no lookup
    again = client.for_bot("other").timeline(source=_airlines(sb), max_posts=400)
    _assert_reach(again, before)
    author = first[0].author_id
    client.timeline(
        source=Timeline(name="h", kind=TimelineKind.HANDLES, source=author), max_posts=10
    )
    assert len(_lookups(client)) == calls
    # every airlines account gains a follower; within the day the cached counts stand
    sb.create_account(f"fan_{len(before)}", niche="airlines", follow_niche=True)
    after = _recorded_followers(sb)
    assert after[author] == before[author] + 1
    sb.advance(hours=23)
    _assert_reach(client.timeline(source=_airlines(sb), max_posts=400), before)
    assert len(_lookups(client)) == calls
    sb.advance(hours=1.5)  # past the day: read again, once per author
    fresh = client.timeline(source=_airlines(sb), max_posts=400)
    _assert_reach(fresh, _recorded_followers(sb))
    assert fresh[0].author_followers != before[fresh[0].author_id]
    assert sum(_lookups(client)[calls:]) == len({p.author_id for p in fresh})


def test_the_window_and_the_switch_are_settings(sb: RunningSandbox) -> None:
    off = _client(sb, author_reach=False)
    posts = off.timeline(source=_airlines(sb), max_posts=50)
    assert posts and all(p.author_followers is None for p in posts) and not _lookups(off)
    every_poll = _client(sb, reach_ttl_s=0)
    every_poll.timeline(source=_airlines(sb), max_posts=50)
    calls = len(_lookups(every_poll))
    every_poll.timeline(source=_airlines(sb), max_posts=50)
    assert calls >= 1 and len(_lookups(every_poll)) == 2 * calls
    with pytest.raises(ValueError, match="reach_ttl_s"):
        _client(sb, reach_ttl_s=-1)


def test_sandbox_serves_get_profiles_in_bluesky_shapes(sb: RunningSandbox) -> None:
    url = f"{sb.xrpc_url}/{PROFILES}"
    recorded = _recorded_followers(sb)
    did = sb.did("reach_bot")
    answer = httpx.get(url, params=[("actors", did), ("actors", "nobody.test")])
    assert answer.status_code == 200
    (profile,) = answer.json()["profiles"]  # an unknown actor is left out, not refused
    assert profile["did"] == did and profile["handle"] == BOT
    assert profile["followersCount"] == recorded[did] == 10
    assert {"followsCount", "postsCount", "displayName"} <= set(profile)
    for params, message in (
        ([], 'Params must have the property "actors"'),
        ([("actors", did)] * 26, "actors must not have more than 25 elements"),
        ([("actors", "not an actor")], "actors/0 must be a valid did or a handle"),
    ):
        refused = httpx.get(url, params=params)
        assert refused.status_code == 400
        assert refused.json()["error"] == "InvalidRequest"
        assert message in refused.json()["message"]


def _feed_item(did: str, rkey: str, when: str) -> dict[str, Any]:
    return {
        "post": {
            "uri": f"at://{did}/app.bsky.feed.post/{rkey}",
            "cid": "bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
            "author": {"did": did, "handle": f"{did[-1]}.example.com"},
            "record": {"$type": "app.bsky.feed.post", "text": "hi", "createdAt": when},
            "indexedAt": when,
        }
    }


def test_a_failed_lookup_leaves_counts_unknown_and_is_asked_again(
    scripted: Any, reply: Any, caplog: pytest.LogCaptureFixture
) -> None:
    known, gone, quiet = "did:plc:aaaa", "did:plc:bbbb", "did:plc:cccc"
    scripted.script(
        "GET",
        "/xrpc/app.bsky.feed.getListFeed",
        reply(
            body={
                "feed": [
                    _feed_item(known, "3kaaaaaaaaaa2", "2025-01-02T00:00:00.000Z"),
                    _feed_item(gone, "3kaaaaaaaaaa3", "2025-01-02T00:01:00.000Z"),
                    _feed_item(quiet, "3kaaaaaaaaaa4", "2025-01-02T00:02:00.000Z"),
                ]
            }
        ),
    )
    scripted.script(
        "GET",
        f"/xrpc/{PROFILES}",
        reply(502, {"error": "UpstreamFailure", "message": "bad gateway"}),
        reply(  # the AppView leaves out an account it cannot show (`gone`)
            body={
                "profiles": [
                    {"did": known, "handle": "a.example.com", "followersCount": 1234},
                    {"did": quiet, "handle": "c.example.com", "followersCount": 0},
                ]
            }
        ),
    )
    now = [datetime(2025, 1, 3, tzinfo=UTC)]
    client = BlueskyClient(
        base_url=f"{scripted.url}/xrpc", retries=0, sleep=lambda _: None, clock=lambda: now[0]
    )
    source = Timeline(
        name="l", kind=TimelineKind.LIST, source="at://did:plc:zzzz/app.bsky.graph.list/3kabc"
    )
    with caplog.at_level(logging.WARNING, logger="vibeforge.platforms.bluesky"):
        failed = client.timeline(source=source)
    assert len(failed) == 3 and all(p.author_followers is None for p in failed)  # not 0
    assert "follower counts of 3 authors not read" in caplog.text
    read = {p.author_id: p.author_followers for p in client.timeline(source=source)}
    assert read == {known: 1234, gone: None, quiet: 0}
    assert scripted.count("GET", f"/xrpc/{PROFILES}") == 2
    assert {p.author_id: p.author_followers for p in client.timeline(source=source)} == read
    assert scripted.count("GET", f"/xrpc/{PROFILES}") == 2  # a miss is remembered too
    now[0] += timedelta(hours=25)
    client.timeline(source=source)
    assert scripted.count("GET", f"/xrpc/{PROFILES}") == 3
    (asked,) = [s.query["actors"] for s in scripted.seen if s.path.endswith(PROFILES)][-1:]
    assert sorted(asked) == [known, gone, quiet]
