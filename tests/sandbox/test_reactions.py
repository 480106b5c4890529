"""Who liked and reposted: the audience members behind the stored counts are the scoring draw,
replayed (not a random stand-in), they arrive along the accrual curve, and accounts' likes
and reposts are kept beside them until the world is reseeded."""

from __future__ import annotations

import numpy as np
import pytest

from vibeforge.sandbox.engine import World
from vibeforge.sandbox.model import KINDS, AudienceParams, PostFactors, engage, reactors
from vibeforge.sandbox.reactions import Reactions, member_of
from vibeforge.sandbox.text import style


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    w = World(home=tmp_path_factory.mktemp("reactions"), speed=0)
    w.seed(world="tiny", seed=3)
    # a trend from a day in: posts after it are scored against moved interests
    w.add_trend(niche="apple", text="battery life", at_ms=w.now_ms() + 86_400_000, strength=1.0)
    uid, _ = w.create_account(handle="reactbot", niche="apple", followers=500)
    for text in ("Battery life on the new iPhone is wild", "Is MagSafe worth it?"):
        w.insert_post(author_id=uid, text=text)
        w.advance(3 * 3600)
    w.advance(3 * 86_400)
    return w


def test_reactors_are_the_members_engage_counted() -> None:
    rng = np.random.default_rng(0)
    members = 2000
    common = {
        "params": AudienceParams(),
        "similarity": rng.normal(0.2, 0.1, members).astype(np.float32),
        "calibration": (0.15, 0.1),
        "activity": rng.beta(2, 5, members).astype(np.float32),
        "followers": rng.random(members) < 0.3,
        "factors": PostFactors(
            style=style("Which gate for the Boston flight?"), duplicate=False, recent_by_author=0
        ),
    }
    out = engage(rng=np.random.default_rng(7), **common)
    who = reactors(rng=np.random.default_rng(7), **common)
    assert who.seen.size == out.final[0]
    assert [who.reacted[k].size for k in KINDS] == list(out.final[1:6])
    assert all(np.isin(who.reacted[k], who.seen).all() for k in KINDS)
    assert out.final[1] > 0  # the comparison above is not between empty draws


def test_every_posts_draw_replays_exactly(world: World) -> None:
    reactions = Reactions(world)
    ids = [r[0] for r in world.store.all("SELECT id FROM posts WHERE scored = 1")]
    checked = {pid: reactions.check(pid) for pid in ids}
    assert len(checked) > 250
    assert sum(c["like"][1] for c in checked.values()) > 500  # real counts, not zeros
    wrong = {pid: c for pid, c in checked.items() if any(a != b for a, b in c.values())}
    assert wrong == {}


def test_likers_arrive_along_the_accrual_curve(world: World) -> None:
    reactions = Reactions(world)
    now = world.now_ms()
    rows = world.store.all(
        "SELECT id, created_ms FROM posts WHERE created_ms BETWEEN ? AND ? AND scored = 1",
        (now - 30 * 3_600_000, now - 2 * 3_600_000),
    )
    assert rows
    for pid, created in rows:
        earlier_at = created + (now - created) // 3
        earlier = reactions.audience(pid, "like", created_ms=created, now_ms=earlier_at)
        later = reactions.audience(pid, "like", created_ms=created, now_ms=now)
        shown_then = world.metrics([pid], now_ms=earlier_at)[pid]["like"]
        shown_now = world.metrics([pid], now_ms=now)[pid]["like"]
        assert (len(earlier), len(later)) == (shown_then, shown_now)
        assert later[: len(earlier)] == earlier  # the same members, in the same order
        times = [r.at_ms for r in later]
        assert times == sorted(times) and all(created <= t <= now for t in times)


def test_likers_lean_to_the_authors_followers(world: World) -> None:
    """Followers see a post far more often than others: so they dominate its likers, which a
    random sample of the audience would not show."""
    reactions = Reactions(world)
    audience = world.audience
    assert audience is not None
    liking, population = [], []
    for pid, author in world.store.all(
        "SELECT id, author_id FROM posts WHERE scored = 1 AND created_ms <= ?", (world.now_ms(),)
    ):
        followers = world.followers_mask(author)
        likers = [
            member_of(r.user_id)
            for r in reactions.everyone(pid, "like")
            if member_of(r.user_id) is not None
        ]
        liking += [bool(followers[m]) for m in likers if m is not None]
        population.append(followers.mean())
    assert len(liking) > 500
    assert np.mean(liking) > 1.5 * np.mean(population)


def test_account_reactions_count_and_vanish_with_a_reseed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    w = World(home=tmp_path, speed=0)
    w.seed(world="tiny", seed=0, members_per_niche=100, tweets_per_niche=20)
    try:
        reactions = Reactions(w)
        uid, _ = w.create_account(handle="fan")
        pid = int(w.store.one("SELECT id FROM posts WHERE created_ms <= ?", (w.now_ms(),))[0])
        reactions.add(user_id=uid, post_id=pid, kind="like")
        reactions.add(user_id=uid, post_id=pid, kind="like")  # once only
        assert reactions.account_counts([pid]) == {pid: {"like": 1}}
        assert [r.user_id for r in reactions.liked_by(uid, now_ms=w.now_ms())] == [pid]
        assert uid in [r.user_id for r in reactions.everyone(pid, "like")]
        w.seed(world="tiny", seed=0, members_per_niche=100, tweets_per_niche=20)
        assert Reactions(w).account_counts([pid]) == {}
    finally:
        w.close()
