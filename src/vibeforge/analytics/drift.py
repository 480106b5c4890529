"""Language shift between time windows: embedding-centroid drift and token-distribution divergence.

For each window (fixed width, aligned to the epoch; empty windows are skipped):

    centroid_w   = mean of the window's L2-normalised sentence embeddings
    shift_w      = 1 − cos(centroid_w, centroid_prev)    (cosine distance, 0 … 2)
    from_start_w = 1 − cos(centroid_w, centroid_first)
    jsd_w        = JS(p_w ‖ p_prev), base 2 (0 … 1), on content-word/hashtag frequencies

The first non-empty window has no predecessor, so its shift and divergence are None.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from vibeforge.analytics.text import token_counts
from vibeforge.domain import Post

Embed = Callable[[Sequence[str]], np.ndarray]  # texts -> (N, D) L2-normalised embeddings


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowShift:
    start: datetime
    end: datetime
    posts: int
    centroid_shift: float | None  # cosine distance to the previous non-empty window's centroid
    drift_from_start: float | None  # cosine distance to the first window's centroid
    token_jsd: float | None  # Jensen-Shannon divergence (bits) to the previous window's tokens


def cosine_distance(a: np.ndarray, b: np.ndarray) -> float:
    """1 − cos(a, b); 1.0 when either vector is zero (no direction to compare)."""
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 or nb == 0.0:
        return 1.0
    return float(1.0 - np.dot(a, b) / (na * nb))


def js_divergence(p: Mapping[str, float], q: Mapping[str, float]) -> float:
    """Jensen-Shannon divergence in bits between two frequency tables (normalised here)."""
    tp, tq = float(sum(p.values())), float(sum(q.values()))
    if tp <= 0 or tq <= 0:
        raise ValueError("js_divergence needs two non-empty distributions")
    total = 0.0
    for key in set(p) | set(q):
        a = p.get(key, 0.0) / tp
        b = q.get(key, 0.0) / tq
        m = (a + b) / 2
        if a > 0:
            total += 0.5 * a * math.log2(a / m)
        if b > 0:
            total += 0.5 * b * math.log2(b / m)
    return min(max(total, 0.0), 1.0)


def _windows(times: Sequence[datetime], width: float) -> dict[int, list[int]]:
    groups: dict[int, list[int]] = {}
    for i, ts in enumerate(times):
        groups.setdefault(math.floor(ts.timestamp() / width), []).append(i)
    return dict(sorted(groups.items()))


def language_shift(
    texts: Sequence[str],
    times: Sequence[datetime],
    *,
    window_s: float,
    vectors: np.ndarray | None = None,
) -> list[WindowShift]:
    """Per-window drift of texts posted at `times`; `vectors` (N, D) enable centroid drift.

    Rows of `vectors` that are NaN are left out of the centroids (texts not embedded, e.g. when
    sampling); a window with no embedded text has no centroid and is skipped for drift.
    """
    if len(texts) != len(times):
        raise ValueError(f"{len(texts)} texts but {len(times)} times; pass one time per text")
    if vectors is not None and vectors.shape[0] != len(texts):
        raise ValueError(f"vectors has {vectors.shape[0]} rows for {len(texts)} texts")
    if window_s <= 0:
        raise ValueError(f"window_s ({window_s}) must be > 0; use e.g. 21600 (six hours)")
    out: list[WindowShift] = []
    first_c: np.ndarray | None = None
    prev_c: np.ndarray | None = None
    prev_tokens: Counter[str] | None = None
    for w, idx in _windows(times, window_s).items():
        tokens = token_counts(texts[i] for i in idx)
        centroid = None
        if vectors is not None:
            rows = vectors[idx]  # (n_w, D)
            rows = rows[np.isfinite(rows).all(axis=1)]
            centroid = rows.mean(axis=0) if len(rows) else None  # (D,)
        shift = from_start = jsd = None
        if centroid is not None and prev_c is not None and first_c is not None:
            shift = cosine_distance(centroid, prev_c)
            from_start = cosine_distance(centroid, first_c)
        if prev_tokens is not None and tokens and prev_tokens:
            jsd = js_divergence(tokens, prev_tokens)
        out.append(
            WindowShift(
                start=datetime.fromtimestamp(w * window_s, tz=UTC),
                end=datetime.fromtimestamp((w + 1) * window_s, tz=UTC),
                posts=len(idx),
                centroid_shift=shift,
                drift_from_start=from_start,
                token_jsd=jsd,
            )
        )
        if centroid is not None:
            first_c = centroid if first_c is None else first_c
            prev_c = centroid
        if tokens:
            prev_tokens = tokens
    return out


def sample_per_window(
    times: Sequence[datetime], *, window_s: float, k: int, seed: int = 0
) -> list[int]:
    """Indices of at most `k` texts per window, drawn reproducibly (to bound embedding cost)."""
    rng = random.Random(seed)
    chosen: list[int] = []
    for idx in _windows(times, window_s).values():
        chosen.extend(idx if len(idx) <= k else sorted(rng.sample(idx, k)))
    return chosen


def post_shift(
    posts: Sequence[Post],
    *,
    window_s: float,
    embed: Embed | None = None,
    embed_per_window: int | None = None,
) -> list[WindowShift]:
    """`language_shift` of stored posts; without `embed` (e.g. the shared embedder) tokens only.

    `embed_per_window` bounds the texts embedded per window (a seeded sample): centroids of a
    few dozen texts are stable, and embedding is the expensive part on a CPU.
    """
    ordered = sorted(posts, key=lambda p: p.created_at)
    texts = [p.text for p in ordered]
    times = [p.created_at for p in ordered]
    vectors = None
    if embed is not None and texts:
        rows = list(range(len(texts)))
        if embed_per_window is not None:
            rows = sample_per_window(times, window_s=window_s, k=embed_per_window)
        sub = embed([texts[i] for i in rows])  # (len(rows), D)
        vectors = np.full((len(texts), sub.shape[1]), np.nan, dtype=np.float32)
        vectors[rows] = sub
    return language_shift(
        texts, [p.created_at for p in ordered], window_s=window_s, vectors=vectors
    )
