"""The X client's spread and search reads against the sandbox on loopback: likers, reposters,
quotes, recent search, mentions, followers and following, paged and priced, and the cascades
`read_cascades` builds from them (and from the Bluesky face of the same world)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from vibeforge.analytics.spread import Cascade, cascades, read_cascades
from vibeforge.domain import Timeline, TimelineKind
from vibeforge.loop.platform_kinds import SandboxClock
from vibeforge.platforms.auth import BearerAuth
from vibeforge.platforms.base import (
    AuthError,
    BudgetExceeded,
    InvalidRequest,
    NotFound,
    SpreadReader,
)
from vibeforge.platforms.bluesky import BlueskyClient
from vibeforge.platforms.ledger import Budgets, CallLedger
from vibeforge.platforms.x import XClient
from vibeforge.sandbox.atids import tid_value
from vibeforge.sandbox.limits import RateLimits
from vibeforge.sandbox.reactions import member_user_id
from vibeforge.sandbox.server import RunningSandbox, start_sandbox

FANS = 110  # accounts that like and repost the root: more than a page (100) of each
QUOTERS = 105  # of them, those that quote it too, mentioning @spreadbot and the WORD
WORD = "zeppelinwatch"
FOLLOWERS = 1300  # audience members who follow @spreadbot: more than a page (1,000)


@dataclass
class World:
    sb: RunningSandbox
    root: str  # a human's airline post, reposted by the audience and the fans
    quotes: list[str]  # the fans' quotes of the root, newest first
    chain: list[str]  # root ◄ quotes[0] ◄ chain[0] ◄ chain[1], by @spreadbot
    blue_root: str  # a human's airline post as Bluesky names it (did/rkey)
    blue_quotes: list[str]  # blue_root ◄ blue_quotes[0] ◄ blue_quotes[1], through Bluesky


def _post(sb: RunningSandbox, token: str, **body: object) -> str:
    answer = httpx.post(
        f"{sb.base_url}/2/tweets", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    answer.raise_for_status()
    return str(answer.json()["data"]["id"])


def _react(sb: RunningSandbox, uid: int, token: str, kind: str, post_id: str) -> None:
    answer = httpx.post(
        f"{sb.base_url}/2/users/{uid}/{kind}",
        json={"tweet_id": post_id},
        headers={"Authorization": f"Bearer {token}"},
    )
    answer.raise_for_status()


def _numeric(sb: RunningSandbox, post_id: str) -> int:
    """The X id of a Bluesky post id (did/rkey): a chosen record key is kept in `at_records`,
    any other is the TID spelling of the id."""
    rkey = post_id.rsplit("/", 1)[-1]
    row = sb.world.store.one("SELECT post_id FROM at_records WHERE rkey = ?", (rkey,))
    value = int(row[0]) if row else tid_value(rkey)
    assert value is not None, post_id
    return value


def _human_root(sb: RunningSandbox) -> str:
    """The visible human airline post the audience has reposted most so far."""
    rows = sb.world.store.all(
        "SELECT p.id FROM posts p JOIN users u ON u.id = p.author_id WHERE u.kind = 'human' "
        "AND p.niche = 'airlines' AND p.created_ms <= ? AND p.deleted = 0",
        (sb.world.now_ms(),),
    )
    shown = sb.world.metrics([r[0] for r in rows])
    return str(max(shown, key=lambda i: (shown[i]["repost"], shown[i]["like"], i)))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home: Path = tmp_path_factory.mktemp("xreads")
    # followers/following allow 15 calls a window on X: scaled so paging through is not throttled
    with start_sandbox(
        home=home, world="tiny", seed=0, speed=0, limits=RateLimits(scale=100)
    ) as sb:
        sb.advance(hours=48)
        root = _human_root(sb)
        bot = sb.create_account("spreadbot", niche="airlines", followers=FOLLOWERS)
        quotes = []
        for i in range(FANS):
            uid, token = sb.world.create_account(handle=f"fan{i:03d}", niche="airlines")
            _react(sb, uid, token, "likes", root)
            _react(sb, uid, token, "retweets", root)
            if i < QUOTERS:
                text = f"@spreadbot {WORD} take {i}: this one is going around the terminal"
                quotes.append(_post(sb, token, text=text, quote_tweet_id=root))
        first = _post(
            sb, bot, text="Told you the gate saga was not over", quote_tweet_id=quotes[-1]
        )
        second = _post(sb, bot, text="Part three of the gate saga", quote_tweet_id=first)

        sb.create_account("bluespread", niche="airlines", followers=900)
        sb.create_account("bluequoter", niche="airlines", followers=400)
        spread, quoter = sb.handle("bluespread"), sb.handle("bluequoter")
        blue = BlueskyClient(
            base_url=sb.xrpc_url,
            credentials={
                spread: sb.user_token("bluespread"),
                quoter: sb.user_token("bluequoter"),
            },
            clock=SandboxClock(sb.base_url, sb.admin_token),
        )
        listed = blue.timeline(
            source=Timeline(name="air", kind=TimelineKind.LIST, source=sb.list_uris()["airlines"]),
            max_posts=100,
        )
        blue_root = max(
            (p for p in listed if _numeric(sb, p.id) != int(root)),
            key=lambda p: (p.metrics.repost_count if p.metrics else 0, p.id),
        ).id
        b1 = blue.publish(
            account=quoter, text="Same flight, same story", idempotency_key="b1", quote_of=blue_root
        ).id
        b2 = blue.publish(
            account=spread, text="And the shuttle after it too", idempotency_key="b2", quote_of=b1
        ).id
        sb.advance(hours=24)  # the audience likes and reposts along its accrual curve
        yield World(sb, root, quotes[::-1], [first, second], blue_root, [b1, b2])


def _x(world: World, **kw: Any) -> XClient:
    return XClient(base_url=world.sb.base_url, auth=BearerAuth(world.sb.app_token), **kw)


def _as_user(world: World, handle: str, **kw: Any) -> XClient:
    token = BearerAuth(world.sb.user_token(handle))
    return _x(world, user_auth={handle: token}, **kw)


def _reactors(world: World, post_id: str, kind: str) -> list[str]:
    """The sandbox's own list of who reacted, newest first."""
    ctx = world.sb.app.state.ctx
    return [str(r.user_id) for r in ctx.reactions.everyone(int(post_id), kind)]


