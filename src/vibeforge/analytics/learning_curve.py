"""A bot's learning curve: the realised reward of each published post in order, the adapter
versions that wrote them, and what RL's reward model expected of each version.

    reward_i = Σ_a w_a · r_{i,a} / Σ_a w_a   over the ages a at which post i's reward was read
               (r_{i,a}: its stored reward rows of one preset; w_a: the reward spec's age
               weights, as the loop's `observe.post_rewards` combines them; equal weights when
               none are given, and when none of the post's ages has a weight)
    mean_i   = mean of reward_{i−k+1 … i}   (trailing, k = `smooth`)
    boundary = the first post written by a version or a later one (versions only grow), so
               versions saved between two posts share a boundary and one saved after the last
               post has none yet
    agreement: each RL round's realised Spearman of the reward model against the rewards of
               the bot's published posts (the learn step's flag `rm_agreement:<bot>`), placed
               after the posts published by then

One home for the concept: `vibeforge bot show` and the dashboard's bot page both draw this.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from vibeforge.domain import AdapterVersion, Reward
from vibeforge.store import queries as q

# the flag the loop's learn step keeps each RL round's reward-model agreement in
# ({"history": [{"at", "version", "spearman", "posts"}, ...], "paused": ...}); the loop's
# written by the learn step (loop.learn imports this name: one home for it)
AGREEMENT_FLAG = "rm_agreement:{bot}"


@dataclass(frozen=True, slots=True, kw_only=True)
class CurvePoint:
    i: int  # 1-based position among the bot's rewarded posts, oldest first
    post_id: str
    at: datetime  # when the post was published (platform time)
    reward: float  # realised reward, its ages combined
    mean: float  # trailing moving mean of `reward` over the curve's `smooth` posts
    ages_s: tuple[float, ...]  # the ages its reward was read at so far
    adapter_version: int | None  # the version that wrote it (None: not from the outbox)


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionMark:
    version: int
    kind: str  # sft | rl | spawn
    parent: int | None
    created_at: datetime | None
    rl_mean_reward: float | None  # the reward model's mean reward in its RL round (rl only)
    at_point: int | None  # `i` of the first post it (or a later version) wrote; None: none yet


@dataclass(frozen=True, slots=True, kw_only=True)
class AgreementPoint:
    at: datetime | None  # when the learn step measured it (platform time)
    model_version: int | None  # the reward model's version
    spearman: float | None  # None: the rewards or the predictions were constant
    posts: int  # published posts it is over
    at_point: int | None  # posts on the curve published by then (None: none)


@dataclass(frozen=True, slots=True, kw_only=True)
class LearningCurve:
    bot: str
    preset: str | None  # the reward preset of the rows drawn (None: no rewards yet)
    smooth: int
    points: list[CurvePoint]
    versions: list[VersionMark]
    agreement: list[AgreementPoint]

    def boundaries(self) -> dict[int, list[VersionMark]]:
        """Curve position -> the versions whose first posts start there."""
        out: dict[int, list[VersionMark]] = defaultdict(list)
        for v in self.versions:
            if v.at_point is not None:
                out[v.at_point].append(v)
        return dict(out)

    def window_means(self, window: int | None = None) -> tuple[float, float] | None:
        """(mean reward of the first `window` posts, of the last `window`); None: no posts.

        `window` defaults to `smooth`; the two windows overlap on short curves."""
        if not self.points:
            return None
        k = window or self.smooth
        first = statistics.fmean(p.reward for p in self.points[:k])
        last = statistics.fmean(p.reward for p in self.points[-k:])
        return first, last


def _combine(rows: Sequence[Reward], weights: Mapping[float, float] | None) -> float:
    if weights:
        total = sum(weights.get(r.age_s, 0.0) for r in rows)
        if total > 0:
            return sum(weights.get(r.age_s, 0.0) * r.value for r in rows) / total
    return statistics.fmean(r.value for r in rows)


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def _agreement(history: Sequence[Any], times: Sequence[datetime]) -> list[AgreementPoint]:
    out = []
    for entry in history:
        if not isinstance(entry, dict):
            continue
        at = None
        if isinstance(entry.get("at"), str):
            try:
                at = _aware(datetime.fromisoformat(entry["at"]))
            except ValueError:
                at = None
        before = sum(t <= at for t in times) if at is not None else 0
        rho = entry.get("spearman")
        version = entry.get("version")
        out.append(
            AgreementPoint(
                at=at,
                model_version=int(version) if isinstance(version, int) else None,
                spearman=float(rho) if isinstance(rho, int | float) else None,
                posts=int(entry.get("posts") or 0),
                at_point=before or None,
            )
        )
    return out


def curve_from(
    rewards: Sequence[Reward],
    *,
    bot: str,
    published: Mapping[str, datetime],
    authored: Mapping[str, int] | None = None,
    versions: Sequence[AdapterVersion] = (),
    agreement: Sequence[Any] = (),
    age_weights: Mapping[float, float] | None = None,
    smooth: int = 5,
    preset: str | None = None,
) -> LearningCurve:
    """The curve from stored rows: `published` post id -> creation time (posts not in it are
    left out), `authored` post id -> adapter version, `agreement` the flag's history entries.

    Rows of one preset are drawn: `preset`, or the newest row's (a changed reward config
    would otherwise mix scales).
    """
    if smooth < 1:
        raise ValueError(f"smooth ({smooth}) must be >= 1; use 5")
    authored = authored or {}
    if preset is None and rewards:
        preset = rewards[-1].preset
    per_post: dict[str, list[Reward]] = defaultdict(list)
    for r in rewards:
        if r.preset == preset and r.post_id in published:
            per_post[r.post_id].append(r)
    order = sorted(per_post, key=lambda pid: (_aware(published[pid]), pid))
    values = [_combine(per_post[pid], age_weights) for pid in order]
    points = []
    for n, pid in enumerate(order):
        window = values[max(0, n - smooth + 1) : n + 1]
        points.append(
            CurvePoint(
                i=n + 1,
                post_id=pid,
                at=_aware(published[pid]),
                reward=values[n],
                mean=statistics.fmean(window),
                ages_s=tuple(sorted({r.age_s for r in per_post[pid]})),
                adapter_version=authored.get(pid),
            )
        )
    marks = []
    for v in sorted(versions, key=lambda v: v.version):
        first = next(
            (
                p.i
                for p in points
                if p.adapter_version is not None and p.adapter_version >= v.version
            ),
            None,
        )
        rl_mean = v.metrics.get("rl_mean_reward") if v.kind == "rl" else None
        marks.append(
            VersionMark(
                version=v.version,
                kind=v.kind,
                parent=v.parent,
                created_at=v.created_at,
                rl_mean_reward=float(rl_mean) if isinstance(rl_mean, int | float) else None,
                at_point=first,
            )
        )
    return LearningCurve(
        bot=bot,
        preset=preset if points else None,
        smooth=smooth,
        points=points,
        versions=marks,
        agreement=_agreement(agreement, [p.at for p in points]),
    )


def authored_versions(session: Session, *, bot: str) -> dict[str, int]:
    """Post id -> the adapter version that wrote it, through the outbox and its candidate."""
    versions = {
        c.id: c.adapter_version
        for c in q.list_candidates(session, bot=bot)
        if c.id is not None and c.adapter_version is not None
    }
    return {
        p.platform_post_id: versions[p.candidate_id]
        for p in q.list_publications(session, bot=bot)
        if p.platform_post_id is not None and p.candidate_id in versions
    }


def learning_curve(
    session: Session,
    *,
    bot: str,
    age_weights: Mapping[float, float] | None = None,
    smooth: int = 5,
    preset: str | None = None,
) -> LearningCurve:
    """The bot's learning curve from the store (see the module docstring)."""
    q.get_bot(session, name=bot)
    published = {p.id: p.created_at for p in q.list_posts(session, bot=bot)}
    flag = q.get_flag(session, name=AGREEMENT_FLAG.format(bot=bot)) or {}
    history = flag.get("history")
    return curve_from(
        q.list_rewards(session, bot=bot),
        bot=bot,
        published=published,
        authored=authored_versions(session, bot=bot),
        versions=q.list_adapter_versions(session, bot=bot),
        agreement=history if isinstance(history, list) else (),
        age_weights=age_weights,
        smooth=smooth,
        preset=preset,
    )
