"""The regurgitation guard's index: hashed token 8-grams and MinHash over everything ingested.

`check(text)` answers two questions about a candidate post before it is published:

- does it share a run of `ngram` (8) tokens with any ingested post?  (exact, by hashed n-grams:
  false positives only on a 64-bit hash collision)
- how close is it to its nearest ingested post?  (MinHash Jaccard estimate over word 3-gram
  shingles, candidates found by LSH banding; posts shorter than 8 tokens are caught here)

Layout. The index is a list of immutable segments, oldest first. Each `add(texts)` seals one
new segment (sorted unique n-gram hashes, signatures, sorted LSH band keys); the newest
segments are merged while they are small next to their predecessor (like a log-structured
merge tree), so a check touches O(log N) segments. Segments stop growing at an eighth of the
memory cap.

Memory bound and eviction. When the arrays of all segments exceed `max_bytes`, the oldest
segments are dropped whole until the index fits: the guard forgets the oldest ingested posts
first, at most an eighth of the cap at a time.

Persistence. With a directory, every add writes its new segment file (`seg-<id>.npz`), then the
manifest (`index.json`) atomically (write to a temporary file, fsync, rename); the manifest is
the commit point, and files it no longer lists are removed. One process writes at a time;
readers see a consistent snapshot.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from vibeforge.atomic import atomic_write, atomic_write_json
from vibeforge.errors import VibeforgeError
from vibeforge.privacy import shingles as sh

FORMAT = 1
MANIFEST = "index.json"
MAX_CANDIDATES_PER_BAND = 64  # identical short posts share keys; a few suffice to score them


class MemorizationIndexError(VibeforgeError):
    """The index folder is unreadable, corrupt or was built with another configuration."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexConfig:
    ngram: int = 8  # a shared run of this many tokens is regurgitation
    shingle: int = 3  # word n-grams that MinHash compares
    num_perm: int = 64  # MinHash signature length
    bands: int = 16  # LSH bands: candidates appear from a similarity near (1/bands)^(1/rows)
    max_bytes: int = 256 * 2**20  # memory cap of all segments; the oldest are evicted past it
    max_shared_ngrams: int = 0  # more shared n-grams than this fails the check
    near_duplicate: float = 0.8  # estimated Jaccard at or above this fails the check
    seed: int = 20260101  # MinHash permutations (persisted indexes must keep it)

    def __post_init__(self) -> None:
        if self.ngram < 2:
            raise ValueError(f"ngram ({self.ngram}) must be >= 2; the guard uses 8")
        if self.shingle < 1:
            raise ValueError(f"shingle ({self.shingle}) must be >= 1; try 3")
        if self.bands < 1 or self.num_perm % self.bands:
            raise ValueError(
                f"num_perm ({self.num_perm}) must be a multiple of bands ({self.bands}); "
                f"use num_perm={max(self.bands, 1) * 4}"
            )
        if self.max_bytes < 2**20:
            raise ValueError(f"max_bytes ({self.max_bytes}) must be >= 1 MiB (1048576)")
        if self.max_shared_ngrams < 0:
            raise ValueError("max_shared_ngrams must be >= 0 (0: no shared 8-gram at all)")
        if not 0.0 < self.near_duplicate <= 1.0:
            raise ValueError(f"near_duplicate ({self.near_duplicate}) must be in (0, 1]")

    def shape(self) -> dict[str, int]:
        """The fields a persisted index must share with the config that opens it."""
        return {
            "ngram": self.ngram,
            "shingle": self.shingle,
            "num_perm": self.num_perm,
            "bands": self.bands,
            "seed": self.seed,
        }


@dataclass(frozen=True, kw_only=True)  # no slots: the guard reads vars(verdict)
class Verdict:
    ok: bool  # False: regurgitation or near-duplicate of an ingested post
    overlap: float  # share of the text's n-grams found in the index (0..1)
    matched_ngrams: int  # how many of the text's n-grams were found
    nearest_similarity: float  # estimated Jaccard to the nearest ingested post (0 if none near)
    longest_match: int  # tokens in the longest run shared with the index (0 if none)


@dataclass(frozen=True, slots=True, eq=False)
class _Segment:
    id: int
    docs: int
    ngrams: np.ndarray  # (N,) uint64 sorted unique
    signatures: np.ndarray  # (D, K) uint32
    keys: np.ndarray  # (D * bands,) uint64 sorted band keys
    owners: np.ndarray  # (D * bands,) uint32 doc row of each key

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.ngrams, self.signatures, self.keys, self.owners))


