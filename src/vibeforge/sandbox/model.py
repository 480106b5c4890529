"""The audience's engagement model (hidden from the bots; docs/sandbox.md states it in full).

For a post p with unit embedding e_p, created at t_p, and each member m with interest u_m(t_p),
activity λ_m and follow flag f_m (member follows p's author):

    z_m     = (u_m · e_p − μ) / σ                      similarity, standardised per world
    a_m     = sigmoid(κ (z_m − z0))                     affinity
    view_m  = λ_m · (1 − (1 − φ_f f_m)(1 − ρ a_m^γ)) · R_p
    p_k,m   = min(0.9, b_k · S_k(p) · a_m · Q_p)        k ∈ like, repost, reply, quote, bookmark
    neg_m   = ν (1 − a_m) + η (dup_p + spam_p + tox_p)

R_p (reach) and Q_p (rate) shrink for near-duplicates, spam, toxicity and author fatigue; Q_p
grows by `media_boost` for a post with an image.
Expected counts are the sums over members; realised counts draw each member's view and each
reaction once, from a generator seeded by (world seed, post id): vectorised over members, so a
post costs a few (M,) numpy operations, never a loop over impressions. What the API shows at age
t is floor(final · (1 − exp(−t/τ))): it grows with age and never decreases.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from vibeforge.sandbox.text import Style

KINDS = ("like", "repost", "reply", "quote", "bookmark")
COLUMNS = ("impressions", *KINDS, "negative")


@dataclass(frozen=True, kw_only=True)
class AudienceParams:
    # chance per impression that a fully interested member reacts, by kind
    base_rates: dict[str, float] = field(
        default_factory=lambda: {
            "like": 0.12,
            "repost": 0.015,
            "reply": 0.01,
            "quote": 0.004,
            "bookmark": 0.006,
        }
    )
    follower_view: float = 0.9  # chance an active follower sees a post (φ_f)
    out_of_network: float = 0.6  # chance an active, fully interested non-follower sees it (ρ)
    reach_exponent: float = 2.0  # out-of-network reach falls as affinity^γ
    affinity_center: float = 1.0  # standardised similarity at which affinity is 1/2 (z0)
    affinity_slope: float = 1.5  # steepness of the affinity sigmoid (κ)
    fatigue: float = 0.15  # reach lost per post by the same author in the window
    fatigue_window_h: float = 24.0
    duplicate_threshold: float = 0.92  # cosine to an earlier post that makes a near-duplicate
    duplicate_reach: float = 0.2  # reach multiplier of a near-duplicate
    duplicate_rate: float = 0.3  # reaction-rate multiplier of a near-duplicate
    spam_penalty: float = 0.7  # reach and rate lose spam_penalty * spam score
    toxic_penalty: float = 0.6  # rate loses toxic_penalty * toxicity; reach half of that
    negative_rate: float = 0.002  # "show less" chance per impression of an unrelated post (ν)
    negative_penalty: float = 0.05  # extra negative chance per duplicate/spam/toxic flag (η)
    accrual_hours: float = 4.0  # τ of the accrual curve 1 − exp(−t/τ)
    # reaction-rate multiplier of a post that carries an image (X: posts with images draw more
    # engagement per view); 1.0 turns it off
    media_boost: float = 1.15

    def __post_init__(self) -> None:
        missing = set(KINDS) - set(self.base_rates)
        if missing:
            raise ValueError(f"base_rates lacks {sorted(missing)}; give a rate for each of {KINDS}")
        for kind, rate in self.base_rates.items():
            if not 0 <= rate <= 1:
                raise ValueError(f"base_rates[{kind!r}] ({rate}) must be in [0, 1]")
        for name in (
            "follower_view",
            "out_of_network",
            "duplicate_reach",
            "duplicate_rate",
            "spam_penalty",
            "toxic_penalty",
            "negative_rate",
            "negative_penalty",
        ):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} ({value}) must be a probability in [0, 1]")
        if not 0 < self.duplicate_threshold <= 1:
            raise ValueError(f"duplicate_threshold ({self.duplicate_threshold}) must be in (0, 1]")
        for name in ("accrual_hours", "affinity_slope", "reach_exponent", "fatigue_window_h"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} ({getattr(self, name)}) must be > 0")
        if self.media_boost <= 0:
            raise ValueError(f"media_boost ({self.media_boost}) must be > 0; use 1.0 for none")
        if self.fatigue < 0:
            raise ValueError(f"fatigue ({self.fatigue}) must be >= 0; use 0 to disable it")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class PostFactors:
    """What the model knows about a post besides its embedding."""

    style: Style
    duplicate: bool
    recent_by_author: int  # the author's posts in the fatigue window before this one
    media: bool = False  # the post carries an image


def style_multipliers(s: Style) -> np.ndarray:
    """(K,) multipliers S_k: questions draw replies, links draw reposts and bookmarks, ..."""
    m = dict.fromkeys(KINDS, 1.0)
    if s.exclamation:
        m["like"] *= 1.1
    if s.urls:
        m["like"] *= 0.9
        m["repost"] *= 1.2
        m["bookmark"] *= 1.6
    if 1 <= s.hashtags <= 2:
        m["repost"] *= 1.15
    if s.question:
        m["reply"] *= 2.0
        m["quote"] *= 1.3
    if s.mentions:
        m["reply"] *= 1.2
    length = 0.5 if s.chars < 20 else 1.1 if 40 <= s.chars <= 200 else 1.0
    crowd = 0.8 if s.mentions > 2 else 1.0
    return np.array([m[k] * length * crowd for k in KINDS], dtype=np.float64)


def multipliers(params: AudienceParams, f: PostFactors) -> tuple[float, float]:
    """(reach R_p, rate Q_p)."""
    fatigue = 1.0 / (1.0 + params.fatigue * f.recent_by_author)
    reach = (
        fatigue
        * (1 - params.spam_penalty * f.style.spam)
        * (1 - 0.5 * params.toxic_penalty * f.style.toxic)
    )
    rate = (1 - params.spam_penalty * f.style.spam) * (1 - params.toxic_penalty * f.style.toxic)
    if f.duplicate:
        reach *= params.duplicate_reach
        rate *= params.duplicate_rate
    if f.media:  # only then: a post without media is scored exactly as before the parameter
        rate *= params.media_boost
    return reach, rate


@dataclass(frozen=True, slots=True)
class Outcome:
    expected: np.ndarray  # (7,) float: COLUMNS
    final: np.ndarray  # (7,) int: realised counts once fully accrued
    affinity_mean: float  # mean affinity of the members who would see it
    reach: float
    rate: float


def _chances(
    params: AudienceParams,
    similarity: np.ndarray,
    calibration: tuple[float, float],
    activity: np.ndarray,
    followers: np.ndarray,
    factors: PostFactors,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """(affinity (M,), view (M,), probs (K+1, M): reactions then negative, reach, rate)."""
    mu, sigma = calibration
    z = (similarity - mu) / sigma
    affinity = 1.0 / (1.0 + np.exp(-params.affinity_slope * (z - params.affinity_center)))
    reach, rate = multipliers(params, factors)
    out_net = params.out_of_network * affinity**params.reach_exponent
    view = activity * (1 - (1 - params.follower_view * followers) * (1 - out_net)) * reach
    base = np.array([params.base_rates[k] for k in KINDS])
    p_react = np.minimum(0.9, (base * style_multipliers(factors.style) * rate)[:, None] * affinity)
    flags = factors.duplicate + factors.style.spam + factors.style.toxic
    p_neg = np.minimum(0.9, params.negative_rate * (1 - affinity) + params.negative_penalty * flags)
    probs = np.vstack([p_react, p_neg[None, :]])  # (K+1, M)
    return affinity, view, probs, reach, rate


def _draw(
    view: np.ndarray, probs: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Each member's view, then each reaction of those who saw: (seen (S,), draws (K+1, S))."""
    seen = np.flatnonzero(rng.random(view.shape[0]) < view)
    draws = rng.random((probs.shape[0], seen.size)) < probs[:, seen]
    return seen, draws