def _shown(world: World, post_ids: list[str], kind: str) -> dict[str, int]:
    """A count as the API shows it: the audience's accrued count plus the accounts'."""
    ids = [int(i) for i in post_ids]
    audience = world.sb.world.metrics(ids)
    accounts = world.sb.app.state.ctx.reactions.account_counts(ids)
    return {str(i): audience[i][kind] + accounts.get(i, {}).get(kind, 0) for i in ids}


def _calls(client: XClient, endpoint: str) -> list[tuple[str, int]]:
    return [(e.kind, e.units) for e in client.ledger.entries() if e.endpoint == endpoint]


def _quote_tree(world: World, root: int) -> list[tuple[str, str]]:
    """(quote, quoted) edges below `root`, from the sandbox's store."""
    edges, level = [], [root]
    while level:
        marks = ",".join("?" * len(level))
        rows = world.sb.world.store.all(
            f"SELECT id, quote_of FROM posts WHERE quote_of IN ({marks}) AND deleted = 0", level
        )
        edges += [(str(r[0]), str(r[1])) for r in rows]
        level = [int(r[0]) for r in rows]
    return edges


def _true_cascade(world: World, root: int) -> Cascade:
    edges = _quote_tree(world, root)
    nodes = [str(root), *(child for child, _ in edges)]
    reposts = _shown(world, nodes, "repost")
    [cascade] = cascades(edges, reposts=reposts) or [
        Cascade(root=str(root), size=1, depth=0, structural_virality=0.0, max_breadth=1)
    ]
    assert cascade.root == str(root)
    assert cascade.size == len(nodes) + sum(reposts.values())  # independent of `cascades`
    return cascade


