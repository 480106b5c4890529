"""Mixed-adapter generation and scoring on a tiny real Llama."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from vibeforge.learn.prompt import render
from vibeforge.models.generate import SamplingParams, generate, score
from vibeforge.models.lora import LoraSpec, init_lora
from vibeforge.models.testing import random_lora
from vibeforge.models.text import weighted_length

GREEDY = SamplingParams(temperature=0, max_new_tokens=16, max_weighted_chars=None)


def _prompts(base, n: int) -> list[list[int]]:  # type: ignore[no-untyped-def]
    # different lengths, so the batch is left-padded
    return [
        render(base.tokenizer, persona="", instruction="post about " + "x" * (3 * i))
        for i in range(n)
    ]


def test_mixed_batch_gives_each_row_what_its_adapter_gives_alone(tiny) -> None:  # type: ignore[no-untyped-def]
    adapters = [random_lora(tiny, seed=s) for s in range(3)]
    adapters.append(random_lora(tiny, rank=8, seed=3))  # another rank: padded in the batch
    rows = [adapters[0], adapters[1], None, adapters[2], adapters[3], adapters[0]]
    prompts = _prompts(tiny, len(rows))
    mixed = generate(tiny, prompts=prompts, adapters=rows, params=GREEDY)
    for prompt, adapter, got in zip(prompts, rows, mixed, strict=True):
        [alone] = generate(tiny, prompts=[prompt], adapters=[adapter], params=GREEDY)
        assert got.token_ids == alone.token_ids
        assert got.logprobs == pytest.approx(alone.logprobs, abs=1e-4)
        assert len(got.token_ids) == GREEDY.max_new_tokens


def test_two_adapters_give_different_outputs_and_a_fresh_one_equals_the_base(tiny) -> None:  # type: ignore[no-untyped-def]
    prompt = _prompts(tiny, 1)[0]
    a, b = random_lora(tiny, seed=1), random_lora(tiny, seed=2)
    fresh = init_lora(tiny.model, LoraSpec(rank=4), seed=5)  # B = 0
    out = generate(tiny, prompts=[prompt] * 4, adapters=[a, b, fresh, None], params=GREEDY)
    assert out[0].token_ids != out[1].token_ids
    assert out[2].token_ids == out[3].token_ids
    assert out[0].logprobs != pytest.approx(out[1].logprobs, abs=1e-3)


def test_rows_that_stop_early_leave_the_batch_without_changing_the_others(tiny) -> None:  # type: ignore[no-untyped-def]
    adapters = [random_lora(tiny, seed=s) for s in range(3)]
    prompts = _prompts(tiny, 3)
    full = generate(tiny, prompts=prompts, adapters=adapters, params=GREEDY)
    # declare a token row 1 makes mid-way (and the others never make) an end-of-post token
    others = set(full[0].token_ids) | set(full[2].token_ids)
    seq = full[1].token_ids
    cut = next(j for j in range(1, len(seq)) if seq[j] not in others and seq[j] not in seq[:j])
    base = dataclasses.replace(tiny, eos_ids=frozenset({seq[cut]}))
    out = generate(base, prompts=prompts, adapters=adapters, params=GREEDY)
    assert out[1].finish_reason == "eos" and out[1].token_ids == seq[: cut + 1]
    assert out[0].token_ids == full[0].token_ids and out[2].token_ids == full[2].token_ids
    assert out[0].finish_reason == "max_tokens"


def test_weighted_character_cap_trims_tokens_and_text_together(tiny) -> None:  # type: ignore[no-untyped-def]
    params = SamplingParams(temperature=1.0, max_new_tokens=60, max_weighted_chars=12, seed=3)
    out = generate(tiny, prompts=_prompts(tiny, 2), adapters=[None, None], params=params)
    for g in out:
        assert g.finish_reason == "length"
        assert weighted_length(g.text) <= 12
        assert g.text == tiny.tokenizer.decode(g.token_ids, skip_special_tokens=True).strip()
        assert len(g.token_ids) == len(g.logprobs) < 60


def test_sampling_is_reproducible_with_a_seed_and_top_k_1_is_greedy(tiny) -> None:  # type: ignore[no-untyped-def]
    prompts = _prompts(tiny, 2)
    rows = [random_lora(tiny, seed=1), None]
    hot = SamplingParams(temperature=1.5, top_p=0.9, max_new_tokens=12, seed=7)
    first = generate(tiny, prompts=prompts, adapters=rows, params=hot)
    again = generate(tiny, prompts=prompts, adapters=rows, params=hot)
    assert [g.token_ids for g in first] == [g.token_ids for g in again]
    greedy = generate(tiny, prompts=prompts, adapters=rows, params=GREEDY)
    top1 = SamplingParams(temperature=1.0, top_k=1, max_new_tokens=16, seed=1)
    top1_out = generate(tiny, prompts=prompts, adapters=rows, params=top1)
    assert [g.token_ids for g in top1_out] == [g.token_ids for g in greedy]
    assert [g.token_ids for g in first] != [g.token_ids for g in greedy]


def test_score_reproduces_generation_logprobs_in_mixed_batches(tiny) -> None:  # type: ignore[no-untyped-def]
    rows = [random_lora(tiny, seed=1), None, random_lora(tiny, seed=2, rank=8)]
    prompts = _prompts(tiny, 3)
    params = SamplingParams(temperature=0.7, max_new_tokens=10, seed=0, max_weighted_chars=None)
    gens = generate(tiny, prompts=prompts, adapters=rows, params=params)
    # completions of different lengths, right-padded in the result
    completions = [g.token_ids[: 10 - 3 * i] for i, g in enumerate(gens)]
    with torch.no_grad():
        scores = score(
            tiny, prompts=prompts, completions=completions, adapters=rows, temperature=0.7
        )
    assert scores.mask.sum(1).tolist() == [10, 7, 4]
    for i, g in enumerate(gens):
        n = len(completions[i])
        assert scores.logprobs[i, :n].tolist() == pytest.approx(g.logprobs[:n], abs=1e-4)
        assert (scores.logprobs[i, n:] == 0).all()


def test_score_gives_gradients_to_the_adapter_and_none_rows_are_the_base(tiny) -> None:  # type: ignore[no-untyped-def]
    policy = random_lora(tiny, seed=4).requires_grad_(True)
    prompts = _prompts(tiny, 2)
    completions = [[70, 71, 72], [73, 74]]
    scores = score(tiny, prompts=prompts, completions=completions, adapters=[policy, None])
    scores.logprobs[0].sum().backward()
    grads = [t.grad for t in policy.parameters()]
    assert all(g is not None for g in grads) and any(g.abs().sum() > 0 for g in grads)
    assert all(not p.requires_grad for p in tiny.model.parameters())
    # the reference row equals the plain base model, no hooks involved
    ids = torch.tensor([prompts[1] + completions[1]])
    with torch.no_grad():
        logits = tiny.model(input_ids=ids).logits[0, -3:-1]
    ref = torch.log_softmax(logits, -1).gather(1, torch.tensor([[73], [74]]))[:, 0]
    assert scores.logprobs[1, :2].tolist() == pytest.approx(ref.tolist(), abs=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "fix"),
    [
        ({"max_new_tokens": 0}, "max_new_tokens"),
        ({"temperature": -1}, "greedy"),
        ({"top_p": 0}, "top_p"),
        ({"max_weighted_chars": 0}, "280"),
    ],
)
def test_sampling_params_say_how_to_fix_bad_values(kwargs, fix) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=fix):
        SamplingParams(**kwargs)


def test_mismatched_rows_are_refused(tiny) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="one per row"):
        generate(tiny, prompts=_prompts(tiny, 2), adapters=[None])


def test_rows_sharing_a_prompt_share_its_prefill_with_the_same_results(tiny) -> None:  # type: ignore[no-untyped-def]
    # two GRPO-like groups: 3 rows of (prompt A, adapter a) and 3 of (prompt B, adapter b)
    a, b = random_lora(tiny, seed=1), random_lora(tiny, seed=2)
    pa, pb = _prompts(tiny, 2)
    prompts, rows = [pa] * 3 + [pb] * 3, [a] * 3 + [b] * 3
    completions = [[70 + i, 80, 90 + i][: 1 + i % 3] for i in range(6)]
    a.requires_grad_(True)
    together = score(tiny, prompts=prompts, completions=completions, adapters=rows)
    together.logprobs.sum().backward()
    grads = [t.grad.clone() for t in a.parameters()]
    for t in a.parameters():
        t.grad = None
    separate = [
        score(tiny, prompts=[p], completions=[c], adapters=[w])
        for p, c, w in zip(prompts, completions, rows, strict=True)
    ]
    sum(s.logprobs.sum() for s in separate).backward()
    a.requires_grad_(False)
    for i, s in enumerate(separate):
        n = len(completions[i])
        assert together.logprobs[i, :n].tolist() == pytest.approx(s.logprobs[0].tolist(), abs=1e-5)
    for g, t in zip(grads, a.parameters(), strict=True):
        assert torch.allclose(g, t.grad, atol=1e-5)
        t.grad = None
    # sampled rows of one group are independent draws, greedy rows all equal the single row
    hot = SamplingParams(temperature=1.5, max_new_tokens=8, seed=3)
    drawn = generate(tiny, prompts=[pa] * 4, adapters=[a] * 4, params=hot)
    assert len({tuple(g.token_ids) for g in drawn}) > 1
    greedy = generate(tiny, prompts=[pa] * 3, adapters=[a] * 3, params=GREEDY)
    [alone] = generate(tiny, prompts=[pa], adapters=[a], params=GREEDY)
    assert all(g.token_ids == alone.token_ids for g in greedy)
