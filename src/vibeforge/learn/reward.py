"""Engagement → a scalar reward.

    score(age) = Σ_k w_k · count_k(age) / reach        reach = impressions, else followers
    reward     = Σ_a v_a · score(a) / Σ_a v_a          over the ages a read (default 1 h, 6 h, 24 h)

Counts are read at fixed ages of platform time; an age not yet observed is left out and the age
weights are renormalised over the ones present. Negative weights subtract (for platforms that
expose negative feedback). Presets are looked up by name, like TRL's reward functions:
`x-2023` (the heavy ranker's like 0.5, retweet 1.0, reply 13.5), `x-2026` (favorite 0.5,
reply 5.0, repost 1.0, quote 5.0; share 2.0 is not exposed by the API, so it is dropped),
`likes`, or custom weights from a YAML file (`path/to/weights.yaml`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from vibeforge.domain import Metrics

COUNTS = ("like_count", "repost_count", "reply_count", "quote_count", "bookmark_count")
DEFAULT_AGES_S = (3600.0, 6 * 3600.0, 24 * 3600.0)
DEFAULT_AGE_WEIGHTS = (0.2, 0.3, 0.5)


@dataclass(frozen=True, slots=True, kw_only=True)
class RewardSpec:
    name: str
    weights: Mapping[str, float]  # metric field → weight (negative subtracts)
    ages_s: tuple[float, ...] = DEFAULT_AGES_S  # ages at which counts are read
    age_weights: tuple[float, ...] = DEFAULT_AGE_WEIGHTS
    reach_floor: float = 10.0  # avoids huge scores from tiny audiences
    tolerance_s: float = 0.25  # an observation counts for age a if within a·(1 ± tolerance)
    per_mille: bool = True  # report per 1,000 reached, so typical values are O(1)
    dropped: tuple[str, ...] = field(default=())  # preset signals the API does not expose

    def __post_init__(self) -> None:
        unknown = sorted(set(self.weights) - set(COUNTS))
        if unknown:
            raise ValueError(
                f"reward {self.name!r}: unknown signals {unknown}; use some of {list(COUNTS)}"
            )
        if not self.weights:
            raise ValueError(f"reward {self.name!r}: give at least one weight")
        if len(self.ages_s) != len(self.age_weights) or not self.ages_s:
            raise ValueError(
                f"reward {self.name!r}: ages_s ({len(self.ages_s)}) and age_weights "
                f"({len(self.age_weights)}) must be non-empty and of equal length"
            )
        if any(a <= 0 for a in self.ages_s) or any(w < 0 for w in self.age_weights):
            raise ValueError(f"reward {self.name!r}: ages must be > 0 and age weights >= 0")
        if self.reach_floor <= 0:
            raise ValueError(f"reward {self.name!r}: reach_floor must be > 0")


@dataclass(frozen=True, slots=True)
class Scored:
    value: float
    components: dict[str, float]  # per signal and per age, for the record


_PRESETS: dict[str, RewardSpec] = {}


def register_reward(spec: RewardSpec) -> RewardSpec:
    """Make a reward spec available by name."""
    _PRESETS[spec.name] = spec
    return spec


register_reward(
    RewardSpec(name="x-2023", weights={"like_count": 0.5, "repost_count": 1.0, "reply_count": 13.5})
)
register_reward(
    RewardSpec(
        name="x-2026",
        weights={"like_count": 0.5, "reply_count": 5.0, "repost_count": 1.0, "quote_count": 5.0},
        dropped=("share",),
    )
)
register_reward(RewardSpec(name="likes", weights={"like_count": 1.0}))


def reward_names() -> list[str]:
    return sorted(_PRESETS)


def get_reward(name_or_path: str) -> RewardSpec:
    """A preset by name, or custom weights from a YAML file."""
    if name_or_path in _PRESETS:
        return _PRESETS[name_or_path]
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        import yaml

        if not path.exists():
            raise ValueError(f"reward weights file {path} does not exist")
        data = yaml.safe_load(path.read_text()) or {}
        if not isinstance(data, dict) or "weights" not in data:
            raise ValueError(f"{path}: expected a mapping with 'weights:' (and optional 'ages_s:')")
        kwargs: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
        }
        kwargs.setdefault("name", path.stem)
        return RewardSpec(**kwargs)
    raise ValueError(
        f"unknown reward {name_or_path!r}: use one of {reward_names()} or a .yaml weights file"
    )


@dataclass(frozen=True, slots=True)
class RatePrior:
    """The niche's mean rate, worth `reach` pseudo-impressions, that a label is shrunk toward.

    A post with no engagement seen by 10,000 people says much more than one seen by 10; a plain
    rate calls both 0 (and log1p(0) throws the audience size away). With the prior, a label is

        (Σ_k w_k·count_k·scale + rate·reach) / (impressions + reach)

    so zero engagement over a large audience falls well below the niche's mean while zero over
    a tiny one stays near it (empirical-Bayes smoothing of a rate).
    """

    rate: float  # in the spec's units (per 1,000 reached when per_mille)
    reach: float  # pseudo-impressions

    def __post_init__(self) -> None:
        if self.rate < 0 or self.reach < 0:
            raise ValueError(f"a rate prior needs rate >= 0 and reach >= 0, not {self}")


def score(
    metrics: Metrics,
    *,
    spec: RewardSpec,
    followers: int | None = None,
    prior: RatePrior | None = None,
) -> Scored:
    """The reward of one observation: weighted counts per reach (impressions, else followers);
    with a `prior`, shrunk toward the niche's mean rate (see RatePrior)."""
    counted = float(metrics.impression_count or followers or 0)
    scale = 1000.0 if spec.per_mille else 1.0
    if prior is not None and prior.reach > 0:
        reach = counted + prior.reach
        components = {k: w * getattr(metrics, k) / reach * scale for k, w in spec.weights.items()}
        components["prior"] = prior.rate * prior.reach / reach
    else:
        reach = max(counted, spec.reach_floor)
        components = {k: w * getattr(metrics, k) / reach * scale for k, w in spec.weights.items()}
    return Scored(value=math.fsum(components.values()), components=components)


