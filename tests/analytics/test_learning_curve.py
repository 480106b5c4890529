"""The learning curve: ages combined as the loop combines them, posts in publication order, a
trailing mean, version boundaries from the outbox, and the RL agreement history placed in time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vibeforge.analytics.learning_curve import AGREEMENT_FLAG, curve_from, learning_curve
from vibeforge.domain import (
    AdapterVersion,
    Bot,
    Candidate,
    CandidateStatus,
    Post,
    Publication,
    PublicationStatus,
    Reward,
)
from vibeforge.errors import NotFoundError

T0 = datetime(2026, 3, 1, 8, tzinfo=UTC)
H = 3600.0
WEIGHTS = {H: 0.2, 6 * H: 0.3, 24 * H: 0.5}  # the default reward's age weights


def _r(post: str, value: float, age: float = H, preset: str = "x-2026") -> Reward:
    return Reward(bot="b", post_id=post, value=value, preset=preset, age_s=age)


def _version(v: int, kind: str, rl_mean: float | None = None) -> AdapterVersion:
    metrics = {"rl_mean_reward": rl_mean} if kind == "rl" else {"loss": 2.0}
    return AdapterVersion(
        bot="b", version=v, path=f"/a/{v}", sha256="ab" * 32, kind=kind, metrics=metrics
    )


def test_ages_combine_with_the_reward_weights_else_equally() -> None:
    rewards = [_r("p1", 1.0), _r("p1", 3.0, age=6 * H)]
    published = {"p1": T0}
    weighted = curve_from(rewards, bot="b", published=published, age_weights=WEIGHTS)
    assert weighted.points[0].reward == pytest.approx((0.2 * 1 + 0.3 * 3) / 0.5)
    assert weighted.points[0].ages_s == (H, 6 * H)
    plain = curve_from(rewards, bot="b", published=published)
    assert plain.points[0].reward == pytest.approx(2.0)
    # weights that name none of the post's ages fall back to equal weights, not to nothing
    other = curve_from(rewards, bot="b", published=published, age_weights={99.0: 1.0})
    assert other.points[0].reward == pytest.approx(2.0)


def test_points_follow_publication_time_with_a_trailing_mean() -> None:
    # reward rows arrive in observation order, not publication order
    rewards = [_r("p3", 3.0), _r("p1", 1.0), _r("p4", 4.0), _r("p2", 2.0), _r("gone", 9.0)]
    published = {f"p{k}": T0 + timedelta(hours=k) for k in range(1, 5)}
    curve = curve_from(rewards, bot="b", published=published, smooth=2)
    assert [p.post_id for p in curve.points] == ["p1", "p2", "p3", "p4"]  # "gone": not published
    assert [p.i for p in curve.points] == [1, 2, 3, 4]
    assert [p.mean for p in curve.points] == pytest.approx([1.0, 1.5, 2.5, 3.5])
    assert curve.window_means() == pytest.approx((1.5, 3.5))
    with pytest.raises(ValueError, match="smooth"):
        curve_from(rewards, bot="b", published=published, smooth=0)


def test_one_preset_is_drawn_the_newest_by_default() -> None:
    rewards = [_r("p1", 100.0, preset="likes"), _r("p1", 1.0), _r("p2", 2.0)]
    published = {"p1": T0, "p2": T0 + timedelta(hours=1)}
    curve = curve_from(rewards, bot="b", published=published)
    assert curve.preset == "x-2026" and [p.reward for p in curve.points] == [1.0, 2.0]
    old = curve_from(rewards, bot="b", published=published, preset="likes")
    assert [p.reward for p in old.points] == [100.0]
    empty = curve_from([], bot="b", published=published)
    assert empty.points == [] and empty.preset is None and empty.window_means() is None


def test_versions_start_where_they_or_a_later_one_first_wrote() -> None:
    published = {f"p{k}": T0 + timedelta(hours=k) for k in range(1, 6)}
    rewards = [_r(pid, float(k)) for k, pid in enumerate(published)]
    # p5 came from outside the outbox (no candidate): it marks nothing
    authored = {"p1": 1, "p2": 1, "p3": 3, "p4": 3}
    versions = [_version(4, "rl", 0.9), _version(1, "sft"), _version(2, "rl", 0.5)]
    versions.append(_version(3, "rl", 0.7))
    curve = curve_from(rewards, bot="b", published=published, authored=authored, versions=versions)
    marks = {v.version: v for v in curve.versions}
    assert [v.version for v in curve.versions] == [1, 2, 3, 4]
    assert {k: v.at_point for k, v in marks.items()} == {1: 1, 2: 3, 3: 3, 4: None}
    assert marks[1].rl_mean_reward is None and marks[3].rl_mean_reward == 0.7
    assert {at: [v.version for v in vs] for at, vs in curve.boundaries().items()} == {
        1: [1],
        3: [2, 3],
    }
    assert [p.adapter_version for p in curve.points] == [1, 1, 3, 3, None]


def test_agreement_is_placed_after_the_posts_published_by_then() -> None:
    published = {f"p{k}": T0 + timedelta(hours=k) for k in range(1, 5)}
    rewards = [_r(pid, 1.0) for pid in published]
    history = [
        {
            "at": (T0 + timedelta(hours=2, minutes=30)).isoformat(),
            "version": 1,
            "spearman": 0.25,
            "posts": 2,
        },
        {"at": (T0 + timedelta(hours=9)).isoformat(), "version": 2, "spearman": None, "posts": 4},
        {"at": (T0 - timedelta(hours=1)).isoformat(), "version": 1, "spearman": 0.1, "posts": 3},
        "not an entry",
    ]
    curve = curve_from(rewards, bot="b", published=published, agreement=history)
    got = [(a.model_version, a.spearman, a.posts, a.at_point) for a in curve.agreement]
    assert got == [(1, 0.25, 2, 2), (2, None, 4, 4), (1, 0.1, 3, None)]


def _fill(engine) -> None:  # type: ignore[no-untyped-def]
    """Bot "b": four posts (p1..p4, hourly), v1 sft wrote p1-p2, v3 rl wrote p3-p4, v2 rl
    wrote nothing; rewards at 1 h for all, at 6 h for p1; two RL rounds of agreement."""
    from vibeforge.store import queries as q
    from vibeforge.store import session_scope

    with session_scope(engine) as s:
        q.create_bot(s, bot=Bot(name="b"))
        q.create_bot(s, bot=Bot(name="idle"))
        posts = [
            Post(id=f"p{k}", text=f"post {k}", author_id="me", created_at=T0 + timedelta(hours=k))
            for k in range(1, 5)
        ]
        q.add_posts(s, posts=posts, bot="b")
        for k, post in enumerate(posts, start=1):
            q.add_reward(s, reward=_r(post.id, float(k)))
        q.add_reward(s, reward=_r("p1", 3.0, age=6 * H))
        for v, kind, rl_mean in ((1, "sft", None), (2, "rl", 0.4), (3, "rl", 0.6)):
            q.add_adapter_version(s, adapter=_version(v, kind, rl_mean))
        cands = q.add_candidates(
            s,
            candidates=[
                Candidate(bot="b", text=p.text, adapter_version=v, status=CandidateStatus.CHOSEN)
                for p, v in zip(posts, (1, 1, 3, 3), strict=True)
            ],
        )
        for post, cand in zip(posts, cands, strict=True):
            key = f"b:{cand.id}"
            q.enqueue_publication(
                s,
                publication=Publication(
                    idempotency_key=key, bot="b", text=post.text, candidate_id=cand.id
                ),
            )
            q.transition_publication(s, idempotency_key=key, status=PublicationStatus.SENT)
            q.transition_publication(
                s,
                idempotency_key=key,
                status=PublicationStatus.CONFIRMED,
                platform_post_id=post.id,
            )
        history = [
            {
                "at": (T0 + timedelta(hours=k, minutes=1)).isoformat(),
                "version": k - 2,
                "spearman": rho,
                "posts": k,
            }
            for k, rho in ((3, 0.2), (4, 0.5))
        ]
        q.set_flag(s, name=AGREEMENT_FLAG.format(bot="b"), value={"history": history})


def test_from_the_store(engine) -> None:  # type: ignore[no-untyped-def]
    from vibeforge.store import session_scope

    _fill(engine)
    with session_scope(engine) as s:
        curve = learning_curve(s, bot="b", age_weights=WEIGHTS, smooth=2)
        idle = learning_curve(s, bot="idle")
        with pytest.raises(NotFoundError):
            learning_curve(s, bot="ghost")
    p1 = (0.2 * 1 + 0.3 * 3) / 0.5
    assert [p.reward for p in curve.points] == pytest.approx([p1, 2.0, 3.0, 4.0])
    assert [p.adapter_version for p in curve.points] == [1, 1, 3, 3]
    assert {v.version: v.at_point for v in curve.versions} == {1: 1, 2: 3, 3: 3}
    assert [v.rl_mean_reward for v in curve.versions] == [None, 0.4, 0.6]
    assert [(a.spearman, a.at_point) for a in curve.agreement] == [(0.2, 3), (0.5, 4)]
    assert idle.points == [] and idle.versions == [] and idle.agreement == []