def engage(
    *,
    params: AudienceParams,
    similarity: np.ndarray,  # (M,) u_m · e_p
    calibration: tuple[float, float],  # (μ, σ)
    activity: np.ndarray,  # (M,)
    followers: np.ndarray,  # (M,) bool
    factors: PostFactors,
    rng: np.random.Generator,
) -> Outcome:
    affinity, view, probs, reach, rate = _chances(
        params, similarity, calibration, activity, followers, factors
    )
    expected = np.concatenate([[view.sum()], probs @ view])
    seen, draws = _draw(view, probs, rng)
    final = np.concatenate([[seen.size], draws.sum(axis=1)]).astype(np.int64)
    weight = view.sum()
    return Outcome(
        expected=expected,
        final=final,
        affinity_mean=float((affinity * view).sum() / weight) if weight > 0 else 0.0,
        reach=reach,
        rate=rate,
    )


@dataclass(frozen=True, slots=True)
class Reactors:
    """Who reacted to a post in its realised draw: the same draws `engage` counts."""

    seen: np.ndarray  # (S,) member indices who saw the post
    reacted: dict[str, np.ndarray]  # kind -> member indices, ascending
    # kind -> (M,) chance per member that they saw and reacted (ranks near misses)
    chance: dict[str, np.ndarray]


def reactors(
    *,
    params: AudienceParams,
    similarity: np.ndarray,  # (M,)
    calibration: tuple[float, float],
    activity: np.ndarray,  # (M,)
    followers: np.ndarray,  # (M,) bool
    factors: PostFactors,
    rng: np.random.Generator,
) -> Reactors:
    """The members behind `engage`'s realised counts: given the same inputs and a generator
    seeded the same way, `len(reacted[k]) == engage(...).final[1 + KINDS.index(k)]`."""
    _, view, probs, _, _ = _chances(params, similarity, calibration, activity, followers, factors)
    seen, draws = _draw(view, probs, rng)
    return Reactors(
        seen=seen,
        reacted={k: seen[draws[i]] for i, k in enumerate(KINDS)},
        chance={k: view * probs[i] for i, k in enumerate(KINDS)},
    )


def accrued(final: np.ndarray, *, age_ms: np.ndarray | int, accrual_hours: float) -> np.ndarray:
    """Counts visible at an age: floor(final · (1 − exp(−age/τ))), zero before creation."""
    age_h = np.maximum(np.asarray(age_ms, dtype=np.float64), 0) / 3_600_000
    share = -np.expm1(-age_h / accrual_hours)
    if np.ndim(share):
        share = share[:, None] if np.ndim(final) == 2 else share
    return np.floor(final * share + 1e-9).astype(np.int64)


def post_rng(seed: int, post_id: int) -> np.random.Generator:
    return np.random.default_rng([seed & 0xFFFFFFFF, post_id >> 32, post_id & 0xFFFFFFFF])
