"""Loop throughput with many bots on one shared base model: cycles per hour and memory.

For each bot count, a sandbox world with that many bots (spread over its niches) runs a warm-up
round (first SFT and reward models), then `--rounds` measured rounds, advancing platform time
3 h between rounds so every bot is due to post each round. A cycle is one bot's share of a
round (ingest, observe, learn, act). Resident memory is the process RSS after the rounds and
its peak (the driver's alone under ray: the actors' memory is their own). Each count reports
the seconds per round of each loop step and, on the local executor, what paging adapters cost
over the measured rounds: at most `--resident` adapters stay in memory (float16), the others
are read from disk when their bot's turn comes (`page_ins`, `page_in_ms_each`).

With `--executor ray --workers N`, each bot count runs twice on the ray executor, with 1 and
with N model actors (the bots sharded over them by `loop.executors.shard_of`), and reports both
cycles per hour and their ratio. The actors hold no CPU of their own (`model_cpus: 0`) and run
torch on one thread each, so the ratio is what sharding the model work buys.

    python bench/scale.py [--bots 1 8 32] [--rounds 2] [--model smollm2-135m]
                          [--resident 64] [--sft-max-steps 4]
                          [--executor ray --workers N [--address HOST:PORT]]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
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


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def clone_niche_leaders(home: Path, engine, leader_of: dict[str, str], *, model: str) -> None:
    """Start each bot as a copy of its niche's leader: the leader's adapter (a `spawn`
    version with the leader's training window, recorded in the store) and reward model. What
    a fleet grown from a few trained bots starts from; a warm-up of a thousand SFT runs would
    take hours on a laptop's CPU."""
    import shutil

    from vibeforge.errors import AlreadyExistsError
    from vibeforge.models.adapters import AdapterStore
    from vibeforge.store import queries as q
    from vibeforge.store import session_scope

    paths = Home(home)
    store = AdapterStore(paths.adapters)
    loaded = {}
    for bot, leader in leader_of.items():
        if bot == leader:
            continue
        if leader not in loaded:
            loaded[leader] = store.load(leader)
        source = loaded[leader]
        v = source.version
        version = store.save(
            bot,
            source.weights,
            kind="spawn",
            window_start=v.window_start,
            window_end=v.window_end,
            metrics={"cloned_from": leader},
            base_model=model,
        )
        with session_scope(engine) as s, contextlib.suppress(AlreadyExistsError):
            q.add_adapter_version(s, adapter=version)
        if paths.reward_models(leader).exists():
            shutil.copytree(paths.reward_models(leader), paths.reward_models(bot))


def run(
    n_bots: int,
    *,
    rounds: int,
    model: str,
    home: Path,
    executor: str = "local",
    model_actors: int = 1,
    address: str | None = None,
    resident: int = 64,
    sft_max_steps: int = 4,
    warm_up: str = "sft",
) -> dict:
    from vibeforge.domain import Bot, Timeline, TimelineKind
    from vibeforge.loop.build import RuntimeSpec
    from vibeforge.loop.config import LoopConfig
    from vibeforge.loop.executors import make_executor
    from vibeforge.sandbox import start_sandbox
    from vibeforge.store import make_engine, session_scope, upgrade
    from vibeforge.store import queries as q

    config = replace(
        LoopConfig(),
        candidates=2,
        max_new_tokens=32,
        sft_min_new_posts=16,
        sft_max_steps=sft_max_steps,
        rl_group_size=2,
        rm_min_new_labels=15,
        jitter=0.0,
        adapters_resident=resident,
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
        spec = RuntimeSpec.for_sandbox(
            sb, db_url=db_url, home=home, config=config, model=model, ner=False
        )
        if executor == "ray" and address is None:
            import ray  # a local cluster with a small object store: only reports travel

            ray.init(object_store_memory=200 * 2**20, include_dashboard=False, log_to_driver=False)
        settings = {"ray": {"address": address, "model_actors": model_actors, "model_cpus": 0}}
        ex = make_executor(executor, spec, settings=settings)
        try:
            t0 = time.perf_counter()
            if warm_up == "clone":  # a round for each niche's first bot; the rest start as it
                leaders = {niches[i % len(niches)]: f"bot{i}" for i in reversed(range(n_bots))}
                ex.run_round(sorted(leaders.values()))
                clone_niche_leaders(
                    home,
                    engine,
                    {f"bot{i}": leaders[niches[i % len(niches)]] for i in range(n_bots)},
                    model=model,
                )
            else:
                ex.run_round()
            warm = time.perf_counter() - t0
            times = []
            phases: dict[str, float] = {}
            paging = None
            if executor == "local":
                bank = ex.runtime.bank()  # type: ignore[attr-defined]
                before = bank.stats()
            for _ in range(rounds):
                sb.advance(hours=3)
                t0 = time.perf_counter()
                report = ex.run_round()
                times.append(time.perf_counter() - t0)
                for step, sec in report.seconds.items():
                    phases[step] = phases.get(step, 0.0) + sec
            if executor == "ray":
                resident_now = sum(map(len, ex.resident()))  # type: ignore[attr-defined]
            else:
                after = bank.stats()
                resident_now = after.resident
                paging = {  # over the measured rounds
                    "page_ins": after.page_ins - before.page_ins,
                    "page_in_s": round(after.page_in_s - before.page_in_s, 3),
                    "evictions": after.evictions - before.evictions,
                    "resident_mb": after.as_json()["resident_mb"],
                }
                if paging["page_ins"]:
                    paging["page_in_ms_each"] = round(
                        1000 * paging["page_in_s"] / paging["page_ins"], 2
                    )
        finally:
            ex.close()
            if executor == "ray" and address is None:
                ray.shutdown()
        return {
            "bots": n_bots,
            "executor": executor,
            "model_actors": model_actors,
            "warm_up": warm_up,
            "warmup_round_s": round(warm, 1),
            "round_s": [round(t, 1) for t in times],
            "cycles_per_hour": round(n_bots * len(times) / sum(times) * 3600, 1),
            "phase_s_per_round": {k: round(v / len(times), 2) for k, v in phases.items()},
            "adapters_resident_max": resident,
            "resident_adapters": resident_now,
            "paging": paging,
            "rss_mb": round(rss_mb(), 1),
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bots", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--executor", choices=["local", "ray"], default="local")
    parser.add_argument(
        "--workers", type=int, default=2, help="ray: model actors to compare with one"
    )
    parser.add_argument("--address", help="ray: a running cluster (default: one per count)")
    parser.add_argument("--actors", type=int, default=1, help=argparse.SUPPRESS)  # with --one
    parser.add_argument(
        "--home", type=Path, default=Path(os.environ.get("VIBEFORGE_HOME", ".vibeforge"))
    )
    parser.add_argument(
        "--resident", type=int, default=64, help="adapters kept resident (the rest page in)"
    )
    parser.add_argument("--sft-max-steps", type=int, default=4, help="SFT steps per bot")
    parser.add_argument(
        "--warm-up",
        choices=["sft", "clone"],
        default="sft",
        help="sft: every bot's first round; clone: each niche's first bot's, the rest copy it",
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # one count in this process
    args = parser.parse_args()
    if args.one is not None:
        with tempfile.TemporaryDirectory(prefix="vibeforge-scale-") as tmp:
            home = Path(tmp)
            Home(home).models.symlink_to(Home(args.home).models.resolve(), target_is_directory=True)
            result = run(
                args.one,
                rounds=args.rounds,
                model=args.model,
                home=home,
                executor=args.executor,
                model_actors=args.actors,
                address=args.address,
                resident=args.resident,
                sft_max_steps=args.sft_max_steps,
                warm_up=args.warm_up,
            )
            print(json.dumps(result))
        return
    if args.workers < 1:
        parser.error(f"--workers ({args.workers}) must be >= 1")
    from vibeforge.models.registry import ensure_prepared

    ensure_prepared(args.model, home=args.home)  # once here, not in each count's process
    actor_counts = sorted({1, args.workers}) if args.executor == "ray" else [1]
    results = []
    for n in args.bots:  # each count (and actor count) in a fresh process: its memory its own
        by_actors = {}
        for actors in actor_counts:
            cmd = [sys.executable, __file__, "--one", str(n), "--rounds", str(args.rounds)]
            cmd += ["--model", args.model, "--home", str(args.home)]
            cmd += ["--executor", args.executor, "--actors", str(actors)]
            cmd += ["--resident", str(args.resident), "--sft-max-steps", str(args.sft_max_steps)]
            cmd += ["--warm-up", args.warm_up]
            cmd += ["--address", args.address] if args.address else []
            done = subprocess.run(cmd, capture_output=True, text=True, check=True)
            by_actors[actors] = json.loads(done.stdout.strip().splitlines()[-1])
            print(json.dumps(by_actors[actors]), file=sys.stderr, flush=True)
        if args.executor == "ray":
            one, many = by_actors[1], by_actors[args.workers]
            results.append(
                {
                    "bots": n,
                    "model_actors": {str(k): v for k, v in by_actors.items()},
                    "cycles_per_hour_1": one["cycles_per_hour"],
                    f"cycles_per_hour_{args.workers}": many["cycles_per_hour"],
                    "ratio": round(many["cycles_per_hour"] / one["cycles_per_hour"], 2),
                }
            )
        else:
            results.append(by_actors[1])
    summary = {"model": args.model, "cpus": os.cpu_count(), "executor": args.executor}
    if args.executor == "ray":
        summary["workers"] = args.workers
    print(json.dumps({**summary, "results": results}, indent=2))


if __name__ == "__main__":
    main()
