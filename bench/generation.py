"""Generation and SFT throughput of the adapter bank; prints one JSON object.

    mixed      tokens/s of one mixed batch over --adapters adapters (--rows rows each) vs the
               same rows generated one adapter at a time (greedy; outputs must be identical)
    memory     resident set size with 1 vs 64 adapters loaded in the bank (rank --rank), float16
    paging     --paging-bots adapters on disk, --resident kept in memory: every bot paged in
               twice; page-in time and the resident set's memory
    precision  decode tokens/s at batch 8 in float32 and on the bfloat16 twin, one adapter for
               all rows vs one per row, each against its measured matmul roofline
    sft        tokens/s of vibe SFT (forward + backward, LoRA only) on templated posts

Usage: .venv/bin/python bench/generation.py [--model smollm2-135m] [--home .vibeforge]
       [--tiny] (a 2-layer test model: a smoke run of this script, not a measurement)
The base model must be prepared first: `vibeforge models prepare`. CPU timings on a shared
machine are noisy; run twice and compare.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

# OpenMP keeps its default wait policy, the fastest on a quiet machine; on a shared one,
# OMP_WAIT_POLICY=PASSIVE stops spinning threads from starving each other (set it in the shell)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def trim() -> None:
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass


def bench_mixed(base, *, adapters: int, rows: int, rank: int, new_tokens: int) -> dict:  # type: ignore[no-untyped-def]
    from vibeforge.learn.prompt import render
    from vibeforge.models.generate import SamplingParams, generate
    from vibeforge.models.testing import random_lora

    bank = [random_lora(base, rank=rank, seed=i, scale=0.02) for i in range(adapters)]
    topics = ["airport delays", "new phones", "self-driving cars", "the big match", "vaccines"]
    prompts, row_adapters = [], []
    for i, w in enumerate(bank):
        for r in range(rows):
            topic = topics[(i + r) % len(topics)]
            prompts.append(
                # the system line models/generate.py used before learn.prompt: same workload
                render(
                    base.tokenizer,
                    persona="You post on social media.",
                    instruction=f"Write a short post about {topic}.",
                )
            )
            row_adapters.append(w)
    params = SamplingParams(temperature=0, max_new_tokens=new_tokens, max_weighted_chars=None)
    generate(base, prompts=prompts[:2], adapters=row_adapters[:2], params=params)  # warm-up

    started = time.perf_counter()
    mixed = generate(base, prompts=prompts, adapters=row_adapters, params=params)
    t_mixed = time.perf_counter() - started
    started = time.perf_counter()
    single = []
    for i in range(adapters):
        sl = slice(i * rows, (i + 1) * rows)
        single += generate(base, prompts=prompts[sl], adapters=row_adapters[sl], params=params)
    t_single = time.perf_counter() - started
    n_mixed = sum(len(g.token_ids) for g in mixed)
    n_single = sum(len(g.token_ids) for g in single)
    return {
        "adapters": adapters,
        "rows_per_adapter": rows,
        "rank": rank,
        "max_new_tokens": new_tokens,
        "mixed_tokens_per_s": round(n_mixed / t_mixed, 1),
        "per_adapter_tokens_per_s": round(n_single / t_single, 1),
        "speedup": round((n_mixed / t_mixed) / (n_single / t_single), 2),
        "greedy_outputs_identical": [g.token_ids for g in mixed] == [g.token_ids for g in single],
        "mixed_s": round(t_mixed, 2),
        "per_adapter_s": round(t_single, 2),
    }


def matmul_roofline(model, *, batch: int, repeats: int = 10) -> dict:  # type: ignore[no-untyped-def]
    """The decode step's matmuls alone: F.linear((batch × in), W) for every linear of `model`
    (LM head included), in the weights' precision, best of `repeats`. Tokens/s at that speed
    is what a decode loop with no attention, sampling or Python overhead would reach."""
    import torch
    from torch import nn
    from torch.nn.functional import linear

    weights = [m.weight for m in model.modules() if isinstance(m, nn.Linear)]
    xs = [torch.randn(batch, w.shape[1], dtype=w.dtype) for w in weights]
    with torch.inference_mode():
        for x, w in zip(xs, weights, strict=True):  # warm-up
            linear(x, w)
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            for x, w in zip(xs, weights, strict=True):
                linear(x, w)
            best = min(best, time.perf_counter() - t0)
    nbytes = sum(w.numel() * w.element_size() for w in weights)
    return {
        "step_s": round(best, 5),
        "tokens_per_s": round(batch / best, 1),
        "weight_gb_per_s": round(nbytes / best / 1e9, 1),
    }


def bench_precision(base, *, rank: int, new_tokens: int, batch: int = 8) -> dict:  # type: ignore[no-untyped-def]
    """Decode tokens/s at `batch` rows in float32 and on the bfloat16 twin (models.precision):
    one adapter for every row (uniform) and one adapter per row (mixed), against each
    precision's measured matmul roofline."""
    from vibeforge.learn.prompt import render
    from vibeforge.models.generate import SamplingParams, generate
    from vibeforge.models.precision import sampling_kernel, sampling_twin
    from vibeforge.models.testing import random_lora

    adapters = [random_lora(base, rank=rank, seed=i, scale=0.02) for i in range(batch)]
    prompt = render(base.tokenizer, persona="You post on social media.", instruction="Post.")
    params = SamplingParams(
        temperature=1.0, max_new_tokens=new_tokens, max_weighted_chars=None, seed=0
    )
    out: dict = {"batch": batch, "kernel": sampling_kernel("auto")}
    for precision in ("float32", "bfloat16"):
        model = sampling_twin(base, precision)
        roof = matmul_roofline(model.model, batch=batch)
        rates = {}
        for kind, rows in (("uniform", [adapters[0]] * batch), ("mixed", adapters)):
            generate(model, prompts=[prompt] * 2, adapters=rows[:2], params=params)  # warm-up
            best = 0.0
            for _ in range(2):
                t0 = time.perf_counter()
                gens = generate(model, prompts=[prompt] * batch, adapters=rows, params=params)
                n = sum(len(g.token_ids) for g in gens)
                best = max(best, n / (time.perf_counter() - t0))
            rates[kind] = round(best, 1)
        out[precision] = {
            "decode_tokens_per_s": rates,
            "mixed_over_uniform": round(rates["mixed"] / rates["uniform"], 2),
            "roofline": roof,
            "share_of_roofline": round(rates["uniform"] / roof["tokens_per_s"], 3),
        }
        del model
        trim()
    out["bfloat16_over_float32"] = round(
        out["bfloat16"]["decode_tokens_per_s"]["uniform"]
        / out["float32"]["decode_tokens_per_s"]["uniform"],
        2,
    )
    return out


