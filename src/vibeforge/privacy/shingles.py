"""Cheap, model-independent tokens, n-gram hashes and MinHash signatures.

Tokenisation: NFKC, casefold, then one token per URL, placeholder (`<url>`), @handle or
#hashtag, word (`\\w+`), or other non-space character (punctuation, emoji). It does not depend on
any model's tokenizer, so the index survives a change of base model, and an "8-token run" means
8 words-or-marks (a URL is one token, so "http://t.co/" is not a shared run).

Hashes are stable across processes and machines (BLAKE2b of each token, then a polynomial
rolling combination and a SplitMix64 finaliser, all in uint64 with wrap-around), so a persisted
index keeps working after a restart.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

import numpy as np

_TOKEN = re.compile(r"https?://\S+|<\w+>|[@#]?\w+|[^\w\s]")
_P = np.uint64(0x100000001B3)  # FNV prime: the rolling multiplier
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
EMPTY_MINHASH = np.uint32(0xFFFFFFFF)


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(unicodedata.normalize("NFKC", text).casefold())


@lru_cache(maxsize=1 << 17)
def _token_hash(token: str) -> int:
    digest = hashlib.blake2b(token.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def token_hashes(tokens: list[str]) -> np.ndarray:
    """(L,) uint64: one stable hash per token."""
    return np.fromiter((_token_hash(t) for t in tokens), dtype=np.uint64, count=len(tokens))


def mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: spreads the bits of each uint64."""
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def ngram_hashes(hashes: np.ndarray, n: int) -> np.ndarray:
    """(L - n + 1,) uint64: a hash of every run of n consecutive tokens, in order."""
    count = len(hashes) - n + 1
    if count <= 0:
        return np.empty(0, dtype=np.uint64)
    acc = np.zeros(count, dtype=np.uint64)
    for i in range(n):
        acc = acc * _P + hashes[i : i + count]
    return mix(acc)


def shingles(hashes: np.ndarray, n: int) -> np.ndarray:
    """Set elements for MinHash: token n-grams, or the whole text when it is shorter than n."""
    if len(hashes) == 0:
        return np.empty(0, dtype=np.uint64)
    return ngram_hashes(hashes, min(n, len(hashes)))


def permutations(num_perm: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(a, b): num_perm multiply-shift hash functions h(x) = (a*x + b) >> 32, a odd."""
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 2**63, size=num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
    return a, b


def minhash(elements: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(K,) uint32 signature; all-ones for an empty set (similar to nothing)."""
    if len(elements) == 0:
        return np.full(len(a), EMPTY_MINHASH, dtype=np.uint32)
    h = (elements[:, None] * a[None, :] + b[None, :]) >> np.uint64(32)  # (m, K)
    return h.min(axis=0).astype(np.uint32)


def band_keys(signatures: np.ndarray, bands: int) -> np.ndarray:
    """(D, bands) uint64 LSH keys: one hash per band of rows of each (D, K) signature."""
    d, k = signatures.shape
    rows = signatures.reshape(d, bands, k // bands).astype(np.uint64)
    acc = np.broadcast_to(np.arange(1, bands + 1, dtype=np.uint64), (d, bands)).copy()
    for r in range(rows.shape[2]):
        acc = acc * _P + rows[:, :, r]
    return mix(acc)
