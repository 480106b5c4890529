"""A per-bot reward model: predicts a post's reward for the bot's audience from its text.

    features = MiniLM sentence embedding (384-d, L2-normalised) ⊕ style features
    target   = log1p(max(reward, 0))                      (engagement is heavy-tailed)
    head     = ridge regression, alpha picked on a held-out split, then refit on all data

Trained on the timeline's own posts with their metrics (free labels, normalised by reach) and
on the bot's published posts (weighted up: they are exactly the policy's distribution).
Each fit is a new version on disk (`.npz` + `.json`), with the held-out Spearman correlation.
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
_URLISH = re.compile(r"https?://|<url>", re.I)
_VERSION_FILE = re.compile(r"^v(\d+)\.json$")


def style_features(texts: Sequence[str]) -> np.ndarray:
    """A few cheap style signals the audience reacts to (questions, length, hashtags...)."""
    rows = []
    for t in texts:
        words = t.split()
        rows.append(
            [
                float("?" in t),
                float("!" in t),
                min(len(t), 280) / 280.0,
                min(len(words), 60) / 60.0,
                min(t.count("#"), 5) / 5.0,
                float(bool(_URLISH.search(t))),
                sum(c.isupper() for c in t) / max(len(t), 1),
            ]
        )
    return np.asarray(rows, dtype=np.float32).reshape(len(texts), 7)


@dataclass(frozen=True, slots=True, kw_only=True)
class RewardModelConfig:
    holdout: float = 0.2  # fraction held out to pick alpha and report Spearman
    min_examples: int = 20  # fewer than this: refuse to fit
    own_post_weight: float = 3.0  # weight of the bot's published posts vs timeline posts
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.05 <= self.holdout <= 0.5:
            raise ValueError(f"holdout ({self.holdout}) must be within [0.05, 0.5]; 0.2 is typical")
        if self.min_examples < 5:
            raise ValueError(f"min_examples ({self.min_examples}) must be >= 5 to hold some out")
        if self.own_post_weight <= 0:
            raise ValueError("own_post_weight must be > 0")


@dataclass(frozen=True, slots=True, kw_only=True)
class RewardModelInfo:
    bot: str
    version: int
    n_train: int
    n_own: int
    alpha: float
    spearman: float | None  # on the held-out split
    created_at: str
    extra: dict = field(default_factory=dict)


class RewardModel:
    """Ridge head on sentence embeddings; `predict(texts)` returns rewards (original scale)."""

    def __init__(
        self,
        *,
        weights: np.ndarray,
        bias: float,
        info: RewardModelInfo,
        embedder: Embedder | None = None,
    ) -> None:
        self.weights = weights.astype(np.float32)
        self.bias = float(bias)
        self.info = info
        self._embedder = embedder or shared_embedder()

    def features(self, texts: Sequence[str]) -> np.ndarray:
        return np.concatenate([self._embedder.encode(texts), style_features(texts)], axis=1)

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0, dtype=np.float32)
        raw = self.features(texts) @ self.weights + self.bias
        return np.expm1(np.clip(raw, 0.0, 20.0)).astype(np.float32)

    # ------------------------------------------------------------ persistence

    def save(self, directory: Path) -> Path:
        """Write `v<N>.npz` + `v<N>.json` atomically; returns the npz path."""
        directory.mkdir(parents=True, exist_ok=True)
        stem = directory / f"v{self.info.version}"
        atomic_write(
            stem.with_suffix(".npz"),
            lambda f: np.savez(f, weights=self.weights, bias=np.float32(self.bias)),
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
            weights, bias = data["weights"], float(data["bias"])
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


def _spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    from scipy.stats import spearmanr

    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    rho = float(spearmanr(a, b).statistic)
    return None if math.isnan(rho) else rho


def fit_reward_model(
    *,
    bot: str,
    texts: Sequence[str],
    rewards: Sequence[float],
    own: Sequence[bool] | None = None,
    version: int = 1,
    config: RewardModelConfig | None = None,
    embedder: Embedder | None = None,
) -> RewardModel:
    """Fit a new version; raises ValueError when there is too little data."""
    config = config or RewardModelConfig()
    if len(texts) != len(rewards) or (own is not None and len(own) != len(texts)):
        raise ValueError("texts, rewards (and own) must have the same length")
    if len(texts) < config.min_examples:
        raise ValueError(
            f"only {len(texts)} labelled posts for {bot!r}; need {config.min_examples} "
            "(wait for more ingest or lower min_examples)"
        )
    embedder = embedder or shared_embedder()
    x = np.concatenate([embedder.encode(texts), style_features(texts)], axis=1).astype(np.float64)
    y = np.log1p(np.maximum(np.asarray(rewards, dtype=np.float64), 0.0))
    own_mask = np.asarray(own if own is not None else [False] * len(texts), dtype=bool)
    w = np.where(own_mask, config.own_post_weight, 1.0)

    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(texts))
    n_hold = max(3, round(config.holdout * len(texts)))
    hold, train = order[:n_hold], order[n_hold:]
    best_alpha, best_rho, best_err = ALPHAS[0], None, math.inf
    for alpha in ALPHAS:
        coef, bias = _ridge(x[train], y[train], w[train], alpha)
        pred = x[hold] @ coef + bias
        err = float(np.average((pred - y[hold]) ** 2, weights=w[hold]))
        if err < best_err:
            best_alpha, best_err, best_rho = alpha, err, _spearman(pred, y[hold])
    coef, bias = _ridge(x, y, w, best_alpha)
    info = RewardModelInfo(
        bot=bot,
        version=version,
        n_train=len(texts),
        n_own=int(own_mask.sum()),
        alpha=best_alpha,
        spearman=best_rho,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        extra={"holdout_mse_log": best_err, "n_holdout": int(n_hold)},
    )
    return RewardModel(weights=coef.astype(np.float32), bias=bias, info=info, embedder=embedder)