def bench_memory(base, *, rank: int, count: int = 64) -> dict:  # type: ignore[no-untyped-def]
    from vibeforge.models.adapters import AdapterStore
    from vibeforge.models.bank import AdapterBank, BankConfig
    from vibeforge.models.testing import random_lora

    with tempfile.TemporaryDirectory() as tmp:
        store = AdapterStore(Path(tmp))
        for i in range(count):
            store.save(f"bot{i}", random_lora(base, rank=rank, seed=i))
        trim()
        bank = AdapterBank(base, store, BankConfig(capacity=count))
        bank.get("bot0")
        trim()
        one = rss_mb()
        for i in range(1, count):
            bank.get(f"bot{i}")
        trim()
        many = rss_mb()
        nbytes = bank.get("bot0").nbytes()
    return {
        "rank": rank,
        "rss_mb_1_adapter": round(one, 1),
        f"rss_mb_{count}_adapters": round(many, 1),
        "mb_per_extra_adapter": round((many - one) / (count - 1), 2),
        "adapter_weights_mb": round(nbytes / 2**20, 2),
    }


def bench_paging(base, *, rank: int, count: int, resident: int) -> dict:  # type: ignore[no-untyped-def]
    """`count` bots' adapters on disk (float16), a bank keeping `resident` of them: every bot
    paged in twice over; the resident set's memory stays that of `resident` adapters."""
    from vibeforge.models.adapters import AdapterStore
    from vibeforge.models.bank import AdapterBank, BankConfig
    from vibeforge.models.testing import random_lora

    with tempfile.TemporaryDirectory() as tmp:
        bank = AdapterBank(base, AdapterStore(Path(tmp)), BankConfig(capacity=resident))
        t0 = time.perf_counter()
        for i in range(count):
            bank.save(f"bot{i}", random_lora(base, rank=rank, seed=i))
        save_s = time.perf_counter() - t0
        disk = sum(f.stat().st_size for f in Path(tmp).rglob("*.safetensors"))
        trim()
        before = rss_mb()
        start = bank.stats()
        t0 = time.perf_counter()
        for _ in range(2):
            for i in range(count):
                bank.get(f"bot{i}")
        elapsed = time.perf_counter() - t0
        trim()
        stats = bank.stats()
        return {
            "bots": count,
            "resident": resident,
            "saved_mb_on_disk": round(disk / 2**20, 1),
            "save_ms_each": round(1000 * save_s / count, 2),
            "page_ins": stats.page_ins - start.page_ins,
            "page_in_ms_each": round(
                1000 * (stats.page_in_s - start.page_in_s) / (stats.page_ins - start.page_ins), 2
            ),
            "get_ms_each": round(1000 * elapsed / (2 * count), 2),
            "resident_mb": stats.as_json()["resident_mb"],
            "rss_mb_before": round(before, 1),
            "rss_mb_after": round(rss_mb(), 1),
        }


