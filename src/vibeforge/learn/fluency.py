"""Fluency: how likely the frozen base model finds a text, against the niche's human posts.

    score      the base model, no adapter, reads the bare text (no prompt, no special token):
               its first token is context only (with nothing before it, its log-prob is a
               unigram guess that depends on which start token a model was trained with); each
               later token is scored, and the sum of their log-probs is taken
                 per token  sum / scored tokens
                 per byte   sum / UTF-8 bytes those tokens cover
    reference  the same two scores of the niche's human posts (the timeline's newest, up to
               FluencyConfig.reference_posts): per scale, the median m and the robust spread
               s = max(1.4826·MAD, min_relative_spread·|m|)
    judge      a text fails when either scale is below m − z·s (z = 3.5)
    short      few tokens make a noisy mean: n scored tokens are shrunk toward the median as if
               `prior_tokens` more had scored it, (n·x + k·m) / (n + k), so a two-word post is not
               failed on one rare word, and a text of one token (or none) passes on its own

Why two scales: on SmolLM2-135M with the sandbox's airline and Apple tweets, random vocabulary
pieces ("token soup", what a policy drifting off language tends to emit) are a few long tokens,
each very unlikely: the per-token mean fails ~97% of them while per byte they look human.
Shuffled or random characters are many short tokens that, once the model sees garbage, are each
only moderately unlikely: per token they look human, per byte all of them fail. Human posts
fail either scale at a rate of about 0-3% (z = 3.5, 64 reference posts). A low quantile of
the human scores minus a margin was the alternative: with 16-64 reference posts the 5%
quantile is the second or third lowest post, so the median and MAD move less between
recalibrations. Word salad made of the niche's own words, or a human post with its words
shuffled, mostly passes: human tweets (fragments, hashtags, mojibake) are about as unlikely.

The scorer only reads: autograd off (inference_mode), every row without an adapter, and it
refuses to run inside another batch's LoraRuntime.use (models.generate.score), so a trainer's
adapters, optimiser state and RNG are untouched.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vibeforge.models.base import Base

MAD_TO_SIGMA = 1.4826  # MAD × this estimates σ for a normal distribution


@dataclass(frozen=True, slots=True, kw_only=True)
class FluencyConfig:
    reference_posts: int = 128  # the newest human posts of the timeline a reference is built on
    min_reference: int = 16  # fewer usable human posts: no reference (the check is skipped)
    z: float = 3.5  # robust standard deviations below the human median that fail
    # floor of the robust spread, a fraction of |median|: near-identical reference posts would
    # otherwise put the threshold at the median
    min_relative_spread: float = 0.1
    prior_tokens: float = 4.0  # k: short texts shrink toward the median (module docstring)
    max_tokens: int = 128  # a text's tokens scored at most (a post has ~20-80)
    batch_size: int = 16  # texts per forward pass
    # recalibrate when the timeline gained this share of the reference's size in new posts
    refresh_share: float = 0.5

    def __post_init__(self) -> None:
        if self.min_reference < 2:
            raise ValueError(
                f"min_reference ({self.min_reference}) must be >= 2: a spread needs two posts; "
                "16 is the default"
            )
        if self.reference_posts < self.min_reference:
            raise ValueError(
                f"reference_posts ({self.reference_posts}) must be >= min_reference "
                f"({self.min_reference}); use {max(128, self.min_reference)}"
            )
        if not self.z > 0:
            raise ValueError(f"z ({self.z}) must be > 0; 3.5 fails ~0-3% of human posts")
        if not 0 <= self.min_relative_spread < 1:
            raise ValueError(
                f"min_relative_spread ({self.min_relative_spread}) must be within [0, 1); "
                "0.1 is the default"
            )
        if self.prior_tokens < 0:
            raise ValueError(f"prior_tokens ({self.prior_tokens}) must be >= 0 (0: no shrinking)")
        if self.max_tokens < 2:
            raise ValueError(f"max_tokens ({self.max_tokens}) must be >= 2; a post has ~20-80")
        if self.batch_size < 1:
            raise ValueError(f"batch_size ({self.batch_size}) must be >= 1; 16 is the default")
        if not 0 < self.refresh_share <= 1:
            raise ValueError(f"refresh_share ({self.refresh_share}) must be within (0, 1]")


@dataclass(frozen=True, slots=True)
class TextScore:
    """A text's log-likelihood under the base model, its first token not scored."""

    total: float  # sum of the scored tokens' log-probs (nats)
    tokens: int  # scored tokens (the text's tokens less the first)
    nbytes: int  # UTF-8 bytes the scored tokens cover

    @property
    def per_token(self) -> float:
        return self.total / self.tokens if self.tokens else 0.0

    @property
    def per_byte(self) -> float:
        return self.total / self.nbytes if self.nbytes else 0.0


