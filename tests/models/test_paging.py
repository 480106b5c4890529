"""Adapters paged in half precision: bit-identical page cycles, half the memory, float32 only
while a bot trains, and optimiser state for at most the bank's capacity of bots."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from vibeforge.learn.prompt import render
from vibeforge.learn.rl import GRPOConfig, PolicyTrainer, Sample
from vibeforge.models.adapters import AdapterStore
from vibeforge.models.bank import AdapterBank, BankConfig
from vibeforge.models.generate import SamplingParams, score
from vibeforge.models.testing import random_lora

GREEDY = SamplingParams(temperature=0, max_new_tokens=8, max_weighted_chars=None)


def _bits(w) -> list[torch.Tensor]:  # type: ignore[no-untyped-def]
    return [t.detach().clone() for k in sorted(w.tensors) for t in w.tensors[k]]


def _equal(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    if len(a) != len(b):
        return False
    return all(x.dtype == y.dtype and torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_paging_out_and_back_in_is_bit_identical_and_generates_the_same(
    tiny, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    bank = AdapterBank(tiny, AdapterStore(tmp_path), BankConfig(capacity=1))
    bank.save("a", random_lora(tiny, seed=1))
    bank.save("b", random_lora(tiny, seed=2))  # a leaves the bank
    assert bank.resident() == ["b"] and bank.evictions == 1
    first = _bits(bank.get("a"))  # paged in
    prompt = render(tiny.tokenizer, persona="", instruction="go")
    [before] = bank.generate([("a", prompt)], GREEDY)
    for _ in range(3):  # out and back in, three times
        bank.get("b")
        assert bank.resident() == ["b"]
        assert _equal(_bits(bank.get("a")), first)
    [after] = bank.generate([("a", prompt)], GREEDY)
    assert after.token_ids == before.token_ids and after.logprobs == before.logprobs
    stats = bank.stats()
    assert stats.page_ins == 7 and stats.page_in_s > 0 and stats.resident == 1  # a, then 3 × (b, a)


def test_a_resident_adapter_takes_half_the_bytes_of_float32(tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    trained = random_lora(tiny, seed=3)
    full = trained.nbytes()
    half = AdapterBank(tiny, AdapterStore(tmp_path / "h"))
    half.save("a", trained.clone())
    single = AdapterBank(tiny, AdapterStore(tmp_path / "f"), BankConfig(precision="float32"))
    single.save("a", trained.clone())
    assert half.stats().resident_bytes * 2 == full == single.stats().resident_bytes
    small, large = (
        b.store.path("a", 1).joinpath("adapter_model.safetensors").stat().st_size
        for b in (half, single)
    )
    assert small < 0.6 * large  # tensors halve; the header (names, shapes) does not


def test_half_precision_changes_log_probs_within_tolerance(tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """What float16 storage costs: the same completion scored under the float32 adapter and
    under its float16 copy differs by < 1e-2 nats per token (measured ~1e-3 on the tiny model)."""
    weights = random_lora(tiny, seed=4)
    prompt = render(tiny.tokenizer, persona="", instruction="go")
    completion = tiny.tokenizer.encode(" the sky is blue tonight", add_special_tokens=False)
    with torch.no_grad():
        exact = score(tiny, prompts=[prompt], completions=[completion], adapters=[weights])
        half = score(
            tiny, prompts=[prompt], completions=[completion], adapters=[weights.to(torch.float16)]
        )
        plain = score(tiny, prompts=[prompt], completions=[completion], adapters=[None])
    gap = (exact.logprobs - half.logprobs).abs().max().item()
    assert gap < 1e-2
    assert (exact.logprobs - plain.logprobs).abs().max().item() > 10 * gap  # the adapter matters


def test_training_upcasts_and_saving_rounds_to_what_is_on_disk(tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bank = AdapterBank(tiny, AdapterStore(tmp_path))
    bank.save("a", random_lora(tiny, seed=5))
    assert bank.get("a").dtype == torch.float16
    master = bank.trainable("a")
    assert master.dtype == torch.float32 and bank.get("a") is master  # shared with generation
    with torch.no_grad():
        for t in master.parameters():
            t.add_(1e-4 * torch.randn_like(t))  # an update float16 cannot hold exactly
    version = bank.save("a", master, kind="rl")
    assert bank.get("a") is master and bank.version("a") == version  # the trainer keeps it
    on_disk = bank.store.load("a").weights
    assert on_disk.dtype == torch.float16
    assert _equal(_bits(master.to(torch.float16)), _bits(on_disk))
    assert _equal(_bits(master), _bits(on_disk.to(torch.float32)))  # rounded in place
    bank.release("a")
    assert bank.get("a") is not master and _equal(_bits(bank.get("a")), _bits(on_disk))


def test_saving_values_float16_cannot_hold_fails_before_writing(tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bank = AdapterBank(tiny, AdapterStore(tmp_path))
    weights = random_lora(tiny, seed=6)
    next(iter(weights.tensors.values()))[1][0, 0] = 1e6  # beyond float16's 65504
    with pytest.raises(ValueError, match="float32"):
        bank.save("a", weights)
    assert bank.store.version_numbers("a") == []


def _samples(tiny, bots: list[str]) -> list[Sample]:  # type: ignore[no-untyped-def]
    prompt = render(tiny.tokenizer, persona="", instruction="go")
    ids = tiny.tokenizer.encode(" hello there", add_special_tokens=False)
    return [
        Sample(bot=b, prompt_ids=prompt, token_ids=ids, old_logprobs=[0.0] * len(ids), advantage=a)
        for b in bots
        for a in (1.0, -1.0)
    ]


def test_optimiser_state_is_kept_for_at_most_the_banks_capacity(tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bank = AdapterBank(tiny, AdapterStore(tmp_path), BankConfig(capacity=2))
    for i, bot in enumerate(("a", "b", "c")):
        bank.save(bot, random_lora(tiny, seed=10 + i))
    trainer = PolicyTrainer(bank, GRPOConfig(kl_coef=0.0, kl_reference="base"))
    trainer.update(_samples(tiny, ["a", "b"]))
    assert trainer.training() == ["a", "b"]
    assert {bank.get(b).dtype for b in ("a", "b")} == {torch.float32}
    trainer.update(_samples(tiny, ["c"]))
    assert trainer.training() == ["b", "c"]  # a gave its optimiser state up
    assert bank.resident() == ["b", "c"]
    with pytest.raises(ValueError, match="batches of at most"):
        trainer.update(_samples(tiny, ["a", "b", "c"]))