def bench_sft(base, *, rank: int, steps: int) -> dict:  # type: ignore[no-untyped-def]
    from vibeforge.domain import Post
    from vibeforge.learn.vibe import VibeConfig, train_vibe
    from vibeforge.models.lora import LoraSpec

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    words = ["delayed", "again", "gate", "boarding", "lost bags", "upgrade", "lounge", "crew"]
    posts = [
        Post(
            id=str(i),
            text=f"{words[i % 8]} at {words[i * 3 % 8]}, {words[i * 5 % 8]} #{i % 7} travel life",
            author_id="a",
            created_at=t0 + timedelta(minutes=i),
        )
        for i in range(8 * steps)
    ]
    config = VibeConfig(lora=LoraSpec(rank=rank), epochs=1, batch_size=8, holdout=0.0)
    started = time.perf_counter()
    result = train_vibe(base=base, posts=posts, config=config)
    elapsed = time.perf_counter() - started
    assert result is not None
    m = result.metrics
    return {
        "rank": rank,
        "steps": m["steps"],
        "batch_size": 8,
        "tokens_per_s": m["tokens_per_s"],
        "post_tokens_per_s": round(m["post_tokens"] / elapsed, 1),
        "s_per_step": round(elapsed / m["steps"], 3),
        "loss_first_last": [m["loss_curve"][0], m["loss_curve"][-1]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument(
        "--home", type=Path, default=Path(os.environ.get("VIBEFORGE_HOME", ".vibeforge"))
    )
    parser.add_argument("--tiny", action="store_true", help="use the 2-layer test model")
    parser.add_argument("--adapters", type=int, default=8)
    parser.add_argument("--rows", type=int, default=1, help="rows per adapter in the batch")
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=48)
    parser.add_argument("--sft-steps", type=int, default=6)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    parser.add_argument(
        "--only", choices=["mixed", "memory", "paging", "precision", "sft"], action="append"
    )
    parser.add_argument("--paging-bots", type=int, default=1000, help="bots on disk (paging)")
    parser.add_argument("--resident", type=int, default=64, help="adapters resident (paging)")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    if args.tiny:
        from vibeforge.models.testing import tiny_base

        base = tiny_base()
    else:
        from vibeforge.models.registry import load_model

        base = load_model(args.model, home=args.home)
    out: dict = {
        "model": base.name,
        "load_s": round(time.perf_counter() - started, 2),
        "torch_threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg()[0],
    }
    only = set(args.only or ["mixed", "memory", "paging", "precision", "sft"])
    if "memory" in only:  # first: before generation buffers inflate the heap
        out["memory"] = bench_memory(base, rank=args.rank)
    if "mixed" in only:
        out["mixed"] = bench_mixed(
            base, adapters=args.adapters, rows=args.rows, rank=args.rank, new_tokens=args.new_tokens
        )
    if "paging" in only:
        out["paging"] = bench_paging(
            base, rank=args.rank, count=args.paging_bots, resident=args.resident
        )
    if "precision" in only:
        out["precision"] = bench_precision(base, rank=args.rank, new_tokens=args.new_tokens)
    if "sft" in only:
        out["sft"] = bench_sft(base, rank=args.rank, steps=args.sft_steps)
    out["load_average_end"] = os.getloadavg()[0]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