def test_both_clients_are_spread_readers(world: World) -> None:
    assert isinstance(_x(world), SpreadReader)
    blue = BlueskyClient(base_url=world.sb.xrpc_url, credentials={})
    assert isinstance(blue, SpreadReader)
    assert not isinstance(object(), SpreadReader)


def test_likers_page_newest_first_with_a_user_token(world: World) -> None:
    client = _as_user(world, "spreadbot")
    truth = _reactors(world, world.root, "like")
    assert len(truth) == _shown(world, [world.root], "like")[world.root] > 100
    likers = client.likers(post_id=world.root, account="spreadbot")
    assert [a.id for a in likers] == truth  # every page, in the sandbox's order
    assert {f"fan{i:03d}" for i in range(FANS)} <= {a.handle for a in likers}
    pages = _calls(client, "GET /2/tweets/:id/liking_users")
    assert pages == [("user_read", 100), ("user_read", len(truth) - 100)]
    fewer = client.likers(post_id=world.root, limit=30, account="spreadbot")
    assert [a.id for a in fewer] == truth[:30]
    assert _calls(client, "GET /2/tweets/:id/liking_users")[2:] == [("user_read", 30)]
    # X serves liking users to user context only: an app bearer is told how to fix it
    with pytest.raises(AuthError, match="vibeforge auth x"):
        _x(world).likers(post_id=world.root)


def test_reposters_page_and_are_charged_per_user(world: World) -> None:
    client = _x(world)
    truth = _reactors(world, world.root, "repost")
    assert len(truth) == _shown(world, [world.root], "repost")[world.root] > 100
    reposters = client.reposters(post_id=world.root)
    assert [a.id for a in reposters] == truth
    assert _calls(client, "GET /2/tweets/:id/retweeted_by") == [
        ("user_read", 100),
        ("user_read", len(truth) - 100),
    ]
    assert client.ledger.spent() == pytest.approx(0.010 * len(truth))
    assert [a.id for a in client.reposters(post_id=world.root, limit=7)] == truth[:7]


def test_quotes_page_and_link_to_the_quoted_post(world: World) -> None:
    client = _x(world)
    quotes = client.quotes(post_id=world.root)
    assert [p.id for p in quotes] == world.quotes
    assert {p.quote_of_id for p in quotes} == {world.root}
    assert all(WORD in p.text and p.metrics is not None for p in quotes)
    assert _calls(client, "GET /2/tweets/:id/quote_tweets") == [
        ("post_read", 100),
        ("post_read", QUOTERS - 100),
    ]
    # fewer than there are, over two pages: the second asks for X's fewest (10), keeps 3
    before = len(client.ledger.entries())
    assert [p.id for p in client.quotes(post_id=world.root, limit=103)] == world.quotes[:103]
    assert [e.units for e in client.ledger.entries()[before:]] == [100, QUOTERS - 100]
    [deeper] = client.quotes(post_id=world.quotes[0])
    assert (deeper.id, deeper.quote_of_id) == (world.chain[0], world.quotes[0])


