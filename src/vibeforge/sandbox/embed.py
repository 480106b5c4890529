"""The sandbox's text embedders, chosen by name (a world's spec names its embedder).

- `minilm` (default): all-MiniLM-L6-v2 (`vibeforge.embedding.SentenceEmbedder`), its vectors
  cached on disk keyed by a hash of the text, so a world's corpus is embedded once per machine.
- `hashing`: a hashed bag of words and word bigrams projected to the same 384 dimensions with
  random signs (the "hashing trick"), L2-normalised. Deterministic, instant and dependency-free;
  texts that share words are similar, so niches separate, but paraphrases do not. Meant for fast
  tests and quick experiments; the slow tests and the demo use `minilm`.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from vibeforge.embedding import DIM, Embedder, SentenceEmbedder, shared_embedder
from vibeforge.sandbox.text import URL_RE, WORD_RE


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


EMBEDDERS = ("minilm", "hashing")


def make_embedder(name: str, *, cache_dir: Path | None = None) -> Embedder:
    """The embedder called `name`; MiniLM without a cache folder is the process's shared one."""
    if name == "hashing":
        return HashingEmbedder()
    if name == "minilm":
        if cache_dir is None:
            return shared_embedder()
        return SentenceEmbedder(cache_size=None, cache_dir=cache_dir)
    raise ValueError(f"unknown embedder {name!r}; use one of {', '.join(EMBEDDERS)}")
