"""Mixed-adapter generation and scoring on one base model.

    generate: left-pad the prompts, prefill once, then a lean decode loop on the KV cache; each
              row uses its own adapter (LoraRuntime), rows leave the batch as they finish
              (end-of-post token, max_new_tokens, or the X-weighted character cap).
    score:    log-probabilities of given completion tokens under each row's adapter (None: the
              base model, i.e. the KL reference), with autograd when it is enabled.
    trim:     a completion cut by max_new_tokens or the cap, back to its last sentence or word
              end, tokens with it (trim_generation; the act step publishes nothing cut mid-word).

Log-probabilities are of the sampling distribution before top-k/top-p truncation:
log_softmax(logits / temperature) (temperature 0: the raw logits), so `score(...,
temperature=t)` reproduces what `generate` returned at temperature t (the GRPO ratio needs it).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vibeforge.models.text import (
    MAX_WEIGHTED_LENGTH,
    MIN_TRIMMED_WORDS,
    trim_cut,
    weighted_length,
)

# transformers renames the KV-cache argument in a future release and warns on every forward;
# the argument is what this version takes, and one warning per decode step drowns the logs
warnings.filterwarnings(
    "ignore", message=r".*`past_key_values` is deprecated", category=FutureWarning
)

if TYPE_CHECKING:
    import torch

    from vibeforge.models.base import Base
    from vibeforge.models.lora import LoraWeights


@dataclass(frozen=True, slots=True, kw_only=True)
class SamplingParams:
    max_new_tokens: int = 64  # hard cap on generated tokens per row
    temperature: float = 0.8  # 0 means greedy
    top_p: float = 1.0  # nucleus sampling mass; 1 disables it
    top_k: int = 0  # keep the k most likely tokens; 0 disables it
    max_weighted_chars: int | None = MAX_WEIGHTED_LENGTH  # X-weighted cap on the text
    seed: int | None = None  # sampling seed; None draws from torch's global generator

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens ({self.max_new_tokens}) must be >= 1; try 64")
        if self.temperature < 0:
            raise ValueError(f"temperature ({self.temperature}) must be >= 0 (0 = greedy)")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p ({self.top_p}) must be within (0, 1]; 1 disables it")
        if self.top_k < 0:
            raise ValueError(f"top_k ({self.top_k}) must be >= 0; 0 disables it")
        if self.max_weighted_chars is not None and self.max_weighted_chars < 1:
            raise ValueError("max_weighted_chars must be >= 1 or None (X allows 280)")


@dataclass(frozen=True, slots=True, kw_only=True)
class Generation:
    """One generated completion: its text, tokens and their log-probabilities."""

    text: str
    token_ids: list[int]  # the completion, including the end-of-post token when it stopped so
    logprobs: list[float]  # one per token id
    prompt_ids: list[int] = field(repr=False)
    finish_reason: str  # eos | max_tokens | length (the X-weighted cap) | trimmed (see below)


# a generation that stopped at one of these limits may end inside a word ("the aptly n")
CUT_REASONS = frozenset({"max_tokens", "length"})


def trim_generation(
    gen: Generation, tokenizer: Any, *, min_words: int = MIN_TRIMMED_WORDS
) -> Generation | None:
    """A generation cut by a limit, trimmed back to a sentence or word end (text.trim_cut).

    Its tokens and log-probabilities are cut with it, to the shortest prefix whose text
    covers the trimmed text, so a trace stored from it still matches what is published; its
    finish reason becomes "trimmed". A generation that ended its post (eos, trimmed) comes back
    as it is; None when too little would be left (the guard's "truncated" check fails it).
    """
    if gen.finish_reason not in CUT_REASONS:
        return gen
    text = trim_cut(gen.text, min_words=min_words)
    if text is None:
        return None
    k = len(gen.token_ids)
    while k > 1 and _text(tokenizer, gen.token_ids[: k - 1]).startswith(text):
        k -= 1
    return Generation(
        text=text,
        token_ids=gen.token_ids[:k],
        logprobs=gen.logprobs[:k],
        prompt_ids=gen.prompt_ids,
        finish_reason="trimmed",
    )


def _left_pad(rows: Sequence[Sequence[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        if r:
            ids[i, width - len(r) :] = torch.tensor(list(r), dtype=torch.long)
            mask[i, width - len(r) :] = 1
    return ids, mask


def _positions(mask: torch.Tensor) -> torch.Tensor:
    return (mask.cumsum(-1) - 1).clamp(min=0)


def _check(prompts: Sequence[Sequence[int]], adapters: Sequence[Any]) -> None:
    if len(prompts) != len(adapters):
        raise ValueError(f"{len(prompts)} prompts but {len(adapters)} adapters; pass one per row")
    if any(len(p) == 0 for p in prompts):
        raise ValueError(
            "empty prompt: every row needs at least one token (see learn.prompt.bot_prompt)"
        )


def _sample(
    logits: torch.Tensor, params: SamplingParams, gen: torch.Generator | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Next tokens (B,) and their log-probabilities (B,) under the sampling distribution.

    `logits` are already divided by the temperature (see `_logits`).
    """
    import torch

    if params.temperature == 0:
        logp = torch.log_softmax(logits, dim=-1)
        tokens = logits.argmax(dim=-1)
        return tokens, logp.gather(1, tokens[:, None])[:, 0]
    logp = torch.log_softmax(logits, dim=-1)  # (B, V)
    filtered = logp
    if params.top_k:
        kth = torch.topk(filtered, min(params.top_k, filtered.shape[-1]), dim=-1).values[:, -1:]
        filtered = filtered.masked_fill(filtered < kth, float("-inf"))
    if params.top_p < 1:
        sorted_lp, order = torch.sort(filtered, descending=True, dim=-1)
        cum = sorted_lp.exp().cumsum(-1)
        drop = cum - sorted_lp.exp() > params.top_p  # keep the smallest set reaching top_p
        filtered = filtered.scatter(1, order, sorted_lp.masked_fill(drop, float("-inf")))
    tokens = _draw(filtered.exp(), gen)
    return tokens, logp.gather(1, tokens[:, None])[:, 0]


def _draw(probs: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
    """One token per row of (B, V) probabilities, by inverting the cumulative distribution.

    torch.multinomial draws V exponentials per row (about 11 ms a decode step at V = 49k on
    this CPU); a cumulative sum and one uniform per row cost a fraction of that.
    """
    import torch

    cdf = probs.double().cumsum(-1)  # (B, V); float64 so the tail of a large vocab keeps mass
    u = torch.rand(probs.shape[0], 1, generator=gen, dtype=torch.float64) * cdf[:, -1:]
    # first index whose cdf exceeds u: a zero-probability token is never chosen
    tokens = torch.searchsorted(cdf, u, right=True)[:, 0]
    return tokens.clamp_(max=probs.shape[-1] - 1)


@dataclass(slots=True)
class _Prefilled:
    cache: Any  # DynamicCache holding every row's prompt
    mask: torch.Tensor  # (B, L) attention mask of the left-padded prompts
    next_pos: torch.Tensor  # (B, 1) position of each row's next token
    hidden: torch.Tensor  # (B, H) final hidden state after each prompt


def _prefill(
    base: Base,
    prompts: Sequence[Sequence[int]],
    adapters: Sequence[LoraWeights | None],
) -> _Prefilled:
    """Run each distinct (prompt, adapter) once and share its KV cache across its rows.

    GRPO samples G completions per prompt and SFT trains many posts after one prompt, so the
    prompt is usually computed once instead of G times. Autograd flows through the shared cache.
    """
    import torch
    from transformers import DynamicCache

    keys = [(tuple(p), id(a)) for p, a in zip(prompts, adapters, strict=True)]
    first = {k: i for i, k in reversed(list(enumerate(keys)))}  # key -> first row using it
    unique_rows = sorted(set(first.values()))
    slot = {keys[r]: j for j, r in enumerate(unique_rows)}
    ids, mask = _left_pad([prompts[r] for r in unique_rows], base.pad_id)
    positions = _positions(mask)
    cache = DynamicCache()
    with base.runtime.use([adapters[r] for r in unique_rows]):
        hidden = _body(base)(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            past_key_values=cache,
            use_cache=True,
        ).last_hidden_state[:, -1, :]
    next_pos = positions[:, -1:] + 1
    if len(unique_rows) < len(keys):
        index = torch.tensor([slot[k] for k in keys])
        cache.batch_select_indices(index)
        mask, next_pos, hidden = mask[index], next_pos[index], hidden[index]
    return _Prefilled(cache=cache, mask=mask, next_pos=next_pos, hidden=hidden)


def _body(base: Base) -> Any:
    """The decoder stack without its LM head (hidden states, not logits)."""
    return base.model.base_model


def _logits(base: Base, hidden: torch.Tensor, *, temperature: float = 1.0) -> torch.Tensor:
    """LM-head logits of hidden states (..., H) divided by `temperature` (0 or 1: as they are).

    Without a bias or soft-capping the head is linear, so the temperature scales the narrow
    hidden states instead of the vocabulary-wide logits (one pass over 49k columns fewer).
    """
    import torch

    head = base.head if base.head is not None else base.model.get_output_embeddings()
    hidden = hidden.to(head.weight.dtype)
    cap = getattr(base.model.config, "final_logit_softcapping", None)
    scale = temperature not in (0, 1)
    linear = not cap and getattr(head, "bias", None) is None
    logits = head(hidden / temperature if scale and linear else hidden)
    if cap:
        logits = torch.tanh(logits / cap) * cap
    if scale and not linear:
        logits = logits / temperature
    return logits if logits.dtype == torch.float32 else logits.float()


def generate(
    base: Base,
    *,
    prompts: Sequence[Sequence[int]],
    adapters: Sequence[LoraWeights | None],
    params: SamplingParams | None = None,
) -> list[Generation]:
    """Generate one completion per prompt, row i under adapters[i] (None: the base model)."""
    import torch

    params = params or SamplingParams()
    _check(prompts, adapters)
    gen = torch.Generator().manual_seed(params.seed) if params.seed is not None else None
    tok = base.tokenizer
    n = len(prompts)
    out_ids: list[list[int]] = [[] for _ in range(n)]
    out_lp: list[list[float]] = [[] for _ in range(n)]
    reasons = ["max_tokens"] * n
    active = list(range(n))  # original row of each batch row
    with torch.inference_mode():
        pre = _prefill(base, prompts, adapters)
        cache, mask, next_pos = pre.cache, pre.mask, pre.next_pos
        logits = _logits(base, pre.hidden, temperature=params.temperature)
        with base.runtime.use(list(adapters)):
            for step in range(params.max_new_tokens):
                tokens, lps = _sample(logits, params, gen)
                keep: list[int] = []
                # one host transfer per step, not one per row
                for b, (row, token, lp) in enumerate(
                    zip(active, tokens.tolist(), lps.tolist(), strict=True)
                ):
                    out_ids[row].append(token)
                    out_lp[row].append(lp)
                    if token in base.eos_ids:
                        reasons[row] = "eos"
                        continue
                    cap = params.max_weighted_chars
                    if cap is not None and weighted_length(_text(tok, out_ids[row])) > cap:
                        out_ids[row].pop()  # the token that crossed the cap is not in the post
                        out_lp[row].pop()
                        reasons[row] = "length"
                        continue
                    keep.append(b)
                if not keep or step == params.max_new_tokens - 1:
                    break
                if len(keep) < len(active):
                    index = torch.tensor(keep)
                    cache.batch_select_indices(index)
                    base.runtime.select_rows(index)
                    mask, next_pos, tokens = mask[index], next_pos[index], tokens[index]
                    active = [active[b] for b in keep]
                mask = torch.cat([mask, mask.new_ones(len(active), 1)], dim=1)
                hidden = _body(base)(
                    input_ids=tokens[:, None],
                    attention_mask=mask,
                    position_ids=next_pos,
                    past_key_values=cache,
                    use_cache=True,
                ).last_hidden_state[:, -1, :]
                logits = _logits(base, hidden, temperature=params.temperature)
                next_pos = next_pos + 1
    return [
        Generation(
            text=_text(tok, out_ids[i]),
            token_ids=out_ids[i],
            logprobs=out_lp[i],
            prompt_ids=list(prompts[i]),
            finish_reason=reasons[i],
        )
        for i in range(n)
    ]


def _text(tokenizer: Any, ids: Sequence[int]) -> str:
    return str(tokenizer.decode(list(ids), skip_special_tokens=True)).strip()


@dataclass(frozen=True, slots=True, kw_only=True)
class Scores:
    """Per-token log-probabilities of completions, right-padded."""

    logprobs: torch.Tensor  # (B, T) float, 0 where mask is 0
    mask: torch.Tensor  # (B, T) bool, True on real completion tokens


def score(
    base: Base,
    *,
    prompts: Sequence[Sequence[int]],
    completions: Sequence[Sequence[int]],
    adapters: Sequence[LoraWeights | None],
    temperature: float = 1.0,
) -> Scores:
    """Log-probabilities of each completion given its prompt, row i under adapters[i].

    Gradients flow to the adapters' tensors when autograd is enabled (the policy term of
    GRPO); pass None rows under `torch.no_grad()` for the reference policy (adapter disabled).
    """
    import torch

    _check(prompts, adapters)
    if len(completions) != len(prompts):
        raise ValueError(f"{len(prompts)} prompts but {len(completions)} completions")
    if temperature < 0:
        raise ValueError(f"temperature ({temperature}) must be >= 0 (0 scores the raw logits)")
    longest = max((len(c) for c in completions), default=0)
    if longest == 0:
        empty = torch.zeros(len(prompts), 0)
        return Scores(logprobs=empty, mask=empty.bool())
    pre = _prefill(base, prompts, adapters)
    comp = torch.full((len(prompts), longest), base.pad_id, dtype=torch.long)  # right-padded
    valid = torch.zeros((len(prompts), longest), dtype=torch.bool)
    for i, c in enumerate(completions):
        comp[i, : len(c)] = torch.tensor(list(c), dtype=torch.long)
        valid[i, : len(c)] = True
    hidden = pre.hidden[:, None, :]  # (B, 1, H): predicts each completion's first token
    if longest > 1:
        # right padding is safe: real tokens never attend to the pads after them
        mask = torch.cat([pre.mask, valid[:, :-1].long()], dim=1)
        positions = pre.next_pos + torch.arange(longest - 1)[None, :]
        with base.runtime.use(list(adapters)):
            rest = _body(base)(
                input_ids=comp[:, :-1],
                attention_mask=mask,
                position_ids=positions,
                past_key_values=pre.cache,
                use_cache=True,
            ).last_hidden_state  # (B, longest - 1, H)
        hidden = torch.cat([hidden, rest], dim=1)  # cheap: H wide, not V
    logits = _logits(base, hidden, temperature=temperature)  # (B, longest, V)
    # log_softmax at the picked token, without a second vocabulary-wide tensor
    picked = logits.gather(2, comp[:, :, None])[:, :, 0] - torch.logsumexp(logits, dim=-1)
    return Scores(logprobs=picked.masked_fill(~valid, 0.0), mask=valid)
