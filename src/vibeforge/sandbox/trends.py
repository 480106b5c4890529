"""Trend events: from a time on, a niche's interests move toward a topic, and so do the posts
of its humans (their later scheduled posts are re-drawn from the niche's tweets nearest the
topic). Posts before the event keep their engagement."""

from __future__ import annotations

from typing import Any

import numpy as np

from vibeforge.sandbox.engine import World
from vibeforge.sandbox.problems import SandboxError


def add_trend(
    self: World, *, niche: str, text: str, at_ms: int, strength: float = 1.0
) -> dict[str, Any]:
    """Move a niche's interests toward `text` from `at_ms` on, and its humans' later posts too."""
    audience = self._require()
    if niche not in audience.niches:
        raise SandboxError(f"niche {niche!r} is not in this world; use one of {audience.niches}")
    if not 0 < strength <= 5:
        raise SandboxError(f"strength ({strength}) must be in (0, 5]; 1 is a strong trend")
    with self.lock:
        now = self.now_ms()
        if at_ms < now:
            raise SandboxError("a trend cannot start in the past; give a time >= the clock")
        from vibeforge.sandbox.corpus import niche_tweets

        pool = niche_tweets(niche, limit=max(self.spec.tweets_per_niche * 3, 300))
        embedder = self.embedder()
        matching = [t for t in pool if text.lower() in t.lower()]
        target = embedder.encode(matching if len(matching) >= 3 else [text]).mean(axis=0)
        direction = (target / max(float(np.linalg.norm(target)), 1e-9)).astype(np.float32)
        with self.store.tx() as c:
            c.execute(
                "INSERT INTO trends (niche, at_ms, text, strength, direction) "
                "VALUES (?, ?, ?, ?, ?)",
                (niche, at_ms, text, strength, direction.tobytes()),
            )
            trend_id = c.execute("SELECT last_insert_rowid()").fetchone()[0]
        # the niche's humans now post what the trend is about: resample their later posts
        later = self.store.all(
            "SELECT p.id FROM posts p JOIN users u ON u.id = p.author_id "
            "WHERE u.kind = 'human' AND p.niche = ? AND p.created_ms >= ? "
            "ORDER BY p.created_ms, p.id",
            (niche, at_ms),
        )
        if later:
            vectors = embedder.encode(pool)
            order = np.argsort(-(vectors @ direction))[: max(len(pool) // 4, 1)]
            rng = np.random.default_rng([self.seed_value, int(trend_id)])
            picks = rng.choice(order, size=len(later), replace=len(later) > len(order))
            with self.store.tx() as c:
                for (pid,), pick in zip(later, picks, strict=True):
                    c.execute(
                        "UPDATE posts SET text = ?, emb = ?, scored = 0 WHERE id = ?",
                        (pool[pick], vectors[pick].tobytes(), pid),
                    )
                    c.execute("DELETE FROM truth WHERE post_id = ?", (pid,))
            self.index.remove([r[0] for r in later])
        self.flush()
        return {
            "id": int(trend_id),
            "niche": niche,
            "text": text,
            "at_ms": at_ms,
            "strength": strength,
            "resampled_posts": len(later),
        }
