"""GRPO step throughput: vibeforge's PolicyTrainer vs TRL's GRPOTrainer on the same workload.

Workload (both): SmolLM2-135M-Instruct (fp32, CPU), LoRA r=16 on q/k/v/o, G=8 completions of
48 new tokens for one prompt per step, a cheap text reward, KL coefficient 0.04, lr 1e-4.
Also reported: vibeforge with 4 bots' groups in one mixed-adapter batch (32 completions a step),
the shape the loop actually runs.

    python bench/rl_step.py [--steps 3] [--home .vibeforge] [--threads N] [--skip-trl]
        [--skip-multi] [--best]

The comparison is in one precision (float32 both sides); `--best` adds each side's fastest
mode (vibeforge: sampling on the bfloat16 twin, learning in float32; TRL: bf16=True).

Prints one JSON object. Needs the `bench` extra (trl) for the comparison. Both trainers run in
this one process under the same settings: torch threads and OpenMP's wait policy (the
library's default unless OMP_WAIT_POLICY is set). On a quiet machine the default is fastest
for both; OMP_WAIT_POLICY=PASSIVE helps when other processes compete for the cores (spinning
threads then starve each other) but costs ~0.2 ms per small matmul otherwise: a LoRA step
does thousands of them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from vibeforge.paths import Home

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

PERSONA = "You are a frequent flyer who posts short, funny takes about airline delays."
INSTRUCTION = "Write one short post for your timeline."
G, NEW_TOKENS, RANK = 8, 48, 16


def reward(texts: list[str]) -> list[float]:
    """Cheap and deterministic: likes questions and the word 'flight', dislikes long posts."""
    return [("?" in t) + 0.5 * ("flight" in t.lower()) - len(t) / 280 for t in texts]


def bench_vibeforge(home: Path, steps: int, bots: int, sampling: str = "float32") -> dict:
    import torch

    from vibeforge.learn.prompt import render
    from vibeforge.learn.rl import GRPOConfig, PolicyTrainer
    from vibeforge.models.adapters import AdapterStore
    from vibeforge.models.bank import AdapterBank, BankConfig
    from vibeforge.models.lora import LoraSpec
    from vibeforge.models.registry import load_model

    torch.manual_seed(0)
    base = load_model("smollm2-135m", home=home)
    bank = AdapterBank(
        base, AdapterStore(home / "bench-adapters"), BankConfig(sampling_precision=sampling)
    )
    names = [f"bot{i}" for i in range(bots)]
    for name in names:
        bank.create(name, spec=LoraSpec(rank=RANK, alpha=2 * RANK))
    trainer = PolicyTrainer(
        bank,
        GRPOConfig(
            group_size=G, max_new_tokens=NEW_TOKENS, kl_coef=0.04, learning_rate=1e-4, seed=0
        ),
    )
    prompt = render(base.tokenizer, persona=PERSONA, instruction=INSTRUCTION)
    prompts = [(n, prompt) for n in names]
    trainer.step(prompts, reward_fn=lambda bot, texts: reward(list(texts)))  # warm-up
    times, completions, tokens = [], 0, 0
    for _ in range(steps):
        t0 = time.perf_counter()
        report = trainer.step(prompts, reward_fn=lambda bot, texts: reward(list(texts)))
        times.append(time.perf_counter() - t0)
        completions += report.completions
        tokens += report.tokens
    total = sum(times)
    return {
        "bots_per_batch": bots,
        "sampling_precision": sampling,
        "sampling_gap_nats": round(report.sampling_gap, 4),
        "step_s": [round(t, 2) for t in times],
        "completions_per_s": round(completions / total, 3),
        "tokens_per_s": round(tokens / total, 2),
    }


def bench_trl(home: Path, steps: int, bf16: bool = False) -> dict:
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    torch.manual_seed(0)
    path = Home(home).models / "smollm2-135m"
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    prompt = [{"role": "system", "content": PERSONA}, {"role": "user", "content": INSTRUCTION}]
    data = Dataset.from_list([{"prompt": prompt}] * (steps + 1))

    def reward_fn(completions, **_):
        return reward([c[0]["content"] if isinstance(c, list) else c for c in completions])

    times: list[float] = []
    tokens: list[int] = []

    class Clock(TrainerCallback):
        def on_step_begin(self, args, state, control, **kw):
            self.t0 = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            times.append(time.perf_counter() - self.t0)

        def on_log(self, args, state, control, logs=None, **kw):
            if logs and "completions/mean_length" in logs:
                tokens.append(int(logs["completions/mean_length"] * G))

    config = GRPOConfig(
        output_dir=str(home / "bench-trl"),
        use_cpu=True,
        bf16=bf16,
        num_generations=G,
        per_device_train_batch_size=G,
        gradient_accumulation_steps=1,
        max_completion_length=NEW_TOKENS,
        temperature=0.9,
        beta=0.04,
        learning_rate=1e-4,
        max_steps=steps + 1,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        seed=0,
        disable_tqdm=True,
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=reward_fn,
        args=config,
        train_dataset=data,
        processing_class=tokenizer,
        peft_config=LoraConfig(
            r=RANK,
            lora_alpha=2 * RANK,
            target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
            task_type="CAUSAL_LM",
        ),
        callbacks=[Clock()],
    )
    trainer.train()
    measured = times[1:]  # drop the warm-up step, as for vibeforge
    total = sum(measured)
    n_tok = sum(tokens[1:]) if len(tokens) > 1 else None
    return {
        "bf16": bf16,
        "step_s": [round(t, 2) for t in measured],
        "completions_per_s": round(G * len(measured) / total, 3),
        "tokens_per_s": round(n_tok / total, 2) if n_tok else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument(
        "--home", type=Path, default=Path(os.environ.get("VIBEFORGE_HOME", ".vibeforge"))
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--skip-trl", action="store_true")
    parser.add_argument("--skip-multi", action="store_true", help="skip the 4-bot batch")
    parser.add_argument(
        "--best",
        action="store_true",
        help="also each side's fastest mode: vibeforge sampling on the bfloat16 twin "
        "(float32 learning), TRL with bf16=True (autocast)",
    )
    args = parser.parse_args()
    import torch

    from vibeforge.models.registry import ensure_prepared

    if args.threads:
        torch.set_num_threads(args.threads)
    ensure_prepared("smollm2-135m", home=args.home)
    out: dict = {
        "workload": {
            "model": "SmolLM2-135M-Instruct",
            "lora_rank": RANK,
            "G": G,
            "new_tokens": NEW_TOKENS,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "torch_threads": torch.get_num_threads(),
        },
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "load_average": os.getloadavg()[0],
        "vibeforge": bench_vibeforge(args.home, args.steps, bots=1),
    }
    if not args.skip_multi:
        out["vibeforge_4_bots_one_batch"] = bench_vibeforge(args.home, args.steps, bots=4)
    if not args.skip_trl:
        out["trl"] = bench_trl(args.home, args.steps)
        for key in ("completions_per_s", "tokens_per_s"):
            theirs = out["trl"][key]
            out[f"ratio_{key}"] = round(out["vibeforge"][key] / theirs, 2) if theirs else None
        if "vibeforge_4_bots_one_batch" in out:
            out["ratio_completions_per_s_4_bots"] = round(
                out["vibeforge_4_bots_one_batch"]["completions_per_s"]
                / out["trl"]["completions_per_s"],
                2,
            )
    if args.best:
        out["vibeforge_best"] = bench_vibeforge(args.home, args.steps, bots=1, sampling="auto")
        if not args.skip_multi:
            out["vibeforge_best_4_bots_one_batch"] = bench_vibeforge(
                args.home, args.steps, bots=4, sampling="auto"
            )
        if not args.skip_trl:
            out["trl_best"] = bench_trl(args.home, args.steps, bf16=True)
            best_trl = max(out["trl"]["completions_per_s"], out["trl_best"]["completions_per_s"])
            out["ratio_best_vs_best"] = round(
                out["vibeforge_best"]["completions_per_s"] / best_trl, 2
            )
            if "vibeforge_best_4_bots_one_batch" in out:
                out["ratio_best_vs_best_4_bots"] = round(
                    out["vibeforge_best_4_bots_one_batch"]["completions_per_s"] / best_trl, 2
                )
    out["load_average_end"] = os.getloadavg()[0]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