def test_search_recent_passes_operators_through(world: World) -> None:
    client = _x(world)
    found = client.search_recent(query=WORD, limit=500)
    assert [p.id for p in found] == world.quotes
    assert _calls(client, "GET /2/tweets/search/recent") == [
        ("post_read", 100),
        ("post_read", QUOTERS - 100),
    ]
    assert [p.id for p in client.search_recent(query=WORD)] == world.quotes[:100]
    fan7 = world.quotes[QUOTERS - 1 - 7]
    assert [p.id for p in client.search_recent(query=f"{WORD} from:fan007")] == [fan7]
    rest = client.search_recent(query=f"{WORD} -from:fan007", limit=500)
    assert [p.id for p in rest] == [q for q in world.quotes if q != fan7]
    assert client.search_recent(query=f'"{WORD} take 42:"', limit=10)[0].text.startswith(
        f"@spreadbot {WORD} take 42:"
    )
    newer = client.search_recent(query=WORD, since_id=world.quotes[10])
    assert [p.id for p in newer] == world.quotes[:10]
    with pytest.raises(InvalidRequest):
        client.search_recent(query="  ")


def test_mentions_of_an_account(world: World) -> None:
    client = _x(world)
    truth = [
        str(r[0])
        for r in world.sb.world.store.all(
            "SELECT id FROM posts WHERE text LIKE '%@spreadbot%' AND deleted = 0 AND "
            "created_ms <= ? ORDER BY id DESC",
            (world.sb.world.now_ms(),),
        )
    ]
    assert truth == world.quotes
    mentions = client.mentions(handle="@spreadbot", limit=104)
    assert [p.id for p in mentions] == truth[:104]
    assert _calls(client, "GET /2/users/by/username/:username") == [("user_read", 1)]
    assert _calls(client, "GET /2/users/:id/mentions") == [
        ("post_read", 100),
        ("post_read", QUOTERS - 100),  # asked for X's fewest (5), all came back
    ]


def test_followers_and_following(world: World) -> None:
    client = _x(world)
    store = world.sb.world.store
    [(uid,)] = store.all("SELECT id FROM users WHERE username = 'spreadbot'")
    members = store.all("SELECT member FROM member_follows WHERE user_id = ?", (uid,))
    accounts = store.all("SELECT follower_id FROM follows WHERE followee_id = ?", (uid,))
    truth = sorted([member_user_id(int(m)) for (m,) in members] + [int(a) for (a,) in accounts])
    assert len(truth) == FOLLOWERS
    followers = client.followers(handle="spreadbot", limit=1200)
    assert [int(a.id) for a in followers] == truth[:1200]
    assert all(a.handle for a in followers)
    assert _calls(client, "GET /2/users/:id/followers") == [
        ("user_read", 1000),
        ("user_read", 200),
    ]
    everyone = client.followers(handle="spreadbot", limit=5000)
    assert sorted(int(a.id) for a in everyone) == truth
    followed = store.all("SELECT followee_id FROM follows WHERE follower_id = ?", (uid,))
    following = client.following(handle="spreadbot")
    assert sorted(a.id for a in following) == sorted(str(r[0]) for r in followed)
    humans = client.list_members(list_id=world.sb.list_ids()["airlines"])
    assert {a.handle for a in following} == {a.handle for a in humans} != set()


def test_budgets_are_checked_page_by_page(world: World) -> None:
    refused = XClient(
        base_url=world.sb.base_url,
        auth=BearerAuth(world.sb.app_token),
        ledger=CallLedger(budgets=Budgets(per_bot_usd=5.0)),
    ).for_bot("sky")
    with pytest.raises(BudgetExceeded, match="daily budget"):
        refused.followers(handle="spreadbot", limit=1200)  # a page of 1,000 users: $10
    assert refused.ledger.spent(bot="sky") == pytest.approx(0.01)  # the handle's lookup only
    ledger = CallLedger(budgets=Budgets(per_bot_usd=10.5))
    client = XClient(
        base_url=world.sb.base_url, auth=BearerAuth(world.sb.app_token), ledger=ledger
    ).for_bot("sky")
    with pytest.raises(BudgetExceeded):
        client.followers(handle="spreadbot", limit=1200)  # $0.01 + $10, then $2 more: refused
    assert ledger.spent(bot="sky") == pytest.approx(10.01)
    assert [e.units for e in ledger.entries()] == [1, 1000]