def pooled_prior(
    observations: Sequence[Metrics], *, spec: RewardSpec, reach: float
) -> RatePrior | None:
    """The mean rate of `observations` pooled over their impressions (Σ weighted counts / Σ
    impressions), worth `reach` pseudo-impressions; None without impressions to pool."""
    scale = 1000.0 if spec.per_mille else 1.0
    counts = impressions = 0.0
    for m in observations:
        if m.impression_count:
            impressions += m.impression_count
            counts += sum(w * getattr(m, k) for k, w in spec.weights.items())
    if impressions <= 0 or reach <= 0:
        return None
    return RatePrior(rate=max(counts, 0.0) / impressions * scale, reach=reach)


def reward_at_ages(
    history: Sequence[Metrics],
    *,
    created_at: datetime,
    spec: RewardSpec,
    followers: int | None = None,
    prior: RatePrior | None = None,
) -> Scored | None:
    """Combine the observations read at the spec's ages; None if no age was observed yet."""
    total = weight_sum = 0.0
    components: dict[str, float] = {}
    for age, weight in zip(spec.ages_s, spec.age_weights, strict=True):
        best: Metrics | None = None
        best_gap = math.inf
        for m in history:
            observed_age = (m.observed_at - created_at).total_seconds()
            gap = abs(observed_age - age)
            if gap <= age * spec.tolerance_s and gap < best_gap:
                best, best_gap = m, gap
        if best is None:
            continue
        scored = score(best, spec=spec, followers=followers, prior=prior)
        total += weight * scored.value
        weight_sum += weight
        components[f"age_{int(age)}s"] = scored.value
    if weight_sum == 0:
        return None
    return Scored(value=total / weight_sum, components=components)


def label_age_hours(history: Sequence[Metrics], *, created_at: datetime, spec: RewardSpec) -> float:
    """The age, in hours, that `reward_at_ages(history)` stands for: the age weights' mean over
    the ages read (the whole spec's when none is)."""
    read = ages_read(history, created_at=created_at, spec=spec)
    pairs = [(a, w) for a, w in zip(spec.ages_s, spec.age_weights, strict=True) if a in read]
    pairs = pairs or list(zip(spec.ages_s, spec.age_weights, strict=True))
    total = sum(w for _, w in pairs)
    if total <= 0:
        return sum(a for a, _ in pairs) / len(pairs) / 3600.0
    return sum(a * w for a, w in pairs) / total / 3600.0


def ages_read(history: Sequence[Metrics], *, created_at: datetime, spec: RewardSpec) -> set[float]:
    """The spec's ages some observation already covers (within a·tolerance of age a)."""
    observed = [(m.observed_at - created_at).total_seconds() for m in history]
    return {a for a in spec.ages_s if any(abs(o - a) <= a * spec.tolerance_s for o in observed)}


def due_ages(
    *, created_at: datetime, now: datetime, spec: RewardSpec, read: set[float]
) -> list[float]:
    """Ages whose read is due now and not yet done (the loop reads metrics at these)."""
    age = (now - created_at).total_seconds()
    return [
        a for a in spec.ages_s if a not in read and age >= a and age <= a * (1 + spec.tolerance_s)
    ]