class FluencyScorer:
    """Scores texts with the frozen base model (no adapter), in padded batches."""

    def __init__(self, base: Base, *, max_tokens: int = 128, batch_size: int = 16) -> None:
        self.base = base
        self.max_tokens = max_tokens
        self.batch_size = batch_size

    def score(self, texts: Sequence[str]) -> list[TextScore]:
        import torch

        from vibeforge.models.generate import score

        encoded = [self._encode(t) for t in texts]
        out = [TextScore(0.0, 0, 0) for _ in texts]
        rows = sorted(
            (i for i, (ids, _) in enumerate(encoded) if len(ids) >= 2),
            key=lambda i: len(encoded[i][0]),
        )  # similar lengths pad less
        for start in range(0, len(rows), self.batch_size):
            part = rows[start : start + self.batch_size]
            with torch.inference_mode():
                scores = score(
                    self.base,
                    prompts=[encoded[i][0][:1] for i in part],  # the first token: context
                    completions=[encoded[i][0][1:] for i in part],
                    adapters=[None] * len(part),  # the base model, whatever the bank holds
                )  # (B, T)
            totals = scores.logprobs.sum(dim=1).tolist()
            for i, total in zip(part, totals, strict=True):
                ids, nbytes = encoded[i]
                out[i] = TextScore(float(total), len(ids) - 1, nbytes)
        return out

    def _encode(self, text: str) -> tuple[list[int], int]:
        """Token ids (at most max_tokens) and the UTF-8 bytes of all but the first."""
        tok = self.base.tokenizer
        try:
            enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
        except NotImplementedError:  # a slow (Python) tokenizer has no offsets
            enc = tok(text, add_special_tokens=False)
        everything = list(enc["input_ids"])
        ids = everything[: self.max_tokens]
        if len(ids) < 2:
            return ids, 0
        offsets = enc.get("offset_mapping")
        if offsets is None:  # the bytes in proportion to the tokens
            share = (len(ids) - 1) / len(everything)
            return ids, max(1, round(len(text.encode("utf-8")) * share))
        first_end, last_end = int(offsets[0][1]), int(offsets[len(ids) - 1][1])
        # a character split over several byte tokens shares their offsets: at least 1 byte
        return ids, max(1, len(text[first_end:last_end].encode("utf-8")))


@dataclass(frozen=True, slots=True)
class Scale:
    """One scale's human distribution and its threshold."""

    median: float
    spread: float  # robust σ, floored
    threshold: float

    @classmethod
    def fit(cls, values: Sequence[float], config: FluencyConfig) -> Scale:
        median = statistics.median(values)
        mad = statistics.median(abs(v - median) for v in values)
        spread = max(MAD_TO_SIGMA * mad, config.min_relative_spread * abs(median))
        return cls(median=median, spread=spread, threshold=median - config.z * spread)

    def shrunk(self, value: float, tokens: int, prior: float) -> float:
        if tokens + prior == 0:
            return self.median
        return (tokens * value + prior * self.median) / (tokens + prior)


@dataclass(frozen=True, slots=True, kw_only=True)
class FluencyReference:
    """A niche's human fluency, and the guard's judge of new texts against it."""

    scorer: FluencyScorer
    config: FluencyConfig
    size: int  # human posts it was calibrated on
    per_token: Scale
    per_byte: Scale

    @classmethod
    def calibrate(
        cls, scorer: FluencyScorer, texts: Sequence[str], *, config: FluencyConfig | None = None
    ) -> FluencyReference:
        """Fit both scales on human posts; raises ValueError with fewer than min_reference
        posts of two tokens or more."""
        config = config or FluencyConfig()
        scores = [s for s in scorer.score(texts[: config.reference_posts]) if s.tokens > 0]
        if len(scores) < config.min_reference:
            raise ValueError(
                f"{len(scores)} human posts of two tokens or more; a fluency reference needs "
                f"min_reference ({config.min_reference})"
            )
        return cls(
            scorer=scorer,
            config=config,
            size=len(scores),
            per_token=Scale.fit([s.per_token for s in scores], config),
            per_byte=Scale.fit([s.per_byte for s in scores], config),
        )

    def judge(self, texts: Sequence[str]) -> list[tuple[bool, dict[str, Any]]]:
        """(passes?, JSON-ready detail) per text: both scores (shrunk) and thresholds."""
        k = self.config.prior_tokens
        out = []
        for s in self.scorer.score(texts):
            token = self.per_token.shrunk(s.per_token, s.tokens, k)
            byte = self.per_byte.shrunk(s.per_byte, s.tokens, k)
            ok = token >= self.per_token.threshold and byte >= self.per_byte.threshold
            out.append(
                (
                    ok,
                    {
                        "logprob_per_token": _r(token),
                        "threshold_per_token": _r(self.per_token.threshold),
                        "logprob_per_byte": _r(byte),
                        "threshold_per_byte": _r(self.per_byte.threshold),
                        "tokens": s.tokens,
                    },
                )
            )
        return out


def _r(x: float) -> float:
    return round(x, 3) if math.isfinite(x) else 0.0
