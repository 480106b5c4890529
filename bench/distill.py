"""Reverse distillation on the sandbox: are elders as good as their bots, and do they make new
bots learn faster?

    (a) per niche: the elder's posts (its niche tag and a sample of the niche's timeline; post i
        of the bots sees the same sample) are assigned to the right niche (nearest MiniLM
        centroid of the niche's human posts) at least as often as the niche's small bots'
        posts, with a reward predicted by the niche bot's reward model within 10% of theirs
    (b) a bot spawned from the nearest elder reaches the reward a cold-started bot reaches
        after --rl-steps GRPO steps in at most half as many steps

Bots: SmolLM2-135M + LoRA; elders: Gemma-3-270M + LoRA (both offline packages). The scale is
set by flags so a run fits the machine; with the defaults, three seeds side by side with
--threads 1 took 47-52 minutes each on 2 CPU cores.

    python bench/distill.py [--home .vibeforge] [--niches airlines,apple,self_driving]
        [--rl-steps 20] [--outputs 48] [--elder-steps 30] [--threads 2]

Prints one JSON object (the per-niche figures, both curves, and pass/fail of (a) and (b)).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from vibeforge.paths import Home

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--home", type=Path, default=Path(".vibeforge"), help="holds models/")
    p.add_argument("--niches", default="airlines,apple,self_driving")
    p.add_argument("--bots-per-niche", type=int, default=1)
    p.add_argument("--bot-model", default="smollm2-135m")
    p.add_argument("--elder-model", default="gemma3-270m")
    p.add_argument("--sft-steps", type=int, default=12)
    p.add_argument("--outputs", type=int, default=48, help="outputs sampled per bot")
    p.add_argument("--new-tokens", type=int, default=40)
    p.add_argument("--elder-epochs", type=int, default=6)
    p.add_argument("--elder-steps", type=int, default=30, help="max steps per elder")
    p.add_argument("--k", type=int, default=None, help="subsets (default: distance threshold)")
    p.add_argument("--eval-posts", type=int, default=96, help="fresh posts per niche and author")
    p.add_argument("--warm", type=int, default=32, help="warm-start posts from the elder")
    p.add_argument("--rl-steps", type=int, default=20)
    p.add_argument("--group", type=int, default=4)
    p.add_argument("--prompts", type=int, default=4, help="prompts per RL step")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--threads", type=int, default=1, help="torch threads (1 is fastest on a shared machine)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = p.parse_args()

    import torch

    from vibeforge.harness.distill_experiment import ExperimentConfig, run_experiment
    from vibeforge.models.registry import ensure_prepared

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    for model in (args.bot_model, args.elder_model):
        ensure_prepared(model, home=args.home)
    config = ExperimentConfig(
        niches=tuple(args.niches.split(",")),
        bots_per_niche=args.bots_per_niche,
        bot_model=args.bot_model,
        elder_model=args.elder_model,
        seed=args.seed,
        sft_steps=args.sft_steps,
        outputs_per_bot=args.outputs,
        new_tokens=args.new_tokens,
        elder_epochs=args.elder_epochs,
        elder_max_steps=args.elder_steps,
        k=args.k,
        eval_posts=args.eval_posts,
        warm_examples=args.warm,
        rl_steps=args.rl_steps,
        group_size=args.group,
        prompts_per_step=args.prompts,
    )
    t0 = time.perf_counter()

    def say(msg: str) -> None:
        if not args.quiet:
            print(f"[{time.perf_counter() - t0:7.1f}s] {msg}", file=sys.stderr, flush=True)

    result = run_experiment(
        args.home / f"bench-distill-{args.seed}",
        models=Home(args.home).models,
        config=config,
        say=say,
    )
    result["seconds"]["total"] = round(time.perf_counter() - t0, 1)
    result["threads"] = args.threads
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
