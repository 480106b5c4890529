"""Ingest throughput: posts/s through fetch (X client ← sandbox on loopback) + scrub + store,
and the guard's checks/s.

    python bench/ingest.py [--posts 1200] [--no-ner] [--no-name-rules]

Prints one JSON object. The fetch runs the real X client against the sandbox's HTTP server;
the scrub runs the regex pass and Presidio/spaCy NER (unless --no-ner); the store is SQLite.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from vibeforge.paths import Home

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1200, help="corpus tweets in the niche")
    parser.add_argument("--no-ner", action="store_true")
    parser.add_argument("--no-name-rules", action="store_true", help="NER without the name pass")
    args = parser.parse_args()

    from vibeforge.domain import Timeline, TimelineKind
    from vibeforge.learn.guard import GuardConfig, run_guard
    from vibeforge.loop.ingest import poll_timeline
    from vibeforge.platforms.auth import BearerAuth
    from vibeforge.platforms.x import XClient
    from vibeforge.privacy.memorization import MemorizationIndex
    from vibeforge.privacy.pseudonym import pseudonymizer
    from vibeforge.privacy.scrub import Scrubber, ScrubConfig
    from vibeforge.sandbox import start_sandbox
    from vibeforge.store import make_engine, session_scope, upgrade
    from vibeforge.store import queries as q

    home = Path(tempfile.mkdtemp(prefix="vibeforge-bench-ingest-"))
    out: dict = {
        "posts_in_niche": args.posts,
        "ner": not args.no_ner,
        "name_rules": not args.no_name_rules,
    }
    with start_sandbox(
        home=home,
        world="tiny",
        niches=("airlines",),
        tweets_per_niche=args.posts,
        history_days=10,
        horizon_days=1,
        speed=0,
    ) as sb:
        client = XClient(base_url=sb.base_url, auth=BearerAuth(sb.app_token))
        timeline = Timeline(name="air", kind=TimelineKind.LIST, source=sb.list_ids()["airlines"])
        engine = make_engine(f"sqlite:///{home / 'v.db'}")
        upgrade(engine)
        with session_scope(engine) as s:
            q.create_timeline(s, timeline=timeline)
        config = ScrubConfig(ner=not args.no_ner, name_rules=not args.no_name_rules)
        scrubber = Scrubber(config).load()
        index = MemorizationIndex.open(Home(home).memorization)

        t0 = time.perf_counter()
        raw = client.timeline(source=timeline, max_posts=100_000)
        fetch_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        scrubber.scrub_many([p.text for p in raw])
        scrub_s = time.perf_counter() - t0
        with session_scope(engine) as s:  # reset the cursor for the end-to-end run
            q.set_timeline_cursor(s, name="air", since_id=None, polled_at=client._clock())
        t0 = time.perf_counter()
        report = poll_timeline(
            engine,
            platform=client,
            timeline=timeline,
            scrubber=scrubber,
            pseudonymize=pseudonymizer("bench-key-" * 4),
            now=client._clock(),
            index=index,
            max_posts=100_000,
            force=True,
        )
        total_s = time.perf_counter() - t0
    out["fetched"] = len(raw)
    out["fetch_posts_per_s"] = round(len(raw) / fetch_s, 1)
    out["scrub_posts_per_s"] = round(len(raw) / scrub_s, 1)
    out["end_to_end_posts_per_s"] = round(report.fetched / total_s, 1)
    out["stored"] = report.stored

    texts = [p.text for p in raw[:400]]
    recent = texts[:200]
    for checks in (("length", "duplicate", "regurgitation", "pii"), ("toxicity",)):
        run_guard(
            texts[:8],
            config=GuardConfig(checks=checks),
            recent=recent,
            memorization=index,
            pii=scrubber,
        )
        t0 = time.perf_counter()
        run_guard(
            texts, config=GuardConfig(checks=checks), recent=recent, memorization=index, pii=None
        )
        out[f"guard_{'+'.join(checks)}_checks_per_s"] = round(
            len(texts) / (time.perf_counter() - t0), 1
        )
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
