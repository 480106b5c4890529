"""Vibe capture: LoRA SFT of a bot's adapter on its scrubbed timeline posts.

    data    the posts newer than the last version's training window, plus a replay sample of
            older ones (replay_ratio × new), so the adapter follows a drifting niche without
            forgetting what still holds
    format  each post is the assistant's answer to the bot's prompt exactly as act and RL
            build it (learn.prompt.bot_prompt): the bot's persona, and `context_posts` other
            posts of its timeline drawn by seed, newest first; loss only on the post's tokens
            and its end token
    step    AdamW on the adapter's A/B only (the base stays frozen), shuffled batches, `epochs`
            passes, gradient norm clipped to 1
    eval    mean token loss on held-out new posts before and after; the loss curve, token
            counts and tokens/s are stored with the version's metrics

Simplifications: no learning-rate schedule, no packing (rows are left-padded per batch).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from vibeforge.domain import post_id_key
from vibeforge.learn.prompt import TEMPLATE, bot_prompt, sample_context
from vibeforge.models.generate import score
from vibeforge.models.lora import LoraSpec, LoraWeights, init_lora
from vibeforge.privacy.patterns import postable

if TYPE_CHECKING:
    import torch

    from vibeforge.domain import AdapterVersion, Post
    from vibeforge.models.bank import AdapterBank
    from vibeforge.models.base import Base

log = logging.getLogger(__name__)
Progress = Callable[[int, int, float], None]  # (step, total steps, loss)


@dataclass(frozen=True, slots=True, kw_only=True)
class VibeConfig:
    lora: LoraSpec = field(default_factory=LoraSpec)  # shape of a bot's first adapter
    lr: float = 1e-3  # AdamW learning rate of the LoRA weights
    weight_decay: float = 0.0
    epochs: int = 2  # passes over the selected posts
    batch_size: int = 8  # posts per step
    max_steps: int | None = None  # stop early after this many steps
    max_post_tokens: int = 96  # longer posts are cut (a 280-char post is ~70 tokens)
    replay_ratio: float = 0.5  # older posts replayed per new post
    max_replay: int = 256  # cap on replayed posts
    holdout: float = 0.1  # share of new posts held out for the before/after loss
    min_posts: int = 4  # fewer new posts than this: nothing to learn yet
    persona: str = ""  # the bot's persona, as its prompts at generation carry it
    context_posts: int = 3  # timeline posts each prompt shows, as act's (LoopConfig.context_posts)
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.lr < 1:
            raise ValueError(f"lr ({self.lr}) must be within (0, 1); 1e-3 suits LoRA")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be >= 1 (e.g. epochs=2, batch_size=8)")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps ({self.max_steps}) must be >= 1 or None")
        if self.max_post_tokens < 4:
            raise ValueError(f"max_post_tokens ({self.max_post_tokens}) must be >= 4; try 96")
        if self.replay_ratio < 0 or self.max_replay < 0:
            raise ValueError("replay_ratio and max_replay must be >= 0 (0 turns replay off)")
        if not 0 <= self.holdout < 0.5:
            raise ValueError(f"holdout ({self.holdout}) must be within [0, 0.5); 0.1 is typical")
        if self.min_posts < 1:
            raise ValueError(f"min_posts ({self.min_posts}) must be >= 1")
        if self.context_posts < 0:
            raise ValueError(f"context_posts ({self.context_posts}) must be >= 0; act shows 3")


@dataclass(frozen=True, slots=True, kw_only=True)
class VibeResult:
    weights: LoraWeights
    metrics: dict[str, Any]  # loss_curve, heldout_loss_before/after, n_new, n_replay, tokens...
    window_start: datetime | None
    window_end: datetime | None


def select_posts(
    posts: Sequence[Post], *, since: datetime | None, config: VibeConfig
) -> tuple[list[Post], list[Post]]:
    """(new posts after `since`, a replay sample of older ones), oldest first."""
    ordered = sorted(posts, key=lambda p: (_utc(p.created_at), post_id_key(p.id)))
    cut = _utc(since) if since is not None else None
    new = [p for p in ordered if cut is None or _utc(p.created_at) > cut]
    old = [p for p in ordered if cut is not None and _utc(p.created_at) <= cut]
    n_replay = min(len(old), config.max_replay, round(config.replay_ratio * len(new)))
    replay = random.Random(config.seed).sample(old, n_replay) if n_replay else []
    return new, replay


def _utc(when: datetime) -> datetime:
    """Naive datetimes are UTC (the store's convention); comparisons need aware ones."""
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Example:
    prompt: list[int]  # the bot's prompt, as act and RL sample it
    completion: list[int]  # the post's tokens and the end token
    context: tuple[str, ...]  # the timeline posts the prompt shows


def sft_examples(
    base: Base, texts: Sequence[str], *, timeline: Sequence[str], config: VibeConfig
) -> list[Example]:
    """One example per non-empty post of `texts`, its prompt showing posts of `timeline`.

    `timeline` is newest first, as act reads it; each post is shown `context_posts` others of
    it (never a copy of itself), drawn from a seed and the post's text, so the same posts over
    the same timeline give the same examples.
    """
    tok = base.tokenizer
    eos = int(tok.eos_token_id)
    shown = [t for t in (postable(x) for x in timeline) if t]  # as Runtime.timeline_texts
    out = []
    for text in texts:
        text = postable(text)  # placeholders are scrubbing artefacts, not the niche's vibe
        if not text:
            continue
        ids = tok(text, add_special_tokens=False)["input_ids"]
        if not ids:
            continue
        pool = [t for t in shown if _fold(t) != _fold(text)]
        rng = random.Random(f"{config.seed}:{text}")
        context = sample_context(pool, k=config.context_posts, rng=rng)
        out.append(
            Example(
                prompt=bot_prompt(tok, persona=config.persona, context=context),
                completion=[int(i) for i in ids[: config.max_post_tokens - 1]] + [eos],
                context=tuple(context),
            )
        )
    return out


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def _loss(base: Base, weights: LoraWeights, batch: Sequence[Example]) -> torch.Tensor:
    """Mean token negative log-likelihood of the examples' completions after their prompts."""
    scores = score(
        base,
        prompts=[e.prompt for e in batch],
        completions=[e.completion for e in batch],
        adapters=[weights] * len(batch),
    )
    return -(scores.logprobs.sum() / scores.mask.sum())


def heldout_loss(
    base: Base,
    weights: LoraWeights,
    texts: Sequence[str],
    config: VibeConfig,
    *,
    timeline: Sequence[str] | None = None,
) -> float:
    """Mean token loss of `texts` as posts under `weights` (no gradients).

    Their prompts show posts of `timeline` (newest first; default: `texts` themselves).
    """
    import torch

    examples = sft_examples(
        base, texts, timeline=texts if timeline is None else timeline, config=config
    )
    if not examples:
        raise ValueError("no non-empty posts to evaluate")
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(examples), config.batch_size):
            batch = examples[i : i + config.batch_size]
            n = sum(len(e.completion) for e in batch)
            total += float(_loss(base, weights, batch)) * n
            count += n
    return total / count


