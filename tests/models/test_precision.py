"""Sampling in bfloat16, learning in float32: the twin's log-probs stay within a stated
tolerance of float32's, and GRPO's ratio starts at exactly 1 whatever sampled the group."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from vibeforge.learn.prompt import render
from vibeforge.learn.rl import GRPOConfig, PolicyTrainer, Sample
from vibeforge.models.adapters import AdapterStore
from vibeforge.models.bank import AdapterBank, BankConfig
from vibeforge.models.generate import SamplingParams
from vibeforge.models.precision import cpu_bf16, resolve_sampling, sampling_kernel
from vibeforge.models.testing import random_lora

SAMPLE = SamplingParams(temperature=1.0, max_new_tokens=12, max_weighted_chars=None, seed=3)


def _bank(tiny, tmp_path: Path, precision: str) -> AdapterBank:  # type: ignore[no-untyped-def]
    bank = AdapterBank(tiny, AdapterStore(tmp_path), BankConfig(sampling_precision=precision))
    bank.save("sky", random_lora(tiny, seed=1, scale=0.3))
    bank.save("sea", random_lora(tiny, seed=2, scale=0.3))
    return bank


def test_bfloat16_sampling_log_probs_are_within_tolerance_of_float32(tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Tolerance: mean |log π_bf16 − log π_fp32| < 0.05 nats per token, max < 0.5."""
    bank = _bank(tiny, tmp_path, "bfloat16")
    twin = bank.sampler()
    assert twin is not tiny and twin.model is not tiny.model
    assert {p.dtype for p in twin.model.parameters()} == {torch.bfloat16}
    assert {p.dtype for p in tiny.model.parameters()} == {torch.float32}  # learning untouched
    prompt = render(tiny.tokenizer, persona="", instruction="go")
    rows = [("sky", prompt), ("sea", prompt), (None, prompt)] * 2
    gens = bank.generate(rows, SAMPLE)
    with torch.no_grad():
        exact = bank.score(
            [(b, p, g.token_ids) for (b, p), g in zip(rows, gens, strict=True)], temperature=1.0
        )
    sampled = torch.zeros_like(exact.logprobs)
    for i, g in enumerate(gens):
        sampled[i, : len(g.logprobs)] = torch.tensor(g.logprobs)
    gap = (exact.logprobs - sampled).abs()[exact.mask]
    assert gap.numel() > 20 and gap.mean().item() < 0.05 and gap.max().item() < 0.5
    assert gap.max().item() > 0  # it did sample in another precision
    float32 = _bank(tiny, tmp_path / "f", "float32")
    assert float32.sampler() is tiny


def test_an_on_policy_ratio_starts_at_one_whatever_sampled_it(tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bank = _bank(tiny, tmp_path, "float32")
    trainer = PolicyTrainer(bank, GRPOConfig(kl_coef=0.0, kl_reference="base"))
    prompt = render(tiny.tokenizer, persona="", instruction="go")
    ids = tiny.tokenizer.encode(" hello there friend", add_special_tokens=False)
    far = [-9.0] * len(ids)  # a sampling policy far from the float32 one

    def samples(on_policy: bool) -> list[Sample]:
        return [
            Sample(
                bot="sky",
                prompt_ids=prompt,
                token_ids=ids,
                old_logprobs=far,
                advantage=a,
                on_policy=on_policy,
            )
            for a in (1.0, -1.0)
        ]

    on = trainer.update(samples(True))
    assert on.clip_fraction == 0.0 and on.sampling_gap > 1.0
    assert torch.isfinite(torch.tensor(on.loss))  # the weight is capped (is_cap)
    off = trainer.update(samples(False))  # published posts: the ratio to what sampled them
    assert off.clip_fraction == 1.0


def test_a_grpo_step_sampling_in_bfloat16_reports_its_gap(tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bank = _bank(tiny, tmp_path, "bfloat16")
    trainer = PolicyTrainer(
        bank, GRPOConfig(group_size=4, max_new_tokens=8, kl_reference="base", seed=0)
    )
    prompt = render(tiny.tokenizer, persona="", instruction="go")
    report = trainer.step([("sky", prompt)], reward_fn=lambda bot, texts: [len(t) for t in texts])
    assert report.clip_fraction == 0.0 and 0 < report.sampling_gap < 0.05


def test_auto_follows_the_cpu_and_names_are_checked() -> None:
    assert resolve_sampling("auto") == ("bfloat16" if cpu_bf16() else "float32")
    kernel = sampling_kernel()
    assert kernel["precision"] == resolve_sampling("auto") and kernel["torch_cpu_capability"]
    with pytest.raises(ValueError, match="not one of"):
        BankConfig(sampling_precision="int3")
