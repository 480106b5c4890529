"""Labels that mean what the reward means: timeline posts re-read at the reward's fixed ages,
their authors' reach kept with them, and zero engagement judged by the audience that saw it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vibeforge.domain import Bot, Metrics, Post, Timeline, TimelineKind
from vibeforge.learn.reward import (
    RatePrior,
    ages_read,
    get_reward,
    label_age_hours,
    pooled_prior,
    reward_at_ages,
    score,
)
from vibeforge.loop import learn
from vibeforge.loop.config import LoopConfig
from vibeforge.loop.cycle import run_round
from vibeforge.loop.runtime import Runtime
from vibeforge.paths import Home
from vibeforge.store import make_engine, session_scope, upgrade
from vibeforge.store import queries as q

from .conftest import FAST, make_eco

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_timeline_posts_are_reread_at_the_reward_ages_within_the_budget(tmp_path: Path) -> None:
    eco = make_eco(tmp_path, config=dataclasses.replace(FAST, relabel_posts=1))
    try:
        rt = eco.spec()
        spec = rt.reward_spec()
        start = rt.clock()
        run_round(rt, steps=("ingest",))
        reread = []
        for _ in range(32):  # 8 h of platform time in quarter hours
            eco.sandbox.advance(hours=0.25)
            report = run_round(rt, steps=("ingest", "observe"))
            reread.append(sum(report.relabelled.values()))
        assert max(reread) <= 2  # the budget: one post per timeline and round
        with session_scope(rt.engine) as s:
            stored = [
                (post, history)
                for name in ("airlines", "apple")
                for post, history in q.metrics_histories(s, timeline=name)
            ]
        assert all(p.author_followers is not None and p.author_followers > 0 for p, _ in stored)
        # posts that arrived during the run and are past their 1 h window now
        fresh = [
            (p, h)
            for p, h in stored
            if p.created_at > start and rt.clock() - p.created_at > timedelta(hours=1.25)
        ]
        assert fresh, "the tiny world posted nothing in 7 h"
        # every post that arrived during the run was read again at its 1 h age (and 6 h where
        # it got there), not just once at ingest
        for post, history in fresh:
            age_h = (rt.clock() - post.created_at).total_seconds() / 3600
            read = ages_read(history, created_at=post.created_at, spec=spec)
            assert 3600.0 in read, (post.id, age_h, [m.observed_at for m in history])
            if age_h >= 6 * 1.25:
                assert 21600.0 in read
        assert sum(reread) >= len(fresh)
    finally:
        eco.sandbox.stop()


def test_no_rereads_when_the_budget_is_zero(tmp_path: Path) -> None:
    eco = make_eco(tmp_path, config=dataclasses.replace(FAST, relabel_posts=0))
    try:
        rt = eco.spec()
        run_round(rt, steps=("ingest",))
        for _ in range(12):
            eco.sandbox.advance(hours=0.5)
            assert sum(run_round(rt, steps=("ingest", "observe")).relabelled.values()) == 0
    finally:
        eco.sandbox.stop()


def test_zero_engagement_seen_by_many_scores_below_zero_seen_by_few() -> None:
    spec = get_reward("x-2026")
    prior = RatePrior(rate=20.0, reach=200.0)
    few = Metrics(observed_at=NOW, impression_count=10)
    many = Metrics(observed_at=NOW, impression_count=10_000)
    assert score(few, spec=spec).value == score(many, spec=spec).value == 0.0  # no prior: equal
    low, high = score(many, spec=spec, prior=prior).value, score(few, spec=spec, prior=prior).value
    assert low < 1.0 < 15.0 < high < 20.0
    # with plenty of impressions the label is the post's own rate again
    busy = Metrics(observed_at=NOW, impression_count=1_000_000, like_count=80_000)
    assert score(busy, spec=spec, prior=prior).value == pytest.approx(
        score(busy, spec=spec).value, rel=0.01
    )
    pooled = pooled_prior([few, many, busy], spec=spec, reach=200.0)
    assert pooled is not None and pooled.rate == pytest.approx(0.5 * 80_000 / 1_010_010 * 1000)


def test_a_reread_timeline_post_is_labelled_like_a_bots_post(tmp_path: Path) -> None:
    """Read at ingest 5 minutes old (no counts yet), then at 1 h, 6 h and 24 h: the label is the
    fixed-age reward, not the ingest snapshot, and says which age it stands for."""
    engine = make_engine(Home(tmp_path).database_url)
    upgrade(engine)
    spec = get_reward("x-2026")
    created = NOW - timedelta(hours=30)
    young = Metrics(observed_at=created + timedelta(minutes=5), impression_count=3)
    reads = [
        Metrics(observed_at=created + timedelta(hours=h), impression_count=n, like_count=likes)
        for h, n, likes in ((1, 300, 9), (6, 900, 30), (24, 1200, 41))
    ]
    post = Post(id="p1", text="Delayed again", author_id="a", created_at=created, metrics=young)
    other = Post(
        id="p2",
        text="Lounge was packed",
        author_id="b",
        created_at=created,
        metrics=Metrics(
            observed_at=created + timedelta(hours=2), impression_count=500, like_count=5
        ),
        author_followers=4000,
    )
    with session_scope(engine) as s:
        q.create_timeline(s, timeline=Timeline(name="air", kind=TimelineKind.LIST, source="1"))
        q.create_bot(s, bot=Bot(name="sky", timeline="air", account="sky", persona="a flyer"))
        q.add_posts(s, posts=[post, other], timeline="air")
        for m in reads:
            q.add_metrics(s, observations={"p1": m})
    rt = Runtime(
        engine=engine,
        platform=None,  # type: ignore[arg-type]  # labels read only the store
        home=tmp_path,
        clock=lambda: NOW,
        scrubber=None,  # type: ignore[arg-type]
        pseudonymize=None,  # type: ignore[arg-type]
        config=LoopConfig(rm_prior_reach=200.0),
    )
    with session_scope(engine) as s:
        bot = q.get_bot(s, name="sky")
    labels = learn._labelled(rt, bot)
    rows = zip(labels.rewards, labels.age_hours, labels.followers, strict=True)
    by_text = dict(zip(labels.texts, rows, strict=True))
    prior = labels.prior
    assert prior is not None and labels.fixed_age == 1
    history = [young, *reads]
    want = reward_at_ages(history, created_at=created, spec=spec, prior=prior)
    assert want is not None
    assert by_text["Delayed again"][0] == pytest.approx(want.value)
    assert by_text["Delayed again"][1] == pytest.approx(
        label_age_hours(history, created_at=created, spec=spec)
    )
    assert by_text["Delayed again"][1] == pytest.approx(0.2 * 1 + 0.3 * 6 + 0.5 * 24)
    # the post seen once is labelled by that reading, at its age, with its author's reach
    reward, age, followers = by_text["Lounge was packed"]
    assert age == pytest.approx(2.0) and followers == 4000
    assert other.metrics is not None
    assert reward == pytest.approx(score(other.metrics, spec=spec, prior=prior).value)
