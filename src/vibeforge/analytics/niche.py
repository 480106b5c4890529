"""Which niche a text belongs to: the nearest centroid of each niche's human posts.

    centroid_n = mean of niche n's L2-normalised sentence embeddings, then L2-normalised
    niche(x)   = argmax_n cos(embed(x), centroid_n)

Used to check that a bot still writes for its niche (the share of its posts that land in
another one). `accuracy` is measured on the human posts the centroids were built from, so it is
an optimistic ceiling: what the classifier can tell apart at all, not held-out accuracy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from vibeforge.analytics.drift import Embed


class NicheClassifier:
    """Nearest-centroid niche classifier over sentence embeddings (`NicheClassifier.fit`)."""

    def __init__(
        self,
        centroids: Mapping[str, np.ndarray],
        *,
        embed: Embed,
    ) -> None:
        if len(centroids) < 2:
            raise ValueError(f"a niche classifier needs at least 2 niches, got {len(centroids)}")
        self.niches: tuple[str, ...] = tuple(sorted(centroids))
        matrix = np.stack([np.asarray(centroids[n], dtype=np.float32) for n in self.niches])
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        if not np.all(norms > 0):
            raise ValueError("every centroid must be a non-zero vector")
        self._matrix = matrix / norms  # (K, D) unit centroids
        self._embed = embed
        # set by `fit`, on the human posts it was fitted on (see the module docstring):
        self.accuracy: float | None = None  # share of all of them classified into their niche
        self.per_niche_accuracy: dict[str, float] = {}  # the same, per niche

    @classmethod
    def fit(
        cls, texts: Mapping[str, Sequence[str]], *, embed: Embed | None = None
    ) -> NicheClassifier:
        """Centroids from {niche: human texts} (default embedder: the shared MiniLM)."""
        if embed is None:
            from vibeforge.embedding import shared_embedder

            embed = shared_embedder().encode
        empty = sorted(n for n, rows in texts.items() if not rows)
        if empty:
            raise ValueError(f"niches without texts: {empty}; give each niche its human posts")
        vectors = {n: embed(list(rows)) for n, rows in texts.items()}  # niche -> (N_n, D)
        centroids = {n: v.mean(axis=0) for n, v in vectors.items()}
        model = cls(centroids, embed=embed)
        hits = {n: sum(g == n for g in model.classify_vectors(v)) for n, v in vectors.items()}
        model.per_niche_accuracy = {n: hits[n] / len(vectors[n]) for n in model.niches}
        model.accuracy = sum(hits.values()) / sum(len(v) for v in vectors.values())
        return model

    def similarities(self, vectors: np.ndarray) -> np.ndarray:
        """(N, K) cosine similarity of each embedding to each niche's centroid (`niches` order)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self._matrix.shape[1]:
            raise ValueError(
                f"vectors of shape {vectors.shape}; expected (N, {self._matrix.shape[1]})"
            )
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.where(norms > 0, norms, 1.0)) @ self._matrix.T

    def classify_vectors(self, vectors: np.ndarray) -> list[str]:
        """The nearest niche of each (already embedded) text."""
        if len(vectors) == 0:
            return []
        return [self.niches[i] for i in self.similarities(vectors).argmax(axis=1)]

    def classify(self, texts: Sequence[str]) -> list[str]:
        """The nearest niche of each text."""
        if not texts:
            return []
        return self.classify_vectors(self._embed(list(texts)))

    def off_niche_share(self, texts: Sequence[str], niche: str) -> float | None:
        """Share of `texts` classified into a niche other than `niche` (None: no texts)."""
        if niche not in self.niches:
            raise ValueError(f"unknown niche {niche!r}; the classifier knows {list(self.niches)}")
        if not texts:
            return None
        got = self.classify(texts)
        return sum(g != niche for g in got) / len(got)
