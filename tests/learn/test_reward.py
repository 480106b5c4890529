"""Engagement → reward: presets, reach normalisation, ages, custom and negative weights."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vibeforge.domain import Metrics
from vibeforge.learn.reward import (
    RewardSpec,
    ages_read,
    due_ages,
    get_reward,
    reward_at_ages,
    reward_names,
    score,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _m(hours: float, **counts: int) -> Metrics:
    return Metrics(observed_at=T0 + timedelta(hours=hours), **counts)


def test_presets_follow_the_published_weights() -> None:
    assert {"x-2023", "x-2026", "likes"} <= set(reward_names())
    m = _m(1, like_count=10, repost_count=2, reply_count=1, quote_count=1, impression_count=1000)
    assert score(m, spec=get_reward("x-2023")).value == pytest.approx(0.5 * 10 + 1.0 * 2 + 13.5 * 1)
    assert score(m, spec=get_reward("x-2026")).value == pytest.approx(
        0.5 * 10 + 5.0 + 1.0 * 2 + 5.0
    )
    assert score(m, spec=get_reward("likes")).value == pytest.approx(10)
    # replies outweigh likes in the ranker presets
    reply = _m(1, reply_count=1, impression_count=1000)
    like = _m(1, like_count=1, impression_count=1000)
    assert (
        score(reply, spec=get_reward("x-2023")).value > score(like, spec=get_reward("x-2023")).value
    )


def test_reach_is_impressions_else_followers() -> None:
    spec = get_reward("likes")
    assert score(_m(1, like_count=5, impression_count=500), spec=spec).value == pytest.approx(10)
    assert score(_m(1, like_count=5), spec=spec, followers=250).value == pytest.approx(20)
    # a tiny audience is floored, not divided by zero
    assert score(_m(1, like_count=1), spec=spec, followers=0).value == pytest.approx(100)


def test_ages_are_weighted_and_renormalised() -> None:
    spec = get_reward("likes")
    history = [
        _m(1, like_count=1, impression_count=1000),
        _m(6, like_count=4, impression_count=1000),
    ]
    early = reward_at_ages(history[:1], created_at=T0, spec=spec)
    assert early is not None and early.value == pytest.approx(1.0)
    both = reward_at_ages(history, created_at=T0, spec=spec)
    assert both is not None and both.value == pytest.approx((0.2 * 1 + 0.3 * 4) / 0.5)
    assert reward_at_ages([_m(3, like_count=9)], created_at=T0, spec=spec) is None  # no age matched


def test_due_ages() -> None:
    spec = get_reward("likes")
    assert due_ages(created_at=T0, now=T0 + timedelta(minutes=30), spec=spec, read=set()) == []
    assert due_ages(created_at=T0, now=T0 + timedelta(minutes=61), spec=spec, read=set()) == [
        3600.0
    ]
    assert due_ages(created_at=T0, now=T0 + timedelta(minutes=61), spec=spec, read={3600.0}) == []


def test_ages_read_counts_an_observation_within_the_tolerance_of_an_age() -> None:
    spec = get_reward("likes")  # tolerance 0.25: 1 h covers 45-75 min, 6 h covers 4.5-7.5 h
    assert ages_read([_m(1.2), _m(3.0)], created_at=T0, spec=spec) == {3600.0}
    assert ages_read([_m(1.3), _m(7.4)], created_at=T0, spec=spec) == {21600.0}
    assert ages_read([], created_at=T0, spec=spec) == set()


def test_custom_yaml_with_negative_signal(tmp_path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        "weights:\n  like_count: 1.0\n  quote_count: -2.0\nages_s: [3600]\nage_weights: [1]\n"
    )
    spec = get_reward(str(path))
    assert spec.name == "mine"
    assert score(
        _m(1, like_count=3, quote_count=1, impression_count=1000), spec=spec
    ).value == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"weights": {"views": 1.0}}, "unknown signals"),
        ({"weights": {}}, "at least one weight"),
        ({"weights": {"like_count": 1.0}, "ages_s": (3600.0,)}, "equal length"),
        ({"weights": {"like_count": 1.0}, "reach_floor": 0}, "reach_floor"),
    ],
)
def test_bad_specs_say_how_to_fix(kwargs, needle) -> None:
    with pytest.raises(ValueError, match=needle):
        RewardSpec(name="bad", **kwargs)
    with pytest.raises(ValueError, match="unknown reward"):
        get_reward("nope")
