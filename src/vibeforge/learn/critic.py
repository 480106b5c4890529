"""Human-likeness in the RL reward: a discriminator refitted as the policy moves.

An engagement reward alone pays for whatever the audience model likes, and the policy drifts
to a style its niche's humans do not write (in the sandbox: every post a question). Readers
notice; so does a classifier. The critic is that classifier, turned into a reward term:

    x              sentence embedding of a text (MiniLM; what analytics.humanlike measures with)
    humans         the niche's posts as the bot reads them (scrubbed, no placeholders)
    bot            the bot's earlier RL samples (a buffer of the newest `max_bot`; a group
                   joins it after it is scored, so no text is scored by a fit that saw it)
    h(x)           log-odds that x is a human post, from a standardised, L2-regularised
                   logistic regression of humans vs bot, classes weighted equally,
                   refitted for every group it scores (a GAN's discriminator, one step)
    reward(x)      rm(x) + λ · s · clip(h(x) − median_group(h), −c, c)
                   s = the group's spread of rm (max − min, at least `min_scale`)

so a sample that reads one log-odd more human than its group's median gains λ·s, whatever
the scale of the reward model; λ = 0 turns the critic off. Guard failures are applied after
(learn.guard.guarded_rewards still ranks them below the group). The critic needs
`min_per_side` texts on each side before it says anything (until then h = 0).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vibeforge.embedding import Embedder


@dataclass(frozen=True, slots=True, kw_only=True)
class CriticConfig:
    weight: float = 0.2  # λ: reward per log-odd of human-likeness, in units of the group spread
    clip: float = 3.0  # c: |h − median| counts up to this many log-odds
    max_human: int = 256  # newest human posts the critic compares with
    max_bot: int = 256  # newest bot samples kept per bot
    min_per_side: int = 16
    # C of the logistic regression: 384 standardised dimensions and a few hundred texts are
    # separable at any C; a small one keeps the log-odds of new texts smooth
    regularisation: float = 0.1
    min_scale: float = 1.0  # s never below this (a group whose rm is flat still feels h)

    def __post_init__(self) -> None:
        if self.weight < 0:
            raise ValueError(f"critic weight ({self.weight}) must be >= 0; 0 turns it off")
        if self.clip <= 0:
            raise ValueError(f"critic clip ({self.clip}) must be > 0")
        if self.min_per_side < 2:
            raise ValueError(f"min_per_side ({self.min_per_side}) must be >= 2")
        if self.max_human < self.min_per_side or self.max_bot < self.min_per_side:
            raise ValueError("max_human and max_bot must be >= min_per_side")
        if self.regularisation <= 0:
            raise ValueError(f"regularisation ({self.regularisation}) must be > 0")


class HumanCritic:
    """Scores texts by how human they read next to one bot's own recent samples."""

    def __init__(self, embedder: Embedder, config: CriticConfig | None = None) -> None:
        self.embedder = embedder
        self.config = config or CriticConfig()
        self._bot: dict[str, deque[np.ndarray]] = {}

    def observe(self, bot: str, vectors: np.ndarray) -> None:
        """Add the bot's newest samples (their embeddings) to its buffer."""
        buffer = self._bot.setdefault(bot, deque(maxlen=self.config.max_bot))
        buffer.extend(np.asarray(v, dtype=np.float32) for v in vectors)

    def log_odds(self, bot: str, texts: Sequence[str], humans: Sequence[str]) -> np.ndarray:
        """h per text (positive: reads like the humans), from a fit on the bot's earlier samples;
        the texts then join its buffer. Zeros until both sides have `min_per_side` texts."""
        c = self.config
        if not texts:
            return np.zeros(0)
        x = np.asarray(self.embedder.encode(list(texts)), dtype=np.float32)
        bot_side = list(self._bot.get(bot, ()))
        self.observe(bot, x)  # after the fit: a text is never scored by a fit that saw it
        humans = list(humans)[: c.max_human]
        if len(bot_side) < c.min_per_side or len(humans) < c.min_per_side:
            return np.zeros(len(texts))
        h = np.asarray(self.embedder.encode(humans), dtype=np.float32)
        return _fit_log_odds(h, np.stack(bot_side), x, regularisation=c.regularisation)

    def rewards(
        self,
        bot: str,
        rm: Sequence[float] | np.ndarray,
        texts: Sequence[str],
        humans: Sequence[str],
    ) -> list[float]:
        """One group's rewards with the human-likeness term added (module docstring)."""
        values = [float(v) for v in rm]
        if len(values) != len(texts):
            raise ValueError(f"{len(values)} rewards but {len(texts)} texts")
        if self.config.weight == 0 or not values:
            return values
        return blend(values, self.log_odds(bot, texts, humans), config=self.config)


def blend(rm: Sequence[float], log_odds: np.ndarray, *, config: CriticConfig) -> list[float]:
    """rm + λ · s · clip(h − median(h), −c, c), s = max(max(rm) − min(rm), min_scale)."""
    values = np.asarray(rm, dtype=np.float64)
    h = np.asarray(log_odds, dtype=np.float64)
    if h.shape != values.shape:
        raise ValueError(f"{values.size} rewards but {h.size} log-odds")
    if values.size == 0:
        return []
    scale = max(float(values.max() - values.min()), config.min_scale)
    centred = np.clip(h - np.median(h), -config.clip, config.clip)
    return [float(v) for v in values + config.weight * scale * centred]


def _fit_log_odds(
    humans: np.ndarray, bot: np.ndarray, x: np.ndarray, *, regularisation: float
) -> np.ndarray:
    """Logistic regression humans (1) vs bot (0), standardised, balanced; its log-odds of x."""
    from sklearn.linear_model import LogisticRegression

    data = np.concatenate([humans, bot]).astype(np.float64)
    y = np.concatenate([np.ones(len(humans)), np.zeros(len(bot))])
    mean, std = data.mean(axis=0), data.std(axis=0) + 1e-6
    clf = LogisticRegression(C=regularisation, class_weight="balanced", max_iter=500)
    clf.fit((data - mean) / std, y)
    return np.asarray(clf.decision_function((x.astype(np.float64) - mean) / std))
