"""Reinforcement learning from engagement: GRPO on the reward model, plus an off-policy update
from the real, delayed rewards of published posts.

One GRPO step, top to bottom:

    1. prompts   one per bot from its persona and recent timeline context
    2. sample    G completions per prompt, every bot's rows in ONE mixed-adapter batch;
                 keep each token's log-probability under the sampling policy (old_logp)
    3. reward    r = reward model(text), failed guard checks below the group     # (B,)
                 (learn.guard.guarded_rewards; a sample cut by the token limit fails)
    4. advantage A = (r - mean_group(r)) / (std_group(r) + eps)                  # (B,)
    5. loss      per token t of row b, with ratio = exp(logp - old_logp), old_logp the
                 float32 score itself (detached: the ratio starts at exactly 1) and
                 w = min(exp(old_logp - sample_logp), is_cap) for sampling in bfloat16:
                   -w · min(ratio · A_b, clip(ratio, 1 - ε, 1 + ε) · A_b)
                   + β · KL_k3(π ‖ π_ref),  KL_k3 = exp(ref - logp) - (ref - logp) - 1
                 averaged over a row's tokens, then over rows; π_ref is the bot's own frozen
                 SFT (or spawn) adapter, the newest ancestor RL did not write
                 (AdapterBank.reference; `kl_reference="base"`: the base model, adapter
                 disabled). Only the LoRA tensors learn
    6. update    per bot: clip the gradient norm, one AdamW step on its LoRA tensors

Simplifications: one optimisation pass per batch (so the ratio starts at 1 and the clip only
matters for the off-policy update); optimiser state lives in memory (a restart re-creates it),
for at most the bank's capacity of bots: the least recently trained one gives its state up.

The off-policy update takes published posts (prompt, completion, the log-probabilities they were
sampled with) and their real reward; advantages are normalised per bot over the batch and the
importance ratio π/π_behaviour is clipped, as in PPO.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from vibeforge.domain import SamplingTrace
    from vibeforge.models.bank import AdapterBank
    from vibeforge.models.generate import Generation
    from vibeforge.models.lora import LoraWeights

# (bot, texts) -> one reward per text; step passes the texts as Completions
RewardFunc = Callable[[str, Sequence[str]], Sequence[float]]


class Completions(list[str]):
    """One group's texts as `PolicyTrainer.step` hands them to the reward function: a list of
    str that also says how each generation stopped (`finish_reasons`, see
    models.generate.Generation), so the reward can fail samples cut by the token limit (the
    guard's "truncated" check). RL learns from the sampled token ids, so it scores the text as
    sampled, untrimmed; only act trims what it publishes."""

    finish_reasons: list[str]

    def __init__(self, texts: Sequence[str], finish_reasons: Sequence[str]) -> None:
        super().__init__(texts)
        if len(finish_reasons) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(finish_reasons)} finish reasons")
        self.finish_reasons = list(finish_reasons)


@dataclass(frozen=True, slots=True, kw_only=True)
class GRPOConfig:
    group_size: int = 8  # G: completions per prompt
    max_new_tokens: int = 48  # per completion
    temperature: float = 0.9  # sampling temperature (also used to score)
    top_p: float = 1.0
    learning_rate: float = 1e-4  # AdamW on the LoRA tensors
    weight_decay: float = 0.0
    clip_eps: float = 0.2  # ε of the clipped ratio
    kl_coef: float = 0.04  # β of the KL to the reference policy
    # π_ref: "sft" keeps RL near what the bot learnt from its niche's posts (they read like
    # the niche; the base model does not), "base" near the untuned model
    kl_reference: str = "sft"
    max_grad_norm: float = 1.0
    scale_rewards: bool = True  # divide advantages by the group's std
    micro_batch: int = 16  # sequences per forward/backward; gradients accumulate across them
    seed: int | None = None
    # cap of the per-token importance weight π_train/π_sample of on-policy samples (sampling
    # in bfloat16, learning in float32: truncated importance sampling)
    is_cap: float = 2.0

    def __post_init__(self) -> None:
        if self.group_size < 2:
            raise ValueError(
                f"group_size ({self.group_size}) must be >= 2: GRPO normalises rewards within a "
                "group; use 8"
            )
        if self.temperature <= 0:
            raise ValueError(f"temperature ({self.temperature}) must be > 0 to sample a group")
        if not 0 < self.clip_eps < 1:
            raise ValueError(f"clip_eps ({self.clip_eps}) must be within (0, 1); 0.2 is typical")
        if self.kl_coef < 0:
            raise ValueError(f"kl_coef ({self.kl_coef}) must be >= 0")
        if self.kl_reference not in ("sft", "base"):
            raise ValueError(f"kl_reference ({self.kl_reference!r}) must be 'sft' or 'base'")
        if self.learning_rate <= 0 or self.learning_rate > 1:
            raise ValueError(f"learning_rate ({self.learning_rate}) must be in (0, 1]; try 1e-4")
        if self.max_grad_norm <= 0:
            raise ValueError(f"max_grad_norm ({self.max_grad_norm}) must be > 0")
        if self.max_new_tokens < 1:
            raise ValueError("max_new_tokens must be >= 1")
        if self.micro_batch < 1:
            raise ValueError(f"micro_batch ({self.micro_batch}) must be >= 1; 16 suits a CPU")
        if self.is_cap < 1:
            raise ValueError(f"is_cap ({self.is_cap}) must be >= 1; 2 is typical")


@dataclass(frozen=True, slots=True, kw_only=True)
class Sample:
    """One completion to learn from."""

    bot: str
    prompt_ids: list[int]
    token_ids: list[int]
    old_logprobs: list[float]  # under the policy that sampled it, in its precision
    advantage: float
    # sampled by the current weights just now (a GRPO step), maybe in another precision: the
    # ratio's denominator is the float32 score itself (the ratio starts at exactly 1), and
    # min(π/π_sample, is_cap) per token weights the term instead
    on_policy: bool = False


@dataclass
class StepReport:
    loss: float = 0.0
    kl: float = 0.0
    clip_fraction: float = 0.0
    mean_reward: dict[str, float] = field(default_factory=dict)
    completions: int = 0
    tokens: int = 0
    grad_norm: dict[str, float] = field(default_factory=dict)
    texts: dict[str, list[str]] = field(default_factory=dict)
    # mean |log π_train − log π_sample| per on-policy token: what sampling precision costs
    sampling_gap: float = 0.0


def group_advantages(
    rewards: Sequence[float], *, scale: bool = True, eps: float = 1e-4
) -> list[float]:
    """(r - mean) / (std + eps) within one group; all-equal rewards give zeros."""
    n = len(rewards)
    mean = math.fsum(rewards) / n
    centred = [r - mean for r in rewards]
    if not scale:
        return centred
    std = math.sqrt(math.fsum(c * c for c in centred) / max(n - 1, 1))
    return [c / (std + eps) for c in centred]


class PolicyTrainer:
    """Holds one AdamW optimiser per bot's adapter and applies GRPO-style updates."""

    def __init__(self, bank: AdapterBank, config: GRPOConfig | None = None) -> None:
        self.bank = bank
        self.config = config or GRPOConfig()
        # bot -> (id of its first tensor, optimiser); at most the bank's capacity, least
        # recently trained first: a bot that leaves gives its float32 copy back (bank.release)
        self._optimizers: OrderedDict[str, tuple[int, torch.optim.Optimizer]] = OrderedDict()
        self._draws = 0  # sampling calls so far: a seeded trainer draws fresh samples each step

    @property
    def max_bots(self) -> int:
        """Bots one update may train at once, and bots whose optimiser state is kept."""
        return self.bank.config.capacity

    def training(self) -> list[str]:
        """Bots with optimiser state now, least recently trained first."""
        return list(self._optimizers)

    def _optimizer(self, bot: str) -> torch.optim.Optimizer:
        import torch

        weights = self.bank.trainable(bot)
        params = weights.requires_grad_(True).parameters()
        key = id(params[0])
        entry = self._optimizers.get(bot)
        if entry is None or entry[0] != key:  # new adapter object (reloaded or replaced)
            opt = torch.optim.AdamW(
                params, lr=self.config.learning_rate, weight_decay=self.config.weight_decay
            )
            entry = self._optimizers[bot] = (key, opt)
        self._optimizers.move_to_end(bot)
        while len(self._optimizers) > self.max_bots:
            gone, _ = self._optimizers.popitem(last=False)
            self.bank.release(gone)
        return entry[1]

    def reference(self, bot: str) -> LoraWeights | None:
        """π_ref's adapter for `bot` (None: the base model): see GRPOConfig.kl_reference."""
        if self.config.kl_reference == "base":
            return None
        return self.bank.reference(bot)

    def sample(self, prompts: Sequence[tuple[str, Sequence[int]]]) -> list[list[Generation]]:
        """G completions for each (bot, prompt) in one mixed batch; grouped per prompt."""
        from vibeforge.models.generate import SamplingParams

        c = self.config
        seed = None if c.seed is None else c.seed + self._draws
        self._draws += 1
        params = SamplingParams(
            max_new_tokens=c.max_new_tokens, temperature=c.temperature, top_p=c.top_p, seed=seed
        )
        requests = [(bot, p) for bot, p in prompts for _ in range(c.group_size)]
        gens = self.bank.generate(requests, params)
        return [gens[i * c.group_size : (i + 1) * c.group_size] for i in range(len(prompts))]

    def step(
        self, prompts: Sequence[tuple[str, Sequence[int]]], *, reward_fn: RewardFunc
    ) -> StepReport:
        """One GRPO step over several bots' prompts (steps 2-6 of the module docstring)."""
        groups = self.sample(prompts)
        samples: list[Sample] = []
        report = StepReport()
        for (bot, prompt), gens in zip(prompts, groups, strict=True):
            texts = Completions([g.text for g in gens], [g.finish_reason for g in gens])
            rewards = [float(r) for r in reward_fn(bot, texts)]
            advantages = group_advantages(rewards, scale=self.config.scale_rewards)
            report.mean_reward[bot] = math.fsum(rewards) / len(rewards)
            report.texts.setdefault(bot, []).extend(texts)
            samples.extend(
                Sample(
                    bot=bot,
                    prompt_ids=list(prompt),
                    token_ids=list(g.token_ids),
                    old_logprobs=list(g.logprobs),
                    advantage=a,
                    on_policy=True,
                )
                for g, a in zip(gens, advantages, strict=True)
            )
        stats = self.update(samples)
        report.loss, report.kl, report.clip_fraction = stats.loss, stats.kl, stats.clip_fraction
        report.grad_norm = stats.grad_norm
        report.sampling_gap = stats.sampling_gap
        report.completions = len(samples)
        report.tokens = sum(len(s.token_ids) for s in samples)
        return report

    def off_policy(self, samples: Sequence[Sample]) -> StepReport:
        """Learn from published posts' real rewards (advantages already set per bot)."""
        return self.update(samples)

    def update(self, samples: Sequence[Sample]) -> StepReport:
        """The clipped policy-gradient loss with KL to the reference, one optimiser step per
        bot."""
        import torch

        c = self.config
        report = StepReport(completions=len(samples))
        samples = [s for s in samples if s.token_ids and s.advantage == s.advantage]
        if not samples:
            return report
        bots = list(dict.fromkeys(s.bot for s in samples))
        if len(bots) > self.max_bots:
            raise ValueError(
                f"one update trains {len(bots)} bots but the bank keeps {self.max_bots} "
                "resident; split the bots into batches of at most that many"
            )
        optimizers = {b: self._optimizer(b) for b in bots}
        for opt in optimizers.values():
            opt.zero_grad(set_to_none=True)
        n = len(samples)
        totals = {"loss": 0.0, "kl": 0.0, "clipped": 0.0, "tokens": 0.0, "gap": 0.0, "on": 0.0}
        # micro-batches bound the activations kept for backward (many bots' groups share a
        # step); each adds its rows' share of the mean loss, so the gradient is the full batch's
        for start in range(0, n, c.micro_batch):
            part = samples[start : start + c.micro_batch]
            self._accumulate(part, n_total=n, totals=totals)
        for bot, opt in optimizers.items():
            params = opt.param_groups[0]["params"]
            norm = torch.nn.utils.clip_grad_norm_(params, c.max_grad_norm)
            report.grad_norm[bot] = float(norm)
            opt.step()
        n_tok = max(totals["tokens"], 1.0)
        report.loss = totals["loss"]
        report.kl = totals["kl"] / n_tok
        report.clip_fraction = totals["clipped"] / n_tok
        report.sampling_gap = totals["gap"] / max(totals["on"], 1.0)
        report.tokens = int(totals["tokens"])
        return report

    def _accumulate(
        self, samples: Sequence[Sample], *, n_total: int, totals: dict[str, float]
    ) -> None:
        """Backward of these rows' part of the batch loss; adds their figures to `totals`."""
        import torch

        c = self.config
        refs = {b: self.reference(b) for b in dict.fromkeys(s.bot for s in samples)}
        with torch.no_grad():  # the reference policy: frozen, no gradient
            ref = self.bank.score(
                [(refs[s.bot], s.prompt_ids, s.token_ids) for s in samples],
                temperature=c.temperature,
            )
        cur = self.bank.score(
            [(s.bot, s.prompt_ids, s.token_ids) for s in samples], temperature=c.temperature
        )
        mask = cur.mask.float()  # (B, T)
        width = mask.shape[1]
        sampled = torch.zeros_like(mask)  # log π_sample, in the precision it was sampled in
        for i, s in enumerate(samples):
            sampled[i, : len(s.old_logprobs)] = torch.tensor(s.old_logprobs[:width])
        on = torch.tensor([s.on_policy for s in samples])[:, None]  # (B, 1)
        now = cur.logprobs.detach()
        old = torch.where(on, now, sampled)  # on-policy: the ratio is exactly 1 to start
        adv = torch.tensor([s.advantage for s in samples])[:, None]  # (B, 1)
        log_ratio = (cur.logprobs - old) * mask
        ratio = log_ratio.exp()
        clipped = ratio.clamp(1 - c.clip_eps, 1 + c.clip_eps)
        pg = -torch.minimum(ratio * adv, clipped * adv)  # (B, T)
        # truncated importance weight for sampling in another precision than learning
        weight = ((now - sampled) * mask).clamp(max=math.log(c.is_cap)).exp()
        pg = torch.where(on, pg * weight, pg)
        delta = (ref.logprobs - cur.logprobs) * mask
        kl = delta.exp() - delta - 1  # k3 estimator, >= 0
        per_token = (pg + c.kl_coef * kl) * mask
        per_row = per_token.sum(1) / mask.sum(1).clamp(min=1)  # (B,)
        loss = per_row.sum() / n_total  # this part's share of the batch mean
        loss.backward()
        with torch.no_grad():
            totals["loss"] += float(loss)
            totals["kl"] += float((kl * mask).sum())
            totals["clipped"] += float((((ratio - clipped).abs() > 1e-6).float() * mask).sum())
            totals["tokens"] += float(mask.sum())
            on_mask = mask * on
            totals["gap"] += float(((now - sampled).abs() * on_mask).sum())
            totals["on"] += float(on_mask.sum())


@dataclass(frozen=True, slots=True, kw_only=True)
class Published:
    """A published post for the off-policy update: how it was sampled, and its real reward."""

    bot: str
    trace: SamplingTrace
    reward: float


def off_policy_samples(published: Sequence[Published], *, scale: bool = True) -> list[Sample]:
    """Published posts → samples with advantages normalised per bot over this batch."""
    by_bot: dict[str, list[int]] = {}
    for i, row in enumerate(published):
        by_bot.setdefault(row.bot, []).append(i)
    advantages = [0.0] * len(published)
    for rows in by_bot.values():
        if len(rows) < 2:
            continue
        adv = group_advantages([published[i].reward for i in rows], scale=scale)
        for i, a in zip(rows, adv, strict=True):
            advantages[i] = a
    return [
        Sample(
            bot=p.bot,
            prompt_ids=list(p.trace.prompt_ids),
            token_ids=list(p.trace.token_ids),
            old_logprobs=list(p.trace.logprobs),
            advantage=advantages[i],
        )
        for i, p in enumerate(published)
    ]
