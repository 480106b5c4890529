"""The checks before anything is published; each verdict is stored with the candidate.

    regurgitation  no run of >= 8 tokens shared with ingested posts (privacy.memorization)
    duplicate      not a near-duplicate of the bot's recent posts (word-shingle Jaccard)
    toxicity       alt-profanity-check's probability below a threshold (offline model)
    length         X-weighted length <= 280 (URLs count 23, wide characters 2)
    pii            the scrubber finds no handle, URL, email, phone or name left in the text
    echo           not the prompt's own wording ("Write one short post ...", "[niche: ...]"):
                   small models sometimes answer with the instruction instead of a post; the
                   pattern comes from the prompt template (learn.prompt.echo_pattern)
    assistant      not assistant-style text ("I'm sorry", "As an AI", "I can't help",
                   "Sure! Here's a post", ...): ASSISTANT_PATTERNS, case-insensitive, plus
                   GuardConfig.assistant_patterns
    truncated      not cut by a generation limit (max_new_tokens, the X-weighted cap) where it
                   could not be trimmed back to a sentence or word end; needs each text's
                   finish reason (run_guard's finish_reasons, models.generate.Generation), and
                   is skipped without them. RL passes the raw reasons: every cut sample fails
                   (it learns to end its posts); act trims first (models.generate.trim_generation)
    fluency        the frozen base model's mean log-prob of the text, per token and per byte,
                   not far below the niche's human posts (learn.fluency: median − 3.5 robust σ
                   of the timeline's posts on either scale fails); needs run_guard's `fluency`
                   reference (loop.runtime.Runtime.fluency), and is skipped without it

Checks are small callables registered by name, so a platform or a user can add their own.
The RL step ranks failed samples below their group (guarded_rewards); the act step drops
failed candidates; failure_shares reports the share of texts failing each check.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from vibeforge.learn import prompt
from vibeforge.models.generate import CUT_REASONS
from vibeforge.models.text import MAX_WEIGHTED_LENGTH, weighted_length

_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_URL = re.compile(r"https?://\S+", re.IGNORECASE)


class MemorizationIndex(Protocol):
    def check(self, text: str) -> Any: ...


class PiiDetector(Protocol):
    def find(self, text: str) -> list[str]: ...  # kinds of PII found, empty if clean


class FluencyJudge(Protocol):  # learn.fluency.FluencyReference
    def judge(self, texts: Sequence[str]) -> list[tuple[bool, dict[str, Any]]]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class GuardConfig:
    max_weighted_length: int = MAX_WEIGHTED_LENGTH
    toxicity_threshold: float = 0.5  # profanity probability at or above this fails
    duplicate_jaccard: float = 0.6  # shingle Jaccard at or above this is a near-duplicate
    duplicate_window: int = 200  # how many recent posts to compare with
    # RL: the least a failed check puts a sample below its group's lowest reward (the group's
    # spread when that is larger), see guarded_rewards
    penalty: float = 1.0
    assistant_patterns: tuple[str, ...] = ()  # regexes failing "assistant" beside the built-in
    checks: tuple[str, ...] = (
        "length",
        "regurgitation",
        "duplicate",
        "toxicity",
        "pii",
        "echo",
        "assistant",
        "truncated",
        "fluency",
    )

    def __post_init__(self) -> None:
        if not self.penalty > 0:
            raise ValueError(f"penalty ({self.penalty}) must be > 0; 1 is the default")
        for pattern in self.assistant_patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"assistant pattern {pattern!r} is not a regex: {exc}") from exc
        if not 0 < self.toxicity_threshold <= 1:
            raise ValueError(f"toxicity_threshold ({self.toxicity_threshold}) must be in (0, 1]")
        if not 0 < self.duplicate_jaccard <= 1:
            raise ValueError(f"duplicate_jaccard ({self.duplicate_jaccard}) must be in (0, 1]")
        if self.max_weighted_length <= 0:
            raise ValueError("max_weighted_length must be > 0 (X allows 280)")
        unknown = sorted(set(self.checks) - set(_CHECKS))
        if unknown:
            raise ValueError(f"unknown guard checks {unknown}; known: {sorted(_CHECKS)}")


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GuardResult:
    ok: bool
    verdicts: dict[str, Verdict]

    def failed(self) -> list[str]:
        return [name for name, v in self.verdicts.items() if not v.ok]

    def as_json(self) -> dict[str, Any]:
        return {name: {"ok": v.ok, **v.detail} for name, v in self.verdicts.items()}


@dataclass
class GuardContext:
    config: GuardConfig
    recent: Sequence[str] = ()  # the bot's recent posts (for duplicates)
    memorization: MemorizationIndex | None = None
    pii: PiiDetector | None = None
    finish_reasons: Sequence[str] | None = None  # how each text's generation stopped
    fluency: FluencyJudge | None = None  # the niche's human fluency reference
    _recent_shingles: list[set[int]] | None = None

    def recent_shingles(self) -> list[set[int]]:
        if self._recent_shingles is None:
            window = list(self.recent)[-self.config.duplicate_window :]
            self._recent_shingles = [shingles(t) for t in window]
        return self._recent_shingles


Check = Callable[[Sequence[str], GuardContext], list[Verdict]]
_CHECKS: dict[str, Check] = {}


def register_check(name: str) -> Callable[[Check], Check]:
    def wrap(fn: Check) -> Check:
        _CHECKS[name] = fn
        return fn

    return wrap


def shingles(text: str, k: int = 3) -> set[int]:
    tokens = [t.casefold() for t in _TOKEN.findall(_URL.sub(" ", text))]
    if len(tokens) < k:
        return {hash(tuple(tokens))} if tokens else set()
    return {hash(tuple(tokens[i : i + k])) for i in range(len(tokens) - k + 1)}


@register_check("length")
def _length(texts: Sequence[str], ctx: GuardContext) -> list[Verdict]:
    out = []
    for t in texts:
        n = weighted_length(t)
        ok = len(t.strip()) > 0 and n <= ctx.config.max_weighted_length
        out.append(Verdict(ok, {"weighted_length": n}))
    return out


@register_check("duplicate")
def _duplicate(texts: Sequence[str], ctx: GuardContext) -> list[Verdict]:
    recent = ctx.recent_shingles()
    out = []
    for t in texts:
        mine = shingles(t)
        best = 0.0
        for other in recent:
            if mine and other:
                best = max(best, len(mine & other) / len(mine | other))
        out.append(Verdict(best < ctx.config.duplicate_jaccard, {"jaccard": round(best, 3)}))
    return out


@register_check("toxicity")
def _toxicity(texts: Sequence[str], ctx: GuardContext) -> list[Verdict]:
    from profanity_check import predict_prob

    probs = predict_prob(list(texts)) if texts else []
    return [
        Verdict(float(p) < ctx.config.toxicity_threshold, {"profanity": round(float(p), 3)})
        for p in probs
    ]


@register_check("regurgitation")
def _regurgitation(texts: Sequence[str], ctx: GuardContext) -> list[Verdict]:
    if ctx.memorization is None:
        return [Verdict(True, {"skipped": "no index"}) for _ in texts]
    out = []
    for t in texts:
        verdict = ctx.memorization.check(t)
        detail = {k: v for k, v in vars(verdict).items() if k != "ok"}
        out.append(Verdict(bool(verdict.ok), detail))
    return out


@register_check("pii")
def _pii(texts: Sequence[str], ctx: GuardContext) -> list[Verdict]:
    if ctx.pii is None:
        return [Verdict(True, {"skipped": "no detector"}) for _ in texts]
    out = []
    for t in texts:
        found = ctx.pii.find(t)
        out.append(Verdict(not found, {"found": sorted(set(found))} if found else {}))
    return out


@register_check("echo")
def _echo(texts: Sequence[str], ctx: GuardContext) -> list[Verdict]:
    pattern = prompt.echo_pattern(prompt.TEMPLATE)  # looked up now: the template in use
    out = []
    for t in texts:
        found = pattern.search(t)
        out.append(Verdict(found is None, {"echo": found.group(0)} if found else {}))
    return out


# what assistants say and posts seldom do: searched case-insensitively, curly apostrophes read
# as '. A human post may match now and then ("I'm sorry, but ..."); act then picks another
# candidate, and RL only learns to avoid the phrase
ASSISTANT_PATTERNS: tuple[str, ...] = (
    r"^\W*(?:i'?m|i am) (?:so |very |really )?sorry\b",  # a refusal's opening apology
    r"\b(?:i'?m|i am) sorry,? but (?:i|as)\b",
    r"\bas an? (?:ai|artificial intelligence)\b",
    r"\bas an? (?:ai |large |helpful |friendly )?(?:language model|llm|assistant|chatbot)\b",
    r"\b(?:i'?m|i am) (?:just |only )?an? (?:ai|language model|chatbot|virtual assistant)\b",
    r"\bi (?:can'?t|cannot|can not|am unable to|'?m unable to|won'?t be able to) "
    r"(?:help(?! but)|assist|provide|create|generate|fulfil|fulfill|comply)\b",
    r"^\W*i (?:do not|don'?t) (?:support|condone|promote|endorse)\b",
    r"^\W*(?:sure|certainly|of course|absolutely|okay|ok)\b[!,.]*\s*here(?:'s| is| are)\b",
    r"\bhere(?:'s| is| are) (?:a|an|your|the|my|one|some)\s+(?:[\w-]+\s+){0,3}?"
    r"(?:post|posts|tweet|tweets|caption|message|reply|response)\b",
    r"\bi hope this (?:helps|meets)\b",
    r"\bfeel free to (?:modify|adjust|edit|customi[sz]e)\b",
)


@functools.lru_cache(maxsize=16)
def _assistant_regexes(extra: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in ASSISTANT_PATTERNS + extra)


@register_check("assistant")
def _assistant(texts: Sequence[str], ctx: GuardContext) -> list[Verdict]:
    patterns = _assistant_regexes(ctx.config.assistant_patterns)
    out = []
    for t in texts:
        plain = t.replace("\u2019", "'").strip()
        found = next((m for m in (p.search(plain) for p in patterns) if m), None)
        out.append(Verdict(found is None, {"assistant": found.group(0)} if found else {}))
    return out


@register_check("truncated")
def _truncated(texts: Sequence[str], ctx: GuardContext) -> list[Verdict]:
    if ctx.finish_reasons is None:
        return [Verdict(True, {"skipped": "no finish reasons"}) for _ in texts]
    return [Verdict(r not in CUT_REASONS, {"finish": r}) for r in ctx.finish_reasons]


@register_check("fluency")
def _fluency(texts: Sequence[str], ctx: GuardContext) -> list[Verdict]:
    if ctx.fluency is None:
        return [Verdict(True, {"skipped": "no reference"}) for _ in texts]
    return [Verdict(ok, detail) for ok, detail in ctx.fluency.judge(texts)] if texts else []


def run_guard(
    texts: Sequence[str],
    *,
    config: GuardConfig | None = None,
    recent: Iterable[str] = (),
    memorization: MemorizationIndex | None = None,
    pii: PiiDetector | None = None,
    finish_reasons: Sequence[str] | None = None,
    fluency: FluencyJudge | None = None,
) -> list[GuardResult]:
    """Run every configured check on a batch of texts.

    `finish_reasons`: one per text, how its generation stopped (Generation.finish_reason);
    without them the "truncated" check is skipped. `fluency`: the niche's reference
    (learn.fluency.FluencyReference, one batched forward of the base model per call); without
    it the "fluency" check is skipped.
    """
    config = config or GuardConfig()
    if finish_reasons is not None and len(finish_reasons) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(finish_reasons)} finish reasons")
    ctx = GuardContext(
        config=config,
        recent=list(recent),
        memorization=memorization,
        pii=pii,
        finish_reasons=finish_reasons,
        fluency=fluency,
    )
    per_check = {name: _CHECKS[name](texts, ctx) for name in config.checks}
    results = []
    for i in range(len(texts)):
        verdicts = {name: per_check[name][i] for name in config.checks}
        results.append(GuardResult(all(v.ok for v in verdicts.values()), verdicts))
    return results


def guarded_rewards(
    predicted: Iterable[float],
    results: Sequence[GuardResult],
    *,
    config: GuardConfig | None = None,
) -> list[float]:
    """One group's RL rewards (one bot's texts in one step): failed samples ranked last.

    With lo and hi the group's lowest and highest predicted reward and S = max(hi - lo,
    config.penalty), a sample failing k >= 1 checks gets

        lo - k·S + (predicted - lo) / 2

    so every failing sample ranks below every passing one (at most lo - S/2), one failing
    more checks below one failing fewer, and the reward model still orders those failing
    the same number (a group where all fail keeps its ranking). Passing samples keep their
    predicted reward. A flat penalty could not do this: rewards span tens of points, so -1
    barely moved a failing sample's advantage.
    """
    config = config or GuardConfig()
    values = [float(p) for p in predicted]  # a list, or the reward model's array
    if len(values) != len(results):
        raise ValueError(f"{len(values)} rewards but {len(results)} guard results")
    if not values:
        return []
    lo, hi = min(values), max(values)
    spread = max(hi - lo, config.penalty)
    out = []
    for p, result in zip(values, results, strict=True):
        k = len(result.failed())
        out.append(p if k == 0 else lo - k * spread + (p - lo) / 2)
    return out


def failure_shares(results: Sequence[GuardResult]) -> dict[str, float]:
    """The share of texts failing each check, and "any" (failing at least one).

    A check's share counts only the texts it ran on: one skipped for want of its input (no
    memorization index, no finish reasons, no fluency reference) is left out, and a check
    skipped on every text does not appear.
    """
    ran: dict[str, int] = {}
    failed: dict[str, int] = {}
    for result in results:
        for name, verdict in result.verdicts.items():
            if "skipped" in verdict.detail:
                continue
            ran[name] = ran.get(name, 0) + 1
            failed[name] = failed.get(name, 0) + (not verdict.ok)
    shares = {name: failed[name] / n for name, n in ran.items()}
    if results:
        shares["any"] = sum(not r.ok for r in results) / len(results)
    return shares
