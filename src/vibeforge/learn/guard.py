"""The checks before anything is published; each verdict is stored with the candidate.

    regurgitation  no run of >= 8 tokens shared with ingested posts (privacy.memorization)
    duplicate      not a near-duplicate of the bot's recent posts (word-shingle Jaccard)
    toxicity       alt-profanity-check's probability below a threshold (offline model)
    length         X-weighted length <= 280 (URLs count 23, wide characters 2)
    pii            the scrubber finds no handle, URL, email, phone or name left in the text
    echo           not the prompt's own wording ("Write one short post ...", "[niche: ...]"):
                   small models sometimes answer with the instruction instead of a post; the
                   pattern comes from the prompt template (learn.prompt.echo_pattern)

Checks are small callables registered by name, so a platform or a user can add their own.
The RL step turns failed checks into penalties; the act step drops failed candidates.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from vibeforge.learn import prompt
from vibeforge.models.text import MAX_WEIGHTED_LENGTH, weighted_length

_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_URL = re.compile(r"https?://\S+", re.IGNORECASE)


class MemorizationIndex(Protocol):
    def check(self, text: str) -> Any: ...


class PiiDetector(Protocol):
    def find(self, text: str) -> list[str]: ...  # kinds of PII found, empty if clean


@dataclass(frozen=True, slots=True, kw_only=True)
class GuardConfig:
    max_weighted_length: int = MAX_WEIGHTED_LENGTH
    toxicity_threshold: float = 0.5  # profanity probability at or above this fails
    duplicate_jaccard: float = 0.6  # shingle Jaccard at or above this is a near-duplicate
    duplicate_window: int = 200  # how many recent posts to compare with
    penalty: float = 1.0  # RL reward penalty per failed check
    checks: tuple[str, ...] = ("length", "regurgitation", "duplicate", "toxicity", "pii", "echo")

    def __post_init__(self) -> None:
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


def run_guard(
    texts: Sequence[str],
    *,
    config: GuardConfig | None = None,
    recent: Iterable[str] = (),
    memorization: MemorizationIndex | None = None,
    pii: PiiDetector | None = None,
) -> list[GuardResult]:
    """Run every configured check on a batch of texts."""
    config = config or GuardConfig()
    ctx = GuardContext(config=config, recent=list(recent), memorization=memorization, pii=pii)
    per_check = {name: _CHECKS[name](texts, ctx) for name in config.checks}
    results = []
    for i in range(len(texts)):
        verdicts = {name: per_check[name][i] for name in config.checks}
        results.append(GuardResult(all(v.ok for v in verdicts.values()), verdicts))
    return results


def penalties(results: Sequence[GuardResult], *, config: GuardConfig | None = None) -> list[float]:
    """RL penalties: minus `penalty` per failed check."""
    config = config or GuardConfig()
    return [-config.penalty * len(r.failed()) for r in results]