class MemorizationIndex:
    """Hashed n-grams + MinHash over ingested posts; `check` before anything is published."""

    def __init__(self, config: IndexConfig | None = None, *, directory: Path | None = None):
        self.config = config or IndexConfig()
        self.directory = Path(directory) if directory is not None else None
        self._a, self._b = sh.permutations(self.config.num_perm, seed=self.config.seed)
        self._segments: tuple[_Segment, ...] = ()
        self._next_id = 1
        self._lock = threading.Lock()

    @classmethod
    def open(cls, directory: Path, *, config: IndexConfig | None = None) -> MemorizationIndex:
        """Load the index persisted in `directory`, or start an empty one there."""
        index = cls(config, directory=directory)
        index._load()
        return index

    # -- adding ----------------------------------------------------------------------------

    def add(self, texts: Sequence[str]) -> int:
        """Index a batch of (scrubbed) posts, persist it, evict past the cap; returns the count."""
        if isinstance(texts, str):
            raise TypeError("add takes a list of texts, not one string")
        texts = [t for t in texts if t]
        if not texts:
            return 0
        with self._lock:
            segment = self._build(texts, seg_id=self._next_id)
            self._next_id += 1
            segments, written = self._compact([*self._segments, segment])
            segments = self._evict(segments)
            if self.directory is not None:
                self._persist(segments, written)
            self._segments = segments
        return len(texts)

    def _build(self, texts: Sequence[str], *, seg_id: int) -> _Segment:
        cfg = self.config
        grams, sigs = [], np.empty((len(texts), cfg.num_perm), dtype=np.uint32)
        for row, text in enumerate(texts):
            hashes = sh.token_hashes(sh.tokenize(text))
            grams.append(sh.ngram_hashes(hashes, cfg.ngram))
            sigs[row] = sh.minhash(sh.shingles(hashes, cfg.shingle), self._a, self._b)
        ngrams = np.unique(np.concatenate(grams)) if grams else np.empty(0, np.uint64)
        return _segment(seg_id, ngrams, sigs, bands=cfg.bands)

    def _compact(self, segments: list[_Segment]) -> tuple[tuple[_Segment, ...], list[_Segment]]:
        """Merge the newest segments while small next to their predecessor; return new ones."""
        limit = self.config.max_bytes // 8
        fresh = [segments[-1]]
        while len(segments) >= 2:
            older, newer = segments[-2], segments[-1]
            if newer.nbytes * 2 < older.nbytes or older.nbytes + newer.nbytes > limit:
                break
            merged = _merge(older, newer, seg_id=self._next_id, bands=self.config.bands)
            self._next_id += 1
            segments[-2:] = [merged]
            fresh.append(merged)
        return tuple(segments), [s for s in fresh if s in segments]

    def _evict(self, segments: tuple[_Segment, ...]) -> tuple[_Segment, ...]:
        total = sum(s.nbytes for s in segments)
        kept = list(segments)
        while len(kept) > 1 and total > self.config.max_bytes:
            total -= kept.pop(0).nbytes
        return tuple(kept)

    # -- forgetting ------------------------------------------------------------------------

    def remove(self, texts: Sequence[str], *, keep: Sequence[str] = ()) -> int:
        """Forget posts (compliance: deleted or withheld on the platform): their n-grams and
        MinHash rows leave every segment and the index is persisted like an add. N-grams (and
        identical signatures) that `keep`, the posts still stored, share with them stay, so the
        guard still catches those. Returns how many signature rows were dropped.

        Segments hold the union of their posts' n-grams, so an n-gram shared with an ingested
        post no longer stored (evicted, or purged from the store) and not in `keep` goes too.
        """
        if isinstance(texts, str) or isinstance(keep, str):
            raise TypeError("remove takes lists of texts, not one string")
        texts = [t for t in texts if t]
        if not texts:
            return 0
        cfg = self.config
        grams, sigs = [], []
        for text in texts:
            hashes = sh.token_hashes(sh.tokenize(text))
            grams.append(sh.ngram_hashes(hashes, cfg.ngram))
            sigs.append(sh.minhash(sh.shingles(hashes, cfg.shingle), self._a, self._b))
        gone = np.unique(np.concatenate(grams))
        gone_sigs = {sig.tobytes() for sig in sigs}
        kept_hashes = [sh.token_hashes(sh.tokenize(t)) for t in keep if t]
        kept_grams = [sh.ngram_hashes(h, cfg.ngram) for h in kept_hashes]
        if kept_grams:
            flat = np.concatenate(kept_grams)
            hits = np.isin(flat, gone)
            bounds = np.cumsum([0, *(len(g) for g in kept_grams)])
            gone = np.setdiff1d(gone, flat[hits])
            for i, hashes in enumerate(kept_hashes):
                # a kept post that shares n-grams with a removed one (or is too short to have
                # any) may be its duplicate: its signature row stays
                if hits[bounds[i] : bounds[i + 1]].any() or bounds[i] == bounds[i + 1]:
                    sig = sh.minhash(sh.shingles(hashes, cfg.shingle), self._a, self._b)
                    gone_sigs.discard(sig.tobytes())
        dropped = 0
        with self._lock:
            segments, written = [], []
            for seg in self._segments:
                rows = np.array([sig.tobytes() not in gone_sigs for sig in seg.signatures], bool)
                grams_kept = seg.ngrams[~np.isin(seg.ngrams, gone)] if len(gone) else seg.ngrams
                if rows.all() and len(grams_kept) == len(seg.ngrams):
                    segments.append(seg)
                    continue
                dropped += int((~rows).sum())
                if not rows.any() and not len(grams_kept):
                    continue  # nothing of the segment is left
                fresh = _segment(self._next_id, grams_kept, seg.signatures[rows], bands=cfg.bands)
                self._next_id += 1
                segments.append(fresh)
                written.append(fresh)
            if len(segments) == len(self._segments) and not written:
                return 0  # nothing of these posts was indexed
            if self.directory is not None:
                self._persist(tuple(segments), written)
            self._segments = tuple(segments)
        return dropped

    # -- checking --------------------------------------------------------------------------

    def check(self, text: str) -> Verdict:
        """Does `text` share an n-gram with, or nearly duplicate, an ingested post?"""
        return self.check_many([text])[0]

    def check_many(self, texts: Sequence[str]) -> list[Verdict]:
        """`check` for a batch: one index lookup per segment for all texts together."""
        if isinstance(texts, str):
            raise TypeError("check_many takes a list of texts, not one string")
        if not texts:
            return []
        cfg = self.config
        segments = self._segments  # a snapshot: adds replace the tuple, never mutate it
        hashes = [sh.token_hashes(sh.tokenize(t)) for t in texts]
        grams = [sh.ngram_hashes(h, cfg.ngram) for h in hashes]
        found = _lookup(segments, np.concatenate(grams))
        bounds = np.cumsum([0, *(len(g) for g in grams)])
        sigs = np.stack([sh.minhash(sh.shingles(h, cfg.shingle), self._a, self._b) for h in hashes])
        similarity = _nearest(segments, sigs, bands=cfg.bands)
        verdicts = []
        for i in range(len(texts)):
            hits = found[bounds[i] : bounds[i + 1]]
            matched, total, run = int(hits.sum()), len(hits), _longest_run(hits)
            verdicts.append(
                Verdict(
                    ok=bool(
                        matched <= cfg.max_shared_ngrams and similarity[i] < cfg.near_duplicate
                    ),
                    overlap=round(matched / total, 4) if total else 0.0,
                    matched_ngrams=matched,
                    nearest_similarity=round(float(similarity[i]), 4),
                    longest_match=run + cfg.ngram - 1 if run else 0,
                )
            )
        return verdicts

    # -- state -----------------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        segments = self._segments
        return {
            "segments": len(segments),
            "docs": sum(s.docs for s in segments),
            "ngrams": sum(len(s.ngrams) for s in segments),
            "bytes": sum(s.nbytes for s in segments),
        }

    def __len__(self) -> int:
        return sum(s.docs for s in self._segments)

    def _persist(self, segments: tuple[_Segment, ...], written: list[_Segment]) -> None:
        assert self.directory is not None
        self.directory.mkdir(parents=True, exist_ok=True)
        for seg in written:
            atomic_write(self.directory / _file(seg.id), partial(_save_segment, seg=seg))
        manifest = {
            "format": FORMAT,
            "config": self.config.shape(),
            "next_id": self._next_id,
            "segments": [{"id": s.id, "docs": s.docs} for s in segments],
        }
        atomic_write_json(self.directory / MANIFEST, manifest, indent=1)
        listed = {_file(s.id) for s in segments}
        for path in self.directory.glob("seg-*.npz"):
            if path.name not in listed:
                path.unlink(missing_ok=True)

    def _load(self) -> None:
        assert self.directory is not None
        path = self.directory / MANIFEST
        if not path.exists():
            return
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
            fmt, shape = manifest["format"], manifest["config"]
            listed = manifest["segments"]
            next_id = int(manifest["next_id"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise MemorizationIndexError(
                f"{path}: unreadable index manifest ({exc}); delete {self.directory} and re-add "
                "the stored posts to rebuild it"
            ) from exc
        if fmt != FORMAT or shape != self.config.shape():
            raise MemorizationIndexError(
                f"{self.directory} was built with format {fmt} and {shape}, but this "
                f"configuration is format {FORMAT} and {self.config.shape()}; open it with the "
                "same settings, or delete the folder and rebuild"
            )
        segments = [self._load_segment(int(item["id"])) for item in listed]
        self._segments = self._evict(tuple(segments))
        self._next_id = next_id

    def _load_segment(self, seg_id: int) -> _Segment:
        assert self.directory is not None
        path = self.directory / _file(seg_id)
        try:
            with np.load(path, allow_pickle=False) as data:
                ngrams = data["ngrams"].astype(np.uint64, copy=False)
                sigs = data["signatures"].astype(np.uint32, copy=False)
        except (OSError, ValueError, KeyError) as exc:
            raise MemorizationIndexError(
                f"{path}: missing or corrupt index segment ({exc}); delete {self.directory} "
                "and re-add the stored posts to rebuild it"
            ) from exc
        if sigs.ndim != 2 or sigs.shape[1] != self.config.num_perm:
            raise MemorizationIndexError(f"{path}: signatures have shape {sigs.shape}; rebuild")
        return _segment(seg_id, ngrams, sigs, bands=self.config.bands)


def _segment(seg_id: int, ngrams: np.ndarray, sigs: np.ndarray, *, bands: int) -> _Segment:
    keys = sh.band_keys(sigs, bands).reshape(-1)  # (D * bands,)
    order = np.argsort(keys, kind="stable")
    owners = (np.arange(len(keys), dtype=np.uint32) // np.uint32(bands))[order]
    return _Segment(seg_id, len(sigs), ngrams, sigs, keys[order], owners)


def _merge(older: _Segment, newer: _Segment, *, seg_id: int, bands: int) -> _Segment:
    ngrams = np.union1d(older.ngrams, newer.ngrams)
    return _segment(seg_id, ngrams, np.vstack([older.signatures, newer.signatures]), bands=bands)


def _lookup(segments: Sequence[_Segment], grams: np.ndarray) -> np.ndarray:
    """(N,) bool: which of the n-gram hashes any segment holds."""
    found = np.zeros(len(grams), dtype=bool)
    for seg in segments:
        if len(seg.ngrams) and len(grams):
            pos = np.searchsorted(seg.ngrams, grams)
            pos[pos == len(seg.ngrams)] = 0
            found |= seg.ngrams[pos] == grams
    return found


def _nearest(segments: Sequence[_Segment], sigs: np.ndarray, *, bands: int) -> np.ndarray:
    """(T,) the best estimated Jaccard of each signature among its LSH candidates (0: none)."""
    best = np.zeros(len(sigs))
    empty = (sigs == sh.EMPTY_MINHASH).all(axis=1)
    keys = sh.band_keys(sigs, bands)  # (T, bands)
    for seg in segments:
        lo = np.searchsorted(seg.keys, keys, side="left")
        hi = np.minimum(np.searchsorted(seg.keys, keys, side="right"), lo + MAX_CANDIDATES_PER_BAND)
        for t in np.flatnonzero((hi > lo).any(axis=1) & ~empty):
            docs = np.unique(
                np.concatenate([seg.owners[a:b] for a, b in zip(lo[t], hi[t], strict=True)])
            )
            score = float((seg.signatures[docs] == sigs[t]).mean(axis=1).max())
            best[t] = max(best[t], score)
    return best


def _longest_run(mask: np.ndarray) -> int:
    if not mask.any():
        return 0
    padded = np.concatenate([[0], mask.astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(padded))
    return int((edges[1::2] - edges[::2]).max())


def _file(seg_id: int) -> str:
    return f"seg-{seg_id:08d}.npz"


def _save_segment(f: Any, seg: _Segment) -> None:
    np.savez(f, ngrams=seg.ngrams, signatures=seg.signatures)
