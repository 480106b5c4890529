"""Trend events: from a time on, a niche's interests move toward a topic, and so do the posts
of its humans (their later scheduled posts are re-drawn from the niche's tweets nearest the
topic). Posts before the event keep their engagement.

This module owns the `trends` table and the arithmetic of an event; `World.add_trend` checks
the request against the world and runs these steps under the world's lock.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vibeforge.embedding import Embedder
from vibeforge.sandbox.problems import SandboxError
from vibeforge.sandbox.store import SandboxStore

Trend = tuple[int, str, int, float, np.ndarray]  # id, niche, at_ms, strength, unit direction


def check_trend(*, niches: Sequence[str], niche: str, strength: float) -> None:
    if niche not in niches:
        raise SandboxError(f"niche {niche!r} is not in this world; use one of {niches}")
    if not 0 < strength <= 5:
        raise SandboxError(f"strength ({strength}) must be in (0, 5]; 1 is a strong trend")


def list_trends(store: SandboxStore) -> list[Trend]:
    rows = store.all("SELECT id, niche, at_ms, strength, direction FROM trends ORDER BY at_ms, id")
    return [(r[0], r[1], r[2], r[3], np.frombuffer(r[4], dtype=np.float32)) for r in rows]


def trend_direction(pool: Sequence[str], text: str, *, embedder: Embedder) -> np.ndarray:
    """The topic as a unit vector: the mean of the niche tweets that mention `text` (at least
    three), else of `text` itself."""
    matching = [t for t in pool if text.lower() in t.lower()]
    target = embedder.encode(matching if len(matching) >= 3 else [text]).mean(axis=0)
    return (target / max(float(np.linalg.norm(target)), 1e-9)).astype(np.float32)


def record_trend(
    store: SandboxStore,
    *,
    niche: str,
    text: str,
    at_ms: int,
    strength: float,
    direction: np.ndarray,
) -> int:
    with store.tx() as c:
        c.execute(
            "INSERT INTO trends (niche, at_ms, text, strength, direction) VALUES (?, ?, ?, ?, ?)",
            (niche, at_ms, text, strength, direction.tobytes()),
        )
        return int(c.execute("SELECT last_insert_rowid()").fetchone()[0])


def resample_humans(
    store: SandboxStore,
    *,
    niche: str,
    at_ms: int,
    pool: Sequence[str],
    direction: np.ndarray,
    embedder: Embedder,
    seed: int,
    trend_id: int,
) -> list[int]:
    """Re-draw the niche's human posts from `at_ms` on from the quarter of `pool` nearest the
    topic; their engagement is dropped, to be scored again. Returns the ids of those posts."""
    later = store.all(
        "SELECT p.id FROM posts p JOIN users u ON u.id = p.author_id "
        "WHERE u.kind = 'human' AND p.niche = ? AND p.created_ms >= ? "
        "ORDER BY p.created_ms, p.id",
        (niche, at_ms),
    )
    if not later:
        return []
    vectors = embedder.encode(pool)
    order = np.argsort(-(vectors @ direction))[: max(len(pool) // 4, 1)]
    rng = np.random.default_rng([seed, trend_id])
    picks = rng.choice(order, size=len(later), replace=len(later) > len(order))
    with store.tx() as c:
        for (pid,), pick in zip(later, picks, strict=True):
            c.execute(
                "UPDATE posts SET text = ?, emb = ?, scored = 0 WHERE id = ?",
                (pool[pick], vectors[pick].tobytes(), pid),
            )
            c.execute("DELETE FROM truth WHERE post_id = ?", (pid,))
    return [r[0] for r in later]
