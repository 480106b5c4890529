"""The regurgitation index: exact 8-gram overlap, MinHash near-duplicates, persistence, eviction."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vibeforge.privacy.memorization import (
    IndexConfig,
    MemorizationIndex,
    MemorizationIndexError,
    Verdict,
)
from vibeforge.privacy.shingles import ngram_hashes, token_hashes, tokenize

SEEN = "the new terminal at gate twelve has no working outlets and the coffee line is endless"


def test_tokens_are_words_marks_urls_and_placeholders() -> None:
    assert tokenize("Hi @User! See https://t.co/x, <url> #Tag") == [
        "hi",
        "@user",
        "!",
        "see",
        "https://t.co/x,",
        "<url>",
        "#tag",
    ]
    # stable across processes: a fixed value, not Python's salted hash()
    assert int(token_hashes(["gate"])[0]) == int(token_hashes(["gate"])[0])
    assert len(ngram_hashes(token_hashes(tokenize("a b c d e f g h i")), 8)) == 2


def test_a_shared_run_of_8_tokens_fails_and_7_passes() -> None:
    index = MemorizationIndex()
    index.add([SEEN])
    copied = "honestly: the new terminal at gate twelve has no wifi, sad"
    verdict = index.check(copied)
    assert not verdict.ok
    assert verdict.matched_ngrams == 1  # "the new terminal at gate twelve has no" (8 tokens)
    assert verdict.longest_match == 8
    seven = "the new terminal at gate twelve has plenty of outlets actually"
    assert index.check(seven).matched_ngrams == 0
    fresh = index.check("my flight was fine and the crew was kind to my kids")
    assert fresh.ok and fresh.overlap == 0.0 and fresh.longest_match == 0


def test_verbatim_copy_reports_full_overlap_and_similarity() -> None:
    index = MemorizationIndex()
    index.add([SEEN, "something else entirely about phones and their batteries today"])
    verdict = index.check(SEEN.upper())  # casefolded
    assert verdict.overlap == 1.0
    assert verdict.nearest_similarity == 1.0
    assert verdict.longest_match == len(tokenize(SEEN))


def test_short_posts_are_caught_as_near_duplicates() -> None:
    index = MemorizationIndex()
    index.add(["worst airline ever, never again"])  # 6 tokens: no 8-gram exists
    verdict = index.check("Worst airline ever, never again")
    assert verdict.matched_ngrams == 0
    assert verdict.nearest_similarity == 1.0
    assert not verdict.ok
    assert index.check("best airline ever, will fly again").ok


def test_verdict_exposes_numbers_to_the_guard() -> None:
    index = MemorizationIndex()
    index.add([SEEN])
    detail = vars(index.check(SEEN))  # learn.guard stores vars(verdict)
    assert set(detail) == {"ok", "overlap", "matched_ngrams", "nearest_similarity", "longest_match"}
    assert isinstance(detail["ok"], bool)


def test_check_many_matches_check(real_tweets: list[str]) -> None:
    index = MemorizationIndex()
    index.add(real_tweets[:3000])
    probe = real_tweets[2900:3100]
    assert index.check_many(probe) == [index.check(t) for t in probe]
    assert index.check_many([]) == []


def test_guard_uses_the_index(real_tweets: list[str]) -> None:
    from vibeforge.learn.guard import GuardConfig, run_guard

    index = MemorizationIndex()
    index.add([SEEN])
    config = GuardConfig(checks=("regurgitation",))
    copied, fresh = run_guard(
        [SEEN, "a brand new thought about flying"], config=config, memorization=index
    )
    assert not copied.verdicts["regurgitation"].ok
    assert fresh.verdicts["regurgitation"].ok


def test_persisted_index_reopens_with_the_same_answers(
    tmp_path: Path, real_tweets: list[str]
) -> None:
    index = MemorizationIndex.open(tmp_path)
    for start in range(0, 4000, 500):  # incremental: one segment per batch, merged as they grow
        index.add(real_tweets[start : start + 500])
    probe = real_tweets[3500:3600] + real_tweets[30000:30100]
    before = index.check_many(probe)
    stats = index.stats()
    assert stats["docs"] == 4000
    assert stats["segments"] <= 4  # merged, not 8
    reopened = MemorizationIndex.open(tmp_path)
    assert reopened.stats() == stats
    assert reopened.check_many(probe) == before
    files = sorted(p.name for p in tmp_path.iterdir())
    manifest = json.loads((tmp_path / "index.json").read_text())
    assert files == sorted(
        ["index.json", *(f"seg-{s['id']:08d}.npz" for s in manifest["segments"])]
    )
    # incremental after reopening: new posts are found, old ones still are
    reopened.add(["a completely new post about the lounge wifi at terminal five today"])
    again = MemorizationIndex.open(tmp_path)
    assert not again.check("a completely new post about the lounge wifi at terminal five").ok
    assert again.check_many(probe) == before


def test_memory_cap_evicts_the_oldest_posts_first(real_tweets: list[str]) -> None:
    index = MemorizationIndex(IndexConfig(max_bytes=2**20))
    first = "the very first post ever indexed talks about lost luggage in denver again"
    index.add([first])
    for start in range(0, 20000, 1000):
        index.add(real_tweets[start : start + 1000])
    stats = index.stats()
    assert stats["bytes"] <= 2**20
    assert stats["docs"] < 20001  # something was evicted
    assert index.check(first).ok  # the oldest is forgotten
    newest = real_tweets[19999]
    assert not index.check(newest).ok  # the newest is remembered


def test_wrong_configuration_or_corrupt_files_give_clear_errors(tmp_path: Path) -> None:
    MemorizationIndex.open(tmp_path).add([SEEN])
    with pytest.raises(MemorizationIndexError, match="same settings"):
        MemorizationIndex.open(tmp_path, config=IndexConfig(ngram=6))
    segment = next(tmp_path.glob("seg-*.npz"))
    segment.write_bytes(b"not an npz")
    with pytest.raises(MemorizationIndexError, match="corrupt index segment"):
        MemorizationIndex.open(tmp_path)
    (tmp_path / "index.json").write_text("{truncated")
    with pytest.raises(MemorizationIndexError, match="unreadable index manifest"):
        MemorizationIndex.open(tmp_path)


def test_a_crash_before_the_manifest_keeps_the_previous_index(tmp_path: Path) -> None:
    index = MemorizationIndex.open(tmp_path)
    index.add([SEEN])
    # a segment written by a writer that died before committing the manifest
    np.savez(tmp_path / "seg-00000099.npz", ngrams=np.arange(5, dtype=np.uint64))
    reopened = MemorizationIndex.open(tmp_path)
    assert reopened.stats()["docs"] == 1
    assert not reopened.check(SEEN).ok


def test_config_validates_itself() -> None:
    with pytest.raises(ValueError, match="multiple of bands"):
        IndexConfig(num_perm=60, bands=16)
    with pytest.raises(ValueError, match="ngram"):
        IndexConfig(ngram=1)
    with pytest.raises(ValueError, match="max_bytes"):
        IndexConfig(max_bytes=1000)
    with pytest.raises(ValueError, match="near_duplicate"):
        IndexConfig(near_duplicate=0)
    assert isinstance(MemorizationIndex().check("x"), Verdict)


def test_remove_forgets_a_post_but_keeps_what_stored_posts_share(tmp_path: Path) -> None:
    gone = "the lounge at terminal five serves cold soup and warm juice every single morning"
    kept = "my friend says the lounge at terminal five serves cold soup and nothing else"
    other = "boarding by zones never works because everyone lines up at once anyway"
    index = MemorizationIndex.open(tmp_path / "idx")
    index.add([gone, kept])
    index.add([other])
    echo = "every morning they serve cold soup and warm juice every single morning"
    assert len(index) == 3 and not index.check(gone).ok and not index.check(echo).ok
    dropped = index.remove([gone], keep=[kept, other])
    assert dropped == 1 and len(index) == 2
    # its own 8-grams are gone; the run it shares with a stored post ("the lounge at terminal
    # five serves cold soup") still fails the guard
    assert index.check(echo).ok
    shared = "wow the lounge at terminal five serves cold soup again"
    assert not index.check(shared).ok
    assert not index.check(other).ok and not index.check(kept).ok
    reopened = MemorizationIndex.open(tmp_path / "idx")
    assert len(reopened) == 2 and not reopened.check(shared).ok
    assert reopened.check(gone).matched_ngrams < index.check(kept).matched_ngrams
    assert index.remove(["never indexed at all, not even once, by anyone here"]) == 0
    with pytest.raises(TypeError):
        index.remove(gone)