def train_vibe(
    *,
    base: Base,
    posts: Sequence[Post],
    previous: tuple[AdapterVersion, LoraWeights] | None = None,
    config: VibeConfig | None = None,
    progress: Progress | None = None,
    timeline: Sequence[str] | None = None,
) -> VibeResult | None:
    """Train the next adapter version from `previous` (or a fresh adapter) on new posts.

    The prompts show posts of `timeline` (newest first), by default the other `posts`: spawn
    passes the new timeline's posts, as its training posts are an elder's, not the timeline's.
    Returns None when fewer than `min_posts` posts are newer than the previous window.
    """
    import torch

    config = config or VibeConfig()
    since = previous[0].window_end if previous else None
    new, replay = select_posts(posts, since=since, config=config)
    if len(new) < config.min_posts:
        return None
    rng = random.Random(config.seed)
    shuffled = new[:]
    rng.shuffle(shuffled)
    n_held = int(len(new) * config.holdout)
    held, train_new = shuffled[:n_held], shuffled[n_held:]
    if previous is not None:
        weights = previous[1].clone(torch.float32)  # resident ones may be float16
    else:
        weights = init_lora(base.model, config.lora, seed=config.seed)
    weights.requires_grad_(True)
    if timeline is None:  # newest first, as the store lists a timeline (stable for ties)
        timeline = [p.text for p in sorted(posts, key=lambda p: _utc(p.created_at), reverse=True)]
    held_texts = [p.text for p in held if postable(p.text)]
    before = (
        heldout_loss(base, weights, held_texts, config, timeline=timeline) if held_texts else None
    )

    examples = sft_examples(
        base, [p.text for p in train_new + replay], timeline=timeline, config=config
    )
    steps_per_epoch = -(-len(examples) // config.batch_size)
    total = steps_per_epoch * config.epochs
    if config.max_steps is not None:
        total = min(total, config.max_steps)
    optimizer = torch.optim.AdamW(
        weights.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    curve: list[float] = []
    tokens = post_tokens = 0
    started = time.perf_counter()
    step = 0
    base.model.train()  # dropout is 0 in these models; train() only for correctness
    try:
        while step < total:
            rng.shuffle(examples)
            for i in range(0, len(examples), config.batch_size):
                if step >= total:
                    break
                batch = examples[i : i + config.batch_size]
                loss = _loss(base, weights, batch)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(weights.parameters(), 1.0)
                optimizer.step()
                post_tokens += sum(len(e.completion) for e in batch)
                tokens += sum(len(e.completion) + len(e.prompt) for e in batch)
                curve.append(round(float(loss.detach()), 5))
                step += 1
                if progress:
                    progress(step, total, curve[-1])
    finally:
        base.model.eval()
    elapsed = time.perf_counter() - started
    weights.requires_grad_(False)
    after = (
        heldout_loss(base, weights, held_texts, config, timeline=timeline) if held_texts else None
    )
    metrics = {
        "loss_curve": curve,
        "heldout_loss_before": before,
        "heldout_loss_after": after,
        "n_new": len(train_new),
        "n_heldout": len(held),
        "n_replay": len(replay),
        "steps": step,
        "tokens": tokens,  # prompt + post tokens through forward and backward
        "post_tokens": post_tokens,  # tokens the loss is on
        "tokens_per_s": round(tokens / elapsed, 1) if elapsed > 0 else None,
        "lr": config.lr,
        "prompt_version": TEMPLATE.version,  # the prompts it was trained on (learn.prompt)
        "context_posts": config.context_posts,
    }
    log.info("vibe SFT: %d steps, held-out loss %s -> %s", step, before, after)
    return VibeResult(
        weights=weights,
        metrics=metrics,
        window_start=new[0].created_at,
        window_end=new[-1].created_at,
    )


def capture_vibe(
    *,
    bank: AdapterBank,
    bot: str,
    posts: Sequence[Post],
    config: VibeConfig | None = None,
    progress: Progress | None = None,
) -> AdapterVersion | None:
    """One incremental SFT round for `bot`: train from its newest good version and save.

    Returns the new version, or None when there were too few new posts to train on.
    """
    from vibeforge.errors import NotFoundError

    previous = None
    try:
        weights = bank.get(bot)
        version = bank.version(bot)
        if version is not None:
            previous = (version, weights)
    except NotFoundError:
        pass
    result = train_vibe(
        base=bank.base, posts=posts, previous=previous, config=config, progress=progress
    )
    if result is None:
        return None
    return bank.save(
        bot,
        result.weights,
        kind="sft",
        parent=previous[0].version if previous else None,
        window_start=result.window_start,
        window_end=result.window_end,
        metrics=result.metrics,
    )
