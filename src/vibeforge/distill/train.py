"""Training an elder on a composite dataset, conditioned on each example's niche tag.

    data      each example is the assistant's answer to the elder's prompt for its niche
              (learn.prompt.elder_prompt: the tag, and the example's timeline posts if any);
              loss only on the post's tokens and its end token
    order     a fixed schedule of batches for every epoch, drawn from the seed up front, so a
              resumed run continues with exactly the batches an uninterrupted one would see
    step      AdamW on the LoRA tensors (method lora) or on every weight (method full),
              gradient norm clipped to 1
    resume    every `checkpoint_every` steps the weights, optimiser state, step and loss curve
              go to <elder>/.checkpoint/state.pt (atomically); a run over the same dataset picks
              up from there, and the checkpoint is removed once the version is saved
    eval      mean token loss on (up to 64 of) the examples before and after

Simplifications: no learning-rate schedule, no packing, no held-out split (the bots' own
reward models and niche assignment judge the elder, see bench/distill.py).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vibeforge.atomic import atomic_write
from vibeforge.distill.config import DistillConfig
from vibeforge.distill.dataset import Example
from vibeforge.learn.prompt import TEMPLATE, elder_prompt

if TYPE_CHECKING:
    import torch

    from vibeforge.models.base import Base
    from vibeforge.models.lora import LoraWeights

log = logging.getLogger(__name__)
Progress = Callable[[int, int, float], None]  # (step, total steps, loss)
STATE = "state.pt"


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainResult:
    weights: LoraWeights | None  # None for a full fine-tune (the base model itself moved)
    metrics: dict[str, Any]


def _encode(
    base: Base, examples: Sequence[Example], max_tokens: int
) -> list[tuple[list[int], list[int]]]:
    """(prompt ids, completion ids + end token) per example; tag-only prompts cached per niche."""
    eos = int(base.tokenizer.eos_token_id)
    tag_only: dict[str, list[int]] = {}
    out = []
    for e in examples:
        if e.context:
            prompt = elder_prompt(base.tokenizer, niches=[e.niche], context=e.context)
        else:
            if e.niche not in tag_only:
                tag_only[e.niche] = elder_prompt(base.tokenizer, niches=[e.niche])
            prompt = tag_only[e.niche]
        ids = base.tokenizer(e.text.strip(), add_special_tokens=False)["input_ids"]
        if ids:
            out.append((prompt, [int(i) for i in ids[: max_tokens - 1]] + [eos]))
    return out


def schedule(n: int, *, config: DistillConfig) -> list[list[int]]:
    """Every batch of every epoch, as example indices, capped at max_steps."""
    rng = random.Random(config.seed)
    batches = []
    for _ in range(config.epochs):
        order = list(range(n))
        rng.shuffle(order)
        batches += [order[i : i + config.batch_size] for i in range(0, n, config.batch_size)]
    return batches[: config.max_steps] if config.max_steps else batches


def _loss(
    base: Base, weights: LoraWeights | None, rows: Sequence[tuple[list[int], list[int]]]
) -> torch.Tensor:
    from vibeforge.models.generate import score

    scores = score(
        base,
        prompts=[p for p, _ in rows],
        completions=[c for _, c in rows],
        adapters=[weights] * len(rows),
    )
    return -(scores.logprobs.sum() / scores.mask.sum())  # mean token NLL


def eval_loss(
    base: Base, weights: LoraWeights | None, examples: Sequence[Example], *, config: DistillConfig
) -> float:
    """Mean token loss of (up to 64 of) the examples under the elder, no gradients."""
    import torch

    rows = _encode(base, list(examples)[:64], config.max_tokens)
    total = count = 0.0
    with torch.no_grad():
        for i in range(0, len(rows), config.batch_size):
            batch = rows[i : i + config.batch_size]
            n = sum(len(c) for _, c in batch)
            total += float(_loss(base, weights, batch)) * n
            count += n
    return total / max(count, 1)


def _params(base: Base, weights: LoraWeights | None) -> list[torch.Tensor]:
    if weights is not None:
        return weights.requires_grad_(True).parameters()
    params: list[torch.Tensor] = list(base.model.parameters())
    for p in params:
        p.requires_grad_(True)
    return params


def _save_checkpoint(folder: Path, state: dict[str, Any]) -> None:
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / STATE, lambda f: torch.save(state, f))


def _load_checkpoint(folder: Path | None, *, fingerprint: dict[str, Any]) -> dict[str, Any] | None:
    import torch

    if folder is None or not (folder / STATE).exists():
        return None
    state = torch.load(folder / STATE, weights_only=False)
    if state.get("fingerprint") != fingerprint:
        log.info("checkpoint in %s is for another run; starting over", folder)
        return None
    return dict(state)


def _tensors(base: Base, weights: LoraWeights | None) -> dict[str, torch.Tensor]:
    if weights is not None:
        return {k: t.detach().clone() for k, t in weights.to_peft_state_dict().items()}
    return {k: t.detach().clone() for k, t in base.model.state_dict().items()}


def _restore(base: Base, weights: LoraWeights | None, tensors: dict[str, torch.Tensor]) -> None:
    import torch

    with torch.no_grad():
        if weights is None:
            base.model.load_state_dict(tensors)
            return
        from vibeforge.models.lora import LoraWeights as LW

        loaded = LW.from_peft_state_dict(tensors, spec=weights.spec)
        for path, (a, b) in weights.tensors.items():
            a.copy_(loaded.tensors[path][0])
            b.copy_(loaded.tensors[path][1])


def train_elder(
    *,
    base: Base,
    examples: Sequence[Example],
    config: DistillConfig,
    dataset_sha256: str,
    initial: LoraWeights | None = None,
    checkpoint: Path | None = None,
    progress: Progress | None = None,
) -> TrainResult:
    """Train the elder (LoRA on `base`, or all of `base` for method full); see the docstring."""
    import torch

    from vibeforge.models.lora import LoraSpec, init_lora

    if not examples:
        raise ValueError("the dataset is empty: no bot had enough usable outputs")
    weights: LoraWeights | None = None
    if config.method == "lora":
        spec = LoraSpec(rank=config.lora_rank, alpha=2.0 * config.lora_rank)
        weights = (
            initial.clone(torch.float32)  # trains in float32 whatever it was saved in
            if initial is not None
            else init_lora(base.model, spec, seed=config.seed)
        )
    rows = _encode(base, examples, config.max_tokens)
    batches = schedule(len(rows), config=config)
    fingerprint = {
        "dataset": dataset_sha256,
        "method": config.method,
        "steps": len(batches),
        "seed": config.seed,
        "base": base.name,
    }
    before = eval_loss(base, weights, examples, config=config)
    params = _params(base, weights)
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate)
    curve: list[float] = []
    start = 0
    state = _load_checkpoint(checkpoint, fingerprint=fingerprint)
    if state is not None:
        _restore(base, weights, state["tensors"])
        optimizer.load_state_dict(state["optimizer"])
        curve, start = list(state["curve"]), int(state["step"])
        log.info("resuming elder training at step %d of %d", start, len(batches))
    tokens = 0
    t0 = time.perf_counter()
    base.model.train()
    try:
        for step in range(start, len(batches)):
            loss = _loss(base, weights, [rows[i] for i in batches[step]])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            tokens += sum(len(rows[i][1]) for i in batches[step])
            curve.append(round(float(loss.detach()), 5))
            done = step + 1
            if checkpoint is not None and (
                done % config.checkpoint_every == 0 or done == len(batches)
            ):
                _save_checkpoint(
                    checkpoint,
                    {
                        "fingerprint": fingerprint,
                        "step": done,
                        "curve": curve,
                        "tensors": _tensors(base, weights),
                        "optimizer": optimizer.state_dict(),
                    },
                )
            if progress:
                progress(done, len(batches), curve[-1])
    finally:
        base.model.eval()
        for p in params:
            p.requires_grad_(False)
    elapsed = time.perf_counter() - t0
    after = eval_loss(base, weights, examples, config=config)
    metrics = {
        "loss_curve": curve,
        "loss_before": round(before, 5),
        "loss_after": round(after, 5),
        "steps": len(batches),
        "resumed_from": start,
        "examples": len(rows),
        "completion_tokens": tokens,
        "tokens_per_s": round(tokens / elapsed, 1) if elapsed > 0 and tokens else None,
        "lr": config.learning_rate,
        "method": config.method,
        "prompt_version": TEMPLATE.version,
    }
    log.info("elder training: %d steps, loss %.3f -> %.3f", len(batches), before, after)
    return TrainResult(weights=weights, metrics=metrics)


def clear_checkpoint(folder: Path) -> None:
    (folder / STATE).unlink(missing_ok=True)
