"""Human-likeness as a reader would notice it: can a classifier tell the bot's posts from humans'?

    x_i        = sentence embedding of post i (MiniLM, L2-normalised; or vectors the caller has)
    y_i        = 1 for the bot's posts, 0 for the niche's human posts
    classifier = standardise, then L2-regularised logistic regression, classes weighted equally
    p_i        = its probability that post i is the bot's, from the fold that did not train on i
                 (stratified k-fold, shuffled with the seed)
    auc        = ROC AUC of the pooled out-of-fold p against y

AUC 0.5: the bot's posts cannot be told from its niche's humans (in what the embedding sees);
1.0: every bot post is told apart. The interval is a stratified bootstrap of the pooled
out-of-fold predictions (the discriminator is not refitted per resample, so it shows the spread
from the test posts only). With few posts an AUC near 0.5 means "could not tell", not "is human".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vibeforge.analytics.drift import Embed

MIN_PER_SIDE = 10  # fewer posts on either side give an AUC too noisy to mean anything


@dataclass(frozen=True, slots=True, kw_only=True)
class Discrimination:
    """How well a cross-validated classifier tells the bot's posts from the humans'."""

    auc: float  # pooled out-of-fold ROC AUC: 0.5 indistinguishable, 1.0 always told apart
    auc_low: float  # 2.5th percentile of the bootstrapped AUC
    auc_high: float  # 97.5th percentile
    fold_aucs: tuple[float, ...]  # each fold's own AUC (their spread is the classifier's)
    n_bot: int  # bot posts used
    n_human: int  # human posts used
    folds: int
    seed: int


def _check(n_bot: int, n_human: int, *, folds: int, min_per_side: int) -> None:
    if folds < 2:
        raise ValueError(f"folds ({folds}) must be >= 2 for cross-validation; use 5")
    if min_per_side < 2:
        raise ValueError(f"min_per_side ({min_per_side}) must be >= 2; use {MIN_PER_SIDE}")
    if min(n_bot, n_human) < max(min_per_side, folds):
        raise ValueError(
            f"too few posts to measure human-likeness: {n_bot} bot and {n_human} human posts; "
            f"each side needs at least {max(min_per_side, folds)}"
        )


def _sample(n: int, cap: int | None, rng: np.random.Generator) -> np.ndarray:
    """Indices of at most `cap` of n rows, drawn without replacement (all of them, in order,
    when there are no more than `cap`)."""
    if cap is None or n <= cap:
        return np.arange(n)
    return np.sort(rng.choice(n, size=cap, replace=False))


def _bootstrap(
    y: np.ndarray, p: np.ndarray, *, rounds: int, rng: np.random.Generator
) -> tuple[float, float]:
    from sklearn.metrics import roc_auc_score

    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    aucs = np.empty(rounds)
    for r in range(rounds):
        idx = np.concatenate(
            [
                rng.choice(pos, size=len(pos), replace=True),
                rng.choice(neg, size=len(neg), replace=True),
            ]
        )
        aucs[r] = roc_auc_score(y[idx], p[idx])
    low, high = np.percentile(aucs, [2.5, 97.5])
    return float(low), float(high)


def discriminate(
    bot: np.ndarray,
    human: np.ndarray,
    *,
    folds: int = 5,
    seed: int = 0,
    c: float = 1.0,
    max_per_side: int | None = 2000,
    min_per_side: int = MIN_PER_SIDE,
    bootstrap: int = 200,
) -> Discrimination:
    """Out-of-fold ROC AUC of a logistic regression telling `bot` (N, D) from `human` (M, D).

    `c` is the inverse L2 strength on standardised features; `max_per_side` caps each side by
    a seeded sample (bounds the cost; the classes are weighted equally whatever their sizes).
    Deterministic for a given seed. Raises ValueError with fewer than `min_per_side` (or
    `folds`) rows on a side.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    bot, human = np.asarray(bot, dtype=np.float64), np.asarray(human, dtype=np.float64)
    if bot.ndim != 2 or human.ndim != 2 or bot.shape[1] != human.shape[1]:
        raise ValueError(
            f"bot {bot.shape} and human {human.shape} must be (N, D) arrays of the same width"
        )
    if not (np.isfinite(bot).all() and np.isfinite(human).all()):
        raise ValueError("embeddings hold NaN or infinite values; embed every text first")
    if c <= 0:
        raise ValueError(f"c ({c}) must be > 0; use 1.0")
    if bootstrap < 0:
        raise ValueError(f"bootstrap ({bootstrap}) must be >= 0; use 200 (0: no interval)")
    _check(len(bot), len(human), folds=folds, min_per_side=min_per_side)
    rng = np.random.default_rng(seed)
    bot = bot[_sample(len(bot), max_per_side, rng)]
    human = human[_sample(len(human), max_per_side, rng)]
    return _cross_validated(
        np.concatenate([bot, human]),  # (N + M, D)
        n_bot=len(bot),
        model=lambda: make_pipeline(
            StandardScaler(), LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
        ),
        folds=folds,
        seed=seed,
        bootstrap=bootstrap,
        rng=rng,
    )


