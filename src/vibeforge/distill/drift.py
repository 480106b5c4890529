"""When an elder is due to retrain: its subset drifted, or its schedule came round.

    centroid shift   cosine distance between the centroid of the subset's outputs when the elder
                     was trained and the centroid of their recent outputs now
    token drift      Jensen-Shannon divergence (bits, 0..1) between the word distributions of
                     the same two sets of outputs (add-one smoothed over the union vocabulary)
    schedule         the elder is older than retrain_days

Either drift measure past its threshold, or the schedule, makes the elder due.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine

from vibeforge.distill.cluster import centroid, cosine_distance
from vibeforge.distill.config import DistillConfig
from vibeforge.distill.elders import ElderVersion
from vibeforge.distill.outputs import bot_outputs
from vibeforge.embedding import Embedder
from vibeforge.errors import NotFoundError
from vibeforge.store import queries as q
from vibeforge.store import session_scope

_WORD = re.compile(r"\w+", re.UNICODE)
VOCAB = 2000  # words kept in a snapshot's distribution


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """Where a set of outputs stands: embedding centroid and word distribution."""

    n: int
    centroid: list[float]
    words: dict[str, float]  # the VOCAB most frequent words -> probability

    def as_json(self) -> dict[str, Any]:
        return {"n": self.n, "centroid": self.centroid, "words": self.words}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Snapshot:
        return cls(n=int(data["n"]), centroid=list(data["centroid"]), words=dict(data["words"]))


def word_distribution(texts: Sequence[str], *, vocab: int = VOCAB) -> dict[str, float]:
    counts = Counter(w for t in texts for w in _WORD.findall(t.casefold()))
    top = counts.most_common(vocab)
    total = sum(c for _, c in top) or 1
    return {w: c / total for w, c in top}


def snapshot(texts: Sequence[str], *, embedder: Embedder) -> Snapshot:
    if not texts:
        raise ValueError("no outputs to take a snapshot of")
    c = centroid(embedder.encode(list(texts)))
    return Snapshot(
        n=len(texts), centroid=[round(float(v), 6) for v in c], words=word_distribution(texts)
    )


def js_divergence(p: dict[str, float], q_: dict[str, float]) -> float:
    """Jensen-Shannon divergence in bits of two word distributions (add-one smoothed)."""
    vocab = sorted(set(p) | set(q_))
    if not vocab:
        return 0.0
    a = np.array([p.get(w, 0.0) for w in vocab]) + 1e-4
    b = np.array([q_.get(w, 0.0) for w in vocab]) + 1e-4
    a, b = a / a.sum(), b / b.sum()
    m = (a + b) / 2

    def kl(x: np.ndarray, y: np.ndarray) -> float:
        return float((x * np.log2(x / y)).sum())

    return max(0.0, 0.5 * kl(a, m) + 0.5 * kl(b, m))


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftStatus:
    elder: str
    version: int
    bots: tuple[str, ...]
    trained_at: str
    age_days: float
    centroid_shift: float | None  # None: no recent outputs to compare
    token_divergence: float | None
    due: bool
    reasons: tuple[str, ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        return {
            "elder": self.elder,
            "version": self.version,
            "bots": list(self.bots),
            "trained_at": self.trained_at,
            "age_days": round(self.age_days, 3),
            "centroid_shift": None
            if self.centroid_shift is None
            else round(self.centroid_shift, 4),
            "token_divergence": None
            if self.token_divergence is None
            else round(self.token_divergence, 4),
            "due": self.due,
            "reasons": list(self.reasons),
        }


def recent_texts(engine: Engine, *, bots: Sequence[str], per_bot: int) -> list[str]:
    """The newest guard-passing outputs of each bot that still exists."""
    texts: list[str] = []
    with session_scope(engine) as s:
        for name in bots:
            try:
                bot = q.get_bot(s, name=name)
            except NotFoundError:
                continue
            texts += [o.text for o in bot_outputs(s, bot=bot, limit=per_bot)]
    return texts


def drift_status(
    engine: Engine,
    *,
    record: ElderVersion,
    embedder: Embedder,
    config: DistillConfig,
    now: datetime | None = None,
) -> DriftStatus:
    """How far the elder's subset moved since it was trained, and whether it is due."""
    now = now or datetime.now(UTC)
    trained = datetime.fromisoformat(record.created_at) if record.created_at else now
    age_days = (now - trained).total_seconds() / 86400
    reasons = []
    shift = divergence = None
    texts = recent_texts(engine, bots=record.bots, per_bot=config.recent_outputs)
    if texts and record.baseline:
        then = Snapshot.from_json(record.baseline)
        current = snapshot(texts, embedder=embedder)
        shift = cosine_distance(np.asarray(then.centroid), np.asarray(current.centroid))
        divergence = js_divergence(then.words, current.words)
        if shift > config.drift_centroid:
            reasons.append(f"centroid moved {shift:.3f} > drift_centroid {config.drift_centroid:g}")
        if divergence > config.drift_tokens:
            reasons.append(
                f"word distribution diverged {divergence:.3f} bits > drift_tokens "
                f"{config.drift_tokens:g}"
            )
    if config.retrain_days is not None and age_days >= config.retrain_days:
        reasons.append(
            f"scheduled: trained {age_days:.1f} days ago >= retrain_days {config.retrain_days:g}"
        )
    return DriftStatus(
        elder=record.name,
        version=record.version,
        bots=record.bots,
        trained_at=record.created_at,
        age_days=age_days,
        centroid_shift=shift,
        token_divergence=divergence,
        due=bool(reasons),
        reasons=tuple(reasons),
    )