def test_unknown_posts_and_accounts_are_typed_errors(world: World) -> None:
    client = _as_user(world, "spreadbot")
    missing = "1234567"
    with pytest.raises(NotFound):
        client.quotes(post_id=missing)
    with pytest.raises(NotFound):
        client.reposters(post_id=missing)
    with pytest.raises(NotFound):
        client.likers(post_id=missing, account="spreadbot")
    with pytest.raises(NotFound):
        client.followers(handle="nobody_here")
    assert client.ledger.spent() == 0.0  # nothing returned, nothing charged
    for bad in ("12ab", "", "1" * 20):
        with pytest.raises(InvalidRequest):
            client.quotes(post_id=bad)
    with pytest.raises(InvalidRequest):
        client.mentions(handle="not a handle")
    assert client.ledger.entries() == []


def test_cascades_from_the_x_face_match_the_sandbox(world: World) -> None:
    client = _x(world)
    truth = _true_cascade(world, int(world.root))
    assert truth.size == 1 + QUOTERS + 2 + truth.reposts and truth.reposts > FANS
    # root ◄ quote ◄ chain[0] ◄ chain[1], one deeper if the last was reposted
    last = _shown(world, [world.chain[1]], "repost")[world.chain[1]]
    assert truth.depth == 3 + (last > 0)
    got = read_cascades(client, [world.root])
    assert got == [truth]
    reposter_calls = _calls(client, "GET /2/tweets/:id/retweeted_by")
    # every node's reposters read, charged per user returned (empty answers cost nothing)
    assert {kind for kind, _ in reposter_calls} == {"user_read"}
    assert sum(units for _, units in reposter_calls) == truth.reposts
    quote_calls = _calls(client, "GET /2/tweets/:id/quote_tweets")
    assert sum(units for _, units in quote_calls) == QUOTERS + 2
    # bounded: one level of quotes only, then at most 5 quotes in all
    [shallow] = read_cascades(client, [world.root], max_depth=1)
    assert shallow.depth <= 2 and shallow.size < truth.size
    [few] = read_cascades(client, [world.root], max_quotes=5)
    assert few.size - few.reposts == 1 + 5
    # roots come back once each, largest first; a root outside the tree keeps its own
    [(other,)] = world.sb.world.store.all(
        "SELECT p.id FROM posts p JOIN users u ON u.id = p.author_id WHERE u.kind = 'human' "
        "AND p.niche = 'apple' AND p.created_ms <= ? ORDER BY p.id LIMIT 1",
        (world.sb.world.now_ms(),),
    )
    apart = _true_cascade(world, int(other))
    both = read_cascades(client, [str(other), world.root, world.root])
    assert both == sorted([truth, apart], key=lambda c: (-c.size, c.root))


def test_cascades_from_the_bluesky_face_match_the_sandbox(world: World) -> None:
    sb = world.sb
    blue = BlueskyClient(
        base_url=sb.xrpc_url,
        credentials={sb.handle("bluespread"): sb.user_token("bluespread")},
        clock=SandboxClock(sb.base_url, sb.admin_token),
    )
    [got] = read_cascades(blue, [world.blue_root])
    assert got.root == world.blue_root
    numeric = _numeric(sb, world.blue_root)
    truth = _true_cascade(world, numeric)
    assert (got.size, got.depth, got.reposts, got.max_breadth) == (
        truth.size,
        truth.depth,
        truth.reposts,
        truth.max_breadth,
    )
    assert got.structural_virality == pytest.approx(truth.structural_virality)
    assert truth.depth >= 2 and truth.reposts > 0  # root ◄ b1 ◄ b2, and the audience's
    [on_x] = read_cascades(_x(world), [str(numeric)])  # the same world through X's face
    assert on_x.size == got.size and on_x.depth == got.depth
    assert [p.id for p in blue.quotes(post_id=world.blue_root)] == [world.blue_quotes[0]]
