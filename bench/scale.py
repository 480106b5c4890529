"""Loop throughput with many bots on one shared base model: cycles per hour and memory.

For each bot count, a sandbox world with that many bots (spread over its niches) runs a warm-up
round (first SFT and reward models), then `--rounds` measured rounds, advancing platform time
3 h between rounds so every bot is due to post each round. A cycle is one bot's share of a
round (ingest, observe, learn, act). Resident memory is the process RSS after the rounds.

    python bench/scale.py [--bots 1 8 32] [--rounds 2] [--model smollm2-135m]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from vibeforge.paths import Home

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def run(n_bots: int, *, rounds: int, model: str, home: Path) -> dict:
    from vibeforge.domain import Bot, Timeline, TimelineKind
    from vibeforge.loop.build import RuntimeSpec
    from vibeforge.loop.config import LoopConfig
    from vibeforge.loop.cycle import run_round
    from vibeforge.sandbox import start_sandbox
    from vibeforge.store import make_engine, session_scope, upgrade
    from vibeforge.store import queries as q

    config = replace(
        LoopConfig(),
        candidates=2,
        max_new_tokens=32,
        sft_min_new_posts=16,
        sft_max_steps=4,
        rl_group_size=2,
        rm_min_new_labels=15,
        jitter=0.0,
    )
    with start_sandbox(home=home, world="tiny", seed=0, speed=0) as sb:
        db_url = f"sqlite:///{home / 'v.db'}"
        engine = make_engine(db_url)
        upgrade(engine)
        lists = sb.list_ids()
        niches = sorted(lists)
        with session_scope(engine) as s:
            for niche in niches:
                q.create_timeline(
                    s, timeline=Timeline(name=niche, kind=TimelineKind.LIST, source=lists[niche])
                )
            for i in range(n_bots):
                niche = niches[i % len(niches)]
                sb.create_account(f"bot{i}", niche=niche, followers=200)
                q.create_bot(
                    s,
                    bot=Bot(
                        name=f"bot{i}",
                        timeline=niche,
                        account=f"bot{i}",
                        posts_per_day=8,
                        persona=f"a {niche} fan",
                    ),
                )
        rt = RuntimeSpec.for_sandbox(
            sb, db_url=db_url, home=home, config=config, model=model, ner=False
        )()
        t0 = time.perf_counter()
        run_round(rt)
        warm = time.perf_counter() - t0
        times = []
        for _ in range(rounds):
            sb.advance(hours=3)
            t0 = time.perf_counter()
            run_round(rt)
            times.append(time.perf_counter() - t0)
        bank = rt.bank()
        return {
            "bots": n_bots,
            "warmup_round_s": round(warm, 1),
            "round_s": [round(t, 1) for t in times],
            "cycles_per_hour": round(n_bots * len(times) / sum(times) * 3600, 1),
            "resident_adapters": len(bank.resident()),
            "rss_mb": round(rss_mb(), 1),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bots", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument(
        "--home", type=Path, default=Path(os.environ.get("VIBEFORGE_HOME", ".vibeforge"))
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # one count in this process
    args = parser.parse_args()
    if args.one is not None:
        with tempfile.TemporaryDirectory(prefix="vibeforge-scale-") as tmp:
            home = Path(tmp)
            Home(home).models.symlink_to(Home(args.home).models.resolve(), target_is_directory=True)
            print(json.dumps(run(args.one, rounds=args.rounds, model=args.model, home=home)))
        return
    from vibeforge.models.registry import ensure_prepared

    ensure_prepared(args.model, home=args.home)  # once here, not in each count's process
    results = []
    for n in args.bots:  # each count in a fresh process, so its memory is its own
        cmd = [sys.executable, __file__, "--one", str(n), "--rounds", str(args.rounds)]
        cmd += ["--model", args.model, "--home", str(args.home)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    print(json.dumps({"model": args.model, "cpus": os.cpu_count(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