def ngram_human_likeness(
    bot_texts: Sequence[str],
    human_texts: Sequence[str],
    *,
    folds: int = 5,
    seed: int = 0,
    c: float = 1.0,
    max_per_side: int | None = 2000,
    min_per_side: int = MIN_PER_SIDE,
    bootstrap: int = 200,
) -> Discrimination:
    """The same measure with other eyes: TF-IDF of character 2-4-grams (within word bounds,
    sublinear counts; fitted inside each fold), then the logistic regression. It sees
    punctuation, spelling and word forms that sentence embeddings smooth over, so a bot tuned
    against an embedding discriminator (learn.critic) is also judged by one it never met."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    if c <= 0:
        raise ValueError(f"c ({c}) must be > 0; use 1.0")
    if bootstrap < 0:
        raise ValueError(f"bootstrap ({bootstrap}) must be >= 0; use 200 (0: no interval)")
    _check(len(bot_texts), len(human_texts), folds=folds, min_per_side=min_per_side)
    rng = np.random.default_rng(seed)
    bot = [bot_texts[i] for i in _sample(len(bot_texts), max_per_side, rng)]
    human = [human_texts[i] for i in _sample(len(human_texts), max_per_side, rng)]
    return _cross_validated(
        np.array(bot + human, dtype=object),
        n_bot=len(bot),
        model=lambda: make_pipeline(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True),
            LogisticRegression(C=c, class_weight="balanced", max_iter=2000),
        ),
        folds=folds,
        seed=seed,
        bootstrap=bootstrap,
        rng=rng,
    )


def _cross_validated(
    x: np.ndarray,
    *,
    n_bot: int,
    model: Callable[[], Any],
    folds: int,
    seed: int,
    bootstrap: int,
    rng: np.random.Generator,
) -> Discrimination:
    """Pooled out-of-fold AUC of `model()` on rows x (the first n_bot are the bot's)."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    n_human = len(x) - n_bot
    y = np.concatenate([np.ones(n_bot, dtype=int), np.zeros(n_human, dtype=int)])
    p = np.empty(len(y))  # out-of-fold probability of "bot"
    fold_aucs = []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(np.zeros(len(y)), y):
        fitted = model()
        fitted.fit(x[train], y[train])
        p[test] = fitted.predict_proba(x[test])[:, 1]
        fold_aucs.append(float(roc_auc_score(y[test], p[test])))
    auc = float(roc_auc_score(y, p))
    low, high = _bootstrap(y, p, rounds=bootstrap, rng=rng) if bootstrap else (auc, auc)
    return Discrimination(
        auc=auc,
        auc_low=low,
        auc_high=high,
        fold_aucs=tuple(fold_aucs),
        n_bot=n_bot,
        n_human=n_human,
        folds=folds,
        seed=seed,
    )


def human_likeness(
    bot_texts: Sequence[str],
    human_texts: Sequence[str],
    *,
    embed: Embed | None = None,
    folds: int = 5,
    seed: int = 0,
    c: float = 1.0,
    max_per_side: int | None = 2000,
    min_per_side: int = MIN_PER_SIDE,
    bootstrap: int = 200,
) -> Discrimination:
    """`discriminate` on sentence embeddings of the texts (default: the shared MiniLM).

    Checks the counts before embedding, so too few posts fail fast, and embeds only the
    `max_per_side` sample of each side.
    """
    _check(len(bot_texts), len(human_texts), folds=folds, min_per_side=min_per_side)
    if embed is None:
        from vibeforge.embedding import shared_embedder

        embed = shared_embedder().encode
    rng = np.random.default_rng(seed)
    bot_rows = _sample(len(bot_texts), max_per_side, rng)
    human_rows = _sample(len(human_texts), max_per_side, rng)
    return discriminate(
        embed([bot_texts[i] for i in bot_rows]),
        embed([human_texts[i] for i in human_rows]),
        folds=folds,
        seed=seed,
        c=c,
        max_per_side=max_per_side,
        min_per_side=min_per_side,
        bootstrap=bootstrap,
    )
