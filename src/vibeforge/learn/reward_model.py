"""A per-bot reward model that knows what it does not know.

    features  = MiniLM sentence embedding (384-d, L2-normalised) ⊕ style features
                ⊕ context: the author's reach and the label's age (see context_features)
    target    = log1p(max(reward, 0))                      (engagement is heavy-tailed)
    heads     = K ridge heads (default 8), each fit on a bootstrap resample of the labels
                around its own random prior (`x·r_k`, r_k ~ N(0, σ²/α): the ridge's own prior)
    predict   = expm1(mean_k − λ·std_k)                   pessimistic: disagreement lowers it

A head fits its labels *minus* its random prior, so where the training texts pin the function
down the prior is cancelled and the heads agree; along directions no training text covers
(short garbled posts, another language, a style never seen) each head keeps its own prior and
they disagree. The bootstrap adds the disagreement that comes from few or noisy labels. Both are
"randomised prior functions" (Osband et al., 2018): for a linear model the ensemble samples the
Bayesian posterior, and each head still folds into one linear map, so a head is a weight vector.
`mean_std(texts)` gives the heads' mean and spread (log1p scale); λ is `pessimism`.

Trained on the timeline's own posts with their metrics (free labels, normalised by reach) and
on the bot's published posts (weighted up: they are exactly the policy's distribution). The
context columns let the heads explain what the author's audience and the label's age explain
(a big account's posts reach many uninterested readers; a post read minutes after it was
written has few counts yet) instead of crediting the words with it; a prediction is made for
the bot's own reach and the reward's nominal age (`RewardModelInfo.extra`), so within one
bot's group only the text ranks.
Each fit is a new version on disk (`.npz` + `.json`), with the held-out Spearman correlation of
the pessimistic prediction. Models saved by the old single-head format load as one head (no
spread); a format newer than this code is refused with a clear error (refit it).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from vibeforge import atomic
from vibeforge.atomic import atomic_write, atomic_write_json
from vibeforge.embedding import Embedder, shared_embedder

ALPHAS = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
# 1: one ridge head (weights (D,), bias); 2: K heads (weights (K, D), biases (K,)); 3: K heads
# reading the context columns too (RewardModelInfo.n_context)
FORMAT = 3
N_STYLE = 10  # style features of FORMAT 2; the first 7 are FORMAT 1's
N_CONTEXT = 2  # context features of FORMAT 3: reach, age
REACH_SCALE = math.log1p(10_000_000)  # log1p(followers) / this: 10 M followers read as 1
AGE_SCALE = math.log1p(7 * 24.0)  # log1p(age in hours) / this: a week reads as 1
LOG_RANGE = (-5.0, 20.0)  # clip on the log1p scale before expm1 (pessimism may go below 0)
_URLISH = re.compile(r"https?://|<url>", re.I)
_HASHTAG = re.compile(r"#\w")
_MENTION = re.compile(r"@\w")
_VERSION_FILE = re.compile(r"^v(\d+)\.json$")


def style_features(texts: Sequence[str]) -> np.ndarray:
    """Cheap style signals the audience reacts to, in [0, 1]; columns:

    0 has "?"   1 has "!"   2 length in characters (/280)   3 length in words (/60)
    4 hashtags (/5)   5 has a URL (or the scrubber's `<url>`)   6 share of upper-case characters
    7 share of non-space characters that are not letters (digits, punctuation, emoji: garble)
    8 has a hashtag   9 has a mention (`@user`, the scrubber's placeholder, counts)
    """
    rows = []
    for t in texts:
        words = t.split()
        visible = [c for c in t if not c.isspace()]
        rows.append(
            [
                float("?" in t),
                float("!" in t),
                min(len(t), 280) / 280.0,
                min(len(words), 60) / 60.0,
                min(t.count("#"), 5) / 5.0,
                float(bool(_URLISH.search(t))),
                sum(c.isupper() for c in t) / max(len(t), 1),
                sum(not c.isalpha() for c in visible) / max(len(visible), 1),
                float(bool(_HASHTAG.search(t))),
                float(bool(_MENTION.search(t))),
            ]
        )
    return np.asarray(rows, dtype=np.float32).reshape(len(texts), N_STYLE)


def context_features(
    followers: Sequence[float | None], age_hours: Sequence[float | None], *, fill_followers: float
) -> np.ndarray:
    """(N, 2) context columns in [0, 1]: log1p(author's followers) / log1p(10 M), and
    log1p(the label's age in hours) / log1p(one week). Unknown followers take `fill_followers`
    (the training set's median); an unknown age reads as a day."""
    if len(followers) != len(age_hours):
        raise ValueError(f"{len(followers)} follower counts but {len(age_hours)} ages")
    reach = [math.log1p(max(fill_followers if f is None else float(f), 0.0)) for f in followers]
    ages = [math.log1p(max(24.0 if a is None else float(a), 0.0)) for a in age_hours]
    out = np.stack(
        [np.asarray(reach, dtype=np.float64) / REACH_SCALE, np.asarray(ages) / AGE_SCALE], axis=1
    )
    return np.clip(out, 0.0, 1.0).astype(np.float32).reshape(len(followers), N_CONTEXT)


@dataclass(frozen=True, slots=True, kw_only=True)
class RewardModelConfig:
    holdout: float = 0.2  # fraction held out to pick alpha and report Spearman
    min_examples: int = 20  # fewer than this: refuse to fit
    own_post_weight: float = 3.0  # weight of the bot's published posts vs timeline posts
    heads: int = 8  # K bootstrap heads (1: a single ridge head on all data, no spread)
    pessimism: float = 1.0  # λ in mean − λ·std (0: the heads' mean)
    prior_scale: float = 1.0  # scale of each head's random prior (0: bootstrap spread only)
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.05 <= self.holdout <= 0.5:
            raise ValueError(f"holdout ({self.holdout}) must be within [0.05, 0.5]; 0.2 is typical")
        if self.min_examples < 5:
            raise ValueError(f"min_examples ({self.min_examples}) must be >= 5 to hold some out")
        if self.own_post_weight <= 0:
            raise ValueError("own_post_weight must be > 0")
        if not 1 <= self.heads <= 64:
            raise ValueError(f"heads ({self.heads}) must be within [1, 64]; 8 is typical")
        if self.pessimism < 0 or self.prior_scale < 0:
            raise ValueError("pessimism and prior_scale must be >= 0")


@dataclass(frozen=True, slots=True, kw_only=True)
class RewardModelInfo:
    bot: str
    version: int
    n_train: int
    n_own: int
    alpha: float
    spearman: float | None  # of the pessimistic prediction, on the held-out split
    created_at: str
    extra: dict = field(default_factory=dict)
    heads: int = 1  # (defaults: a model saved in the single-head format)
    pessimism: float = 0.0
    n_style: int = 7  # style feature columns the heads read
    n_context: int = 0  # context columns (reach, age) the heads read; 0 before FORMAT 3


class RewardModel:
    """K linear heads on sentence embeddings ⊕ style features.

    `predict(texts)` returns pessimistic rewards (original scale), `mean_std(texts)` the heads'
    mean and spread on the log1p scale, `predict_mean(texts)` the optimistic point estimate.
    """

    def __init__(
        self,
        *,
        weights: np.ndarray,
        bias: float | np.ndarray,
        info: RewardModelInfo,
        embedder: Embedder | None = None,
        pessimism: float | None = None,
    ) -> None:
        w = np.asarray(weights, dtype=np.float32)
        self.weights = w.reshape(1, -1) if w.ndim == 1 else w  # (K, D)
        self.biases = np.asarray(bias, dtype=np.float32).reshape(-1)  # (K,)
        if self.biases.shape[0] != self.weights.shape[0]:
            raise ValueError(
                f"{self.weights.shape[0]} heads but {self.biases.shape[0]} biases in reward model"
            )
        self.info = info
        self.pessimism = float(info.pessimism if pessimism is None else pessimism)
        self._embedder = embedder or shared_embedder()

    @property
    def heads(self) -> int:
        return int(self.weights.shape[0])

    def features(
        self,
        texts: Sequence[str],
        *,
        followers: float | None = None,
        age_hours: float | None = None,
    ) -> np.ndarray:
        """Embedding ⊕ style ⊕ context; the context is the same for every text: `followers`
        and `age_hours` default to the bot's reach and the reward's nominal age at fit time."""
        style = style_features(texts)[:, : self.info.n_style]
        parts = [self._embedder.encode(texts), style]
        if self.info.n_context:
            extra = self.info.extra
            reach = extra.get("predict_followers") if followers is None else followers
            age = extra.get("nominal_age_hours", 24.0) if age_hours is None else age_hours
            context = context_features(
                [reach] * len(texts),
                [age] * len(texts),
                fill_followers=float(extra.get("fill_followers", 0.0)),
            )
            parts.append(context[:, : self.info.n_context])
        return np.concatenate(parts, axis=1)

    def mean_std(
        self,
        texts: Sequence[str],
        *,
        followers: float | None = None,
        age_hours: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The heads' mean and standard deviation of log1p(reward), each of shape (N,); the
        context (`followers`, `age_hours`) as in `features`."""
        if not texts:
            empty = np.zeros(0, dtype=np.float32)
            return empty, empty.copy()
        x = self.features(texts, followers=followers, age_hours=age_hours)
        per_head = x @ self.weights.T + self.biases  # (N, K)
        return per_head.mean(axis=1), per_head.std(axis=1)

    def predict_mean(self, texts: Sequence[str], *, followers: float | None = None) -> np.ndarray:
        """The heads' mean on the reward scale (no pessimism)."""
        mean, _ = self.mean_std(texts, followers=followers)
        return np.expm1(np.clip(mean, *LOG_RANGE)).astype(np.float32)

    def predict(self, texts: Sequence[str], *, followers: float | None = None) -> np.ndarray:
        """expm1(mean − λ·std): low where the heads disagree (texts unlike the training data).
        Monotone in the lower bound, so it can dip below 0 (down to −1) when they disagree.
        `followers`: the poster's reach (default: the bot's, as the model was fit for)."""
        mean, std = self.mean_std(texts, followers=followers)
        return np.expm1(np.clip(mean - self.pessimism * std, *LOG_RANGE)).astype(np.float32)

    # ------------------------------------------------------------ persistence

    def save(self, directory: Path) -> Path:
        """Write `v<N>.npz` + `v<N>.json` atomically; returns the npz path."""
        directory.mkdir(parents=True, exist_ok=True)
        stem = directory / f"v{self.info.version}"
        atomic_write(
            stem.with_suffix(".npz"),
            lambda f: np.savez(
                f, format=np.int64(FORMAT), weights=self.weights, biases=self.biases
            ),
        )
        atomic_write_json(stem.with_suffix(".json"), asdict(self.info))
        return stem.with_suffix(".npz")

    @classmethod
    def load(
        cls,
        directory: Path,
        *,
        version: int | None = None,
        embedder: Embedder | None = None,
    ) -> RewardModel:
        version = version if version is not None else latest_version(directory)
        if version is None:
            raise FileNotFoundError(f"no reward model in {directory}")
        stem = directory / f"v{version}"
        with np.load(stem.with_suffix(".npz")) as data:
            fmt = int(data["format"]) if "format" in data.files else 1
            if fmt > FORMAT:
                raise ValueError(
                    f"{stem}.npz is reward-model format {fmt}, newer than this vibeforge reads "
                    f"({FORMAT}); upgrade vibeforge or delete it so the next learn step refits"
                )
            if fmt == 1:
                weights, bias = data["weights"], np.asarray([float(data["bias"])])
            else:
                weights, bias = data["weights"], data["biases"]
        info = RewardModelInfo(**json.loads(stem.with_suffix(".json").read_text()))
        return cls(weights=weights, bias=bias, info=info, embedder=embedder)


def latest_version(directory: Path) -> int | None:
    """The newest version saved in `directory` (its `.json` is written last), or None."""
    return atomic.latest_version(directory, pattern=_VERSION_FILE, files=True)


def _ridge(x: np.ndarray, y: np.ndarray, w: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Weighted ridge with an unpenalised intercept (closed form)."""
    sw = w / w.sum()
    x_mean = sw @ x
    y_mean = float(sw @ y)
    xc, yc = x - x_mean, y - y_mean
    xw = xc * w[:, None]
    gram = xc.T @ xw + alpha * np.eye(x.shape[1], dtype=np.float64)
    coef = np.linalg.solve(gram, xw.T @ yc)
    return coef, y_mean - float(x_mean @ coef)


def _heads(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    *,
    alpha: float,
    k: int,
    prior_sd: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """K heads, each a ridge on a bootstrap resample fit around its random linear prior."""
    if k == 1:
        coef, bias = _ridge(x, y, w, alpha)
        return coef[None, :], np.asarray([bias])
    coefs, biases = [], []
    for _ in range(k):
        idx = rng.integers(0, len(y), size=len(y))
        prior = rng.normal(0.0, prior_sd, size=x.shape[1])
        coef, bias = _ridge(x[idx], y[idx] - x[idx] @ prior, w[idx], alpha)
        coefs.append(coef + prior)
        biases.append(bias)
    return np.stack(coefs), np.asarray(biases)


def _spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    """Spearman's rank correlation; None with fewer than 3 points or a constant side."""
    from scipy.stats import spearmanr

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    rho = float(spearmanr(a, b).statistic)
    return None if math.isnan(rho) else rho


def spearman(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float | None:
    """Rank agreement of two equally long sequences (None: under 3 points or one is constant)."""
    return _spearman(np.asarray(a), np.asarray(b))


def fit_reward_model(
    *,
    bot: str,
    texts: Sequence[str],
    rewards: Sequence[float],
    own: Sequence[bool] | None = None,
    followers: Sequence[int | None] | None = None,
    age_hours: Sequence[float | None] | None = None,
    predict_followers: int | None = None,
    nominal_age_hours: float = 24.0,
    version: int = 1,
    config: RewardModelConfig | None = None,
    embedder: Embedder | None = None,
    extra: dict | None = None,
) -> RewardModel:
    """Fit a new version; raises ValueError when there is too little data.

    `followers` (the author's reach, None where unknown) and `age_hours` (the age each label
    was read at) are context columns; predictions use `predict_followers` (the bot's own reach)
    and `nominal_age_hours`. `extra` is stored in the version's info (the loop records which own
    posts it trained on)."""
    config = config or RewardModelConfig()
    n = len(texts)
    if (
        len(rewards) != n
        or (own is not None and len(own) != n)
        or (followers is not None and len(followers) != n)
        or (age_hours is not None and len(age_hours) != n)
    ):
        raise ValueError("texts, rewards (and own, followers, age_hours) must have the same length")
    if len(texts) < config.min_examples:
        raise ValueError(
            f"only {len(texts)} labelled posts for {bot!r}; need {config.min_examples} "
            "(wait for more ingest or lower min_examples)"
        )
    embedder = embedder or shared_embedder()
    reach: list[int | None] = list(followers) if followers is not None else [None] * n
    known = [float(f) for f in reach if f is not None]
    fill = float(np.median(known)) if known else 0.0
    context = context_features(
        reach,
        list(age_hours) if age_hours is not None else [None] * n,
        fill_followers=fill,
    )
    x = np.concatenate([embedder.encode(texts), style_features(texts), context], axis=1).astype(
        np.float64
    )
    y = np.log1p(np.maximum(np.asarray(rewards, dtype=np.float64), 0.0))
    own_mask = np.asarray(own if own is not None else [False] * len(texts), dtype=bool)
    w = np.where(own_mask, config.own_post_weight, 1.0)

    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(texts))
    n_hold = max(3, round(config.holdout * len(texts)))
    hold, train = order[:n_hold], order[n_hold:]
    best_alpha, best_err = ALPHAS[0], math.inf
    for alpha in ALPHAS:
        coef, bias = _ridge(x[train], y[train], w[train], alpha)
        pred = x[hold] @ coef + bias
        err = float(np.average((pred - y[hold]) ** 2, weights=w[hold]))
        if err < best_err:
            best_alpha, best_err = alpha, err
    # the ridge's prior on a weight is N(0, σ²/α), σ² the residual variance: each head's random
    # prior is drawn from it, so the heads' spread off the data matches what the labels leave open
    prior_sd = config.prior_scale * math.sqrt(best_err / best_alpha)

    def heads(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _heads(
            x[rows], y[rows], w[rows], alpha=best_alpha, k=config.heads, prior_sd=prior_sd, rng=rng
        )

    held_w, held_b = heads(train)
    held = x[hold] @ held_w.T + held_b
    pessimistic = held.mean(axis=1) - config.pessimism * held.std(axis=1)
    rho = _spearman(pessimistic, y[hold])
    rho_mean = _spearman(held.mean(axis=1), y[hold])
    coefs, biases = heads(np.arange(len(y)))
    info = RewardModelInfo(
        bot=bot,
        version=version,
        n_train=len(texts),
        n_own=int(own_mask.sum()),
        alpha=best_alpha,
        spearman=rho,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        extra={
            "holdout_mse_log": best_err,
            "n_holdout": int(n_hold),
            "spearman_mean": rho_mean,
            "prior_sd": prior_sd,
            "fill_followers": fill,
            "predict_followers": predict_followers,
            "nominal_age_hours": nominal_age_hours,
            **(extra or {}),
        },
        heads=config.heads,
        pessimism=config.pessimism,
        n_style=N_STYLE,
        n_context=N_CONTEXT,
    )
    return RewardModel(weights=coefs.astype(np.float32), bias=biases, info=info, embedder=embedder)
