"""An in-memory index of scored posts (embedding, time, author) for the duplicate and fatigue
checks: growable numpy arrays, so a batch of posts is checked with one matrix product."""

from __future__ import annotations

import numpy as np

GONE = np.iinfo(np.int64).max  # the time of a removed post: never "earlier" than anything


class PostIndex:
    def __init__(self, dim: int) -> None:
        self.n = 0
        self.ids = np.zeros(1024, dtype=np.int64)
        self.times = np.zeros(1024, dtype=np.int64)
        self.authors = np.zeros(1024, dtype=np.int64)
        self.vecs = np.zeros((1024, dim), dtype=np.float32)
        self._where: dict[int, int] = {}

    def add(self, ids: list[int], times: list[int], authors: list[int], vecs: np.ndarray) -> None:
        need = self.n + len(ids)
        if need > len(self.ids):
            size = max(need, 2 * len(self.ids))
            for name in ("ids", "times", "authors"):
                grown = np.zeros(size, dtype=np.int64)
                grown[: self.n] = getattr(self, name)[: self.n]
                setattr(self, name, grown)
            vecs_grown = np.zeros((size, self.vecs.shape[1]), dtype=np.float32)
            vecs_grown[: self.n] = self.vecs[: self.n]
            self.vecs = vecs_grown
        sl = slice(self.n, need)
        self.ids[sl], self.times[sl], self.authors[sl] = ids, times, authors
        self.vecs[sl] = vecs
        for offset, pid in enumerate(ids):
            self._where[pid] = self.n + offset
        self.n = need

    def remove(self, ids: list[int]) -> None:
        for pid in ids:
            row = self._where.pop(pid, None)
            if row is not None:
                self.times[row] = GONE

    def earlier_max_similarity(self, vecs: np.ndarray, times: np.ndarray) -> np.ndarray:
        """(B,) highest cosine of each post to any indexed post created strictly before it."""
        if self.n == 0:
            return np.zeros(len(vecs), dtype=np.float32)
        sims = self.vecs[: self.n] @ vecs.T  # (N, B)
        earlier = self.times[: self.n, None] < times[None, :]
        sims = np.where(earlier, sims, -1.0)
        return np.maximum(sims.max(axis=0), 0.0)

    def recent_counts(self, authors: np.ndarray, times: np.ndarray, window_ms: int) -> np.ndarray:
        """(B,) posts by the same author in [t − window, t)."""
        t = self.times[: self.n, None]
        same = self.authors[: self.n, None] == authors[None, :]
        inside = (t < times[None, :]) & (t >= times[None, :] - window_ms)
        return (same & inside).sum(axis=0)
