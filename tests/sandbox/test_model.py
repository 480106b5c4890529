"""The audience model: on-niche beats off-niche, duplicates lose, metrics grow with age,
seeds reproduce, trends move what earns engagement. Tiny worlds, hashing embedder."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from vibeforge.sandbox.engine import World
from vibeforge.sandbox.model import AudienceParams
from vibeforge.sandbox.text import style, weighted_length

ON_NICHE = [
    "@united my flight was delayed three hours and nobody at the gate can tell us why",
    "@SouthwestAir thanks for the smooth flight and the friendly crew today",
    "@AmericanAir lost my bag again, customer service on hold for an hour",
    "@JetBlue any update on the cancelled flight to Boston tonight",
]
OFF_NICHE = [
    "my sourdough starter finally doubled overnight, baking bread this weekend",
    "knitting a scarf with merino wool while the soup simmers",
    "best hiking trails near the lake have wildflowers in bloom",
    "painted the garden fence blue and planted tomatoes",
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    w = World(home=tmp_path_factory.mktemp("world"), speed=0)
    w.seed(world="tiny", seed=0)
    return w


def _total(results: list[dict]) -> float:
    return float(
        np.mean(
            [
                sum(v for k, v in r["expected"].items() if k not in ("impressions", "negative"))
                for r in results
            ]
        )
    )


def test_on_niche_posts_earn_more_than_off_niche(world: World) -> None:
    uid, _ = world.create_account(handle="nichebot", niche="airlines")
    on = world.evaluate(texts=ON_NICHE, author_id=uid)
    off = world.evaluate(texts=OFF_NICHE, author_id=uid)
    assert _total(on) > 3 * _total(off)
    assert np.mean([r["expected"]["impressions"] for r in on]) > np.mean(
        [r["expected"]["impressions"] for r in off]
    )


def test_duplicate_earns_less_than_its_original(world: World) -> None:
    first, _ = world.create_account(handle="original", niche="airlines")
    second, _ = world.create_account(handle="copycat", niche="airlines")
    text = "@united the new lounge at the airport is great, flight boarded on time"
    a = world.insert_post(author_id=first, text=text)
    world.advance(60)
    b = world.insert_post(author_id=second, text=text + " !")
    ta, tb = world.truth(a.id), world.truth(b.id)
    assert ta and tb
    assert tb["factors"]["duplicate"] and not ta["factors"]["duplicate"]
    assert tb["expected"]["like"] < 0.5 * ta["expected"]["like"]
    assert tb["expected"]["impressions"] < ta["expected"]["impressions"]


def test_metrics_never_decrease_with_age(world: World) -> None:
    ids = [
        r[0]
        for r in world.store.all(
            "SELECT id FROM posts WHERE created_ms <= ? LIMIT 60", (world.now_ms(),)
        )
    ]
    base = world.now_ms()
    series = [world.metrics(ids, now_ms=base + h * 3_600_000) for h in (0, 1, 6, 24, 72)]
    for pid in ids:
        for earlier, later in itertools.pairwise(series):
            assert all(later[pid][k] >= earlier[pid][k] for k in earlier[pid])
    grew = sum(series[-1][p]["like"] > series[1][p]["like"] for p in ids)
    assert grew > 0


def test_fresh_post_accrues_from_zero() -> None:
    from vibeforge.sandbox.model import accrued

    final = np.array([100, 10, 3])
    shown = [accrued(final, age_ms=h * 3_600_000, accrual_hours=4.0) for h in (0, 1, 6, 24, 240)]
    assert shown[0].tolist() == [0, 0, 0] and shown[-1].tolist() == [100, 10, 3]
    assert shown[1][0] < shown[2][0] < shown[3][0]


def test_same_seed_same_world_other_seed_other_world(tmp_path) -> None:  # type: ignore[no-untyped-def]
    def snapshot(home, seed: int) -> tuple:  # type: ignore[no-untyped-def]
        w = World(home=home, speed=0)
        w.seed(world="tiny", seed=seed, members_per_niche=400, tweets_per_niche=40)
        posts = w.store.all("SELECT id, author_id, text, created_ms FROM posts ORDER BY id")
        truth = w.store.all("SELECT post_id, final, expected FROM truth ORDER BY post_id")
        users = w.store.all("SELECT id, username FROM users ORDER BY id")
        interests = w.audience.interests.copy()  # type: ignore[union-attr]
        w.close()
        return (
            [tuple(r) for r in posts],
            [tuple(r) for r in truth],
            [tuple(r) for r in users],
            interests,
        )

    a, b, c = snapshot(tmp_path / "a", 7), snapshot(tmp_path / "b", 7), snapshot(tmp_path / "c", 8)
    assert a[:3] == b[:3] and np.array_equal(a[3], b[3])
    assert a[1] != c[1] and not np.array_equal(a[3], c[3])


def test_trend_shifts_what_earns_engagement(tmp_path) -> None:  # type: ignore[no-untyped-def]
    w = World(home=tmp_path, speed=0)
    w.seed(world="tiny", seed=0)
    uid, _ = w.create_account(handle="trendy", niche="airlines")
    on_trend = [
        "@JetBlue the mint seats and free wifi on jetblue are great",
        "@JetBlue jetblue snacks and wifi make the flight fly by",
    ]
    other = [
        "@united my checked bag never arrived at the carousel",
        "@USAirways waited two hours on hold to rebook my connection",
    ]
    at = w.now_ms() + 3_600_000

    def ratio(t: int) -> float:
        return _total(w.evaluate(texts=on_trend, author_id=uid, at_ms=t)) / _total(
            w.evaluate(texts=other, author_id=uid, at_ms=t)
        )

    before = ratio(at)
    humans_before = w.store.all(
        "SELECT text FROM posts WHERE niche = 'airlines' AND created_ms >= ?", (at,)
    )
    result = w.add_trend(niche="airlines", text="jetblue", at_ms=at, strength=1.5)
    after = ratio(at)
    humans_after = w.store.all(
        "SELECT text FROM posts WHERE niche = 'airlines' AND created_ms >= ?", (at,)
    )
    assert result["resampled_posts"] == len(humans_after) > 0
    assert after > 1.5 * before
    share = [
        sum("jetblue" in r[0].lower() for r in rows) / len(rows)
        for rows in (humans_before, humans_after)
    ]
    assert share[1] > share[0] + 0.3
    assert ratio(at - 1) == pytest.approx(before)  # the past is unchanged
    w.close()


def test_style_features() -> None:
    assert style("What do you think?").question and not style("I think so.").question
    assert style("BUY NOW!!! #a #b #c #d #e http://x.co http://y.co").spam >= 0.5
    assert style("you idiot, this is shit").toxic > 0
    assert weighted_length("héllo") == 5 and weighted_length("日本") == 4
    assert weighted_length("see https://example.com/a/very/long/path/that/goes/on") == 4 + 23


def test_question_draws_replies_and_fatigue_cuts_reach(world: World) -> None:
    uid, _ = world.create_account(handle="asker", niche="airlines")
    q, s = world.evaluate(
        texts=[
            "@united why was my flight to Denver cancelled today?",
            "@united my flight to Denver was cancelled today.",
        ],
        author_id=uid,
    )
    assert q["expected"]["reply"] > 1.5 * s["expected"]["reply"]
    fresh = world.evaluate(texts=["@united loving the new app update"], author_id=uid)[0]
    for i in range(6):
        world.insert_post(author_id=uid, text=f"@united post number {i} about boarding groups")
    world.advance(60)
    tired = world.evaluate(texts=["@united loving the new app update"], author_id=uid)[0]
    assert tired["factors"]["recent_by_author"] >= 6
    assert tired["expected"]["impressions"] < 0.7 * fresh["expected"]["impressions"]


def test_params_validate_themselves() -> None:
    with pytest.raises(ValueError, match="base_rates"):
        AudienceParams(base_rates={"like": 0.1})
    with pytest.raises(ValueError, match="out_of_network"):
        AudienceParams(out_of_network=2.0)


def test_spam_and_toxic_posts_reach_less_and_draw_negative_feedback(world: World) -> None:
    uid, _ = world.create_account(handle="spammer", niche="airlines")
    clean, spam, toxic = world.evaluate(
        texts=[
            "@united the crew on my flight to Denver was wonderful today",
            "@united FLIGHT DEALS NOW #cheap #flights #deals #travel #win http://a.co http://b.co",
            "@united the crew on my flight to Denver was fucking stupid today, idiots",
        ],
        author_id=uid,
    )
    for bad in (spam, toxic):
        assert bad["expected"]["impressions"] < clean["expected"]["impressions"]
        assert bad["expected"]["like"] < 0.6 * clean["expected"]["like"]
        rate = bad["expected"]["negative"] / bad["expected"]["impressions"]
        assert rate > 2 * clean["expected"]["negative"] / clean["expected"]["impressions"]
    assert spam["factors"]["spam"] >= 0.5 and toxic["factors"]["toxic"] > 0
