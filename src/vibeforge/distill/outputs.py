"""A bot's outputs as distillation sees them: guard-passing candidates with their scores.

An output is a candidate that passed every guard check (published or not), with the reward the
bot's reward model predicted for it and, where it was published and its metrics were read, its
real engagement (the reward at the oldest age read). `sample_outputs` tops a bot up with fresh
samples from its adapter, guarded and scored like the act step does, stored as candidates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from vibeforge.domain import Bot, Candidate, CandidateStatus
from vibeforge.store import queries as q
from vibeforge.store import session_scope

if TYPE_CHECKING:
    from vibeforge.models.bank import AdapterBank

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Output:
    bot: str
    niche: str
    text: str
    candidate_id: int | None
    adapter_version: int | None
    predicted_reward: float | None  # the bot's reward model, at generation time
    engagement: float | None  # real reward of the published post, where known
    post_id: str | None = None
    created_at: datetime | None = None

    @property
    def score(self) -> float | None:
        """Real engagement where known, else the predicted reward."""
        return self.engagement if self.engagement is not None else self.predicted_reward


def niche_of(bot: Bot) -> str:
    """A bot's niche tag: the timeline it follows (its name when it follows none)."""
    return bot.timeline or bot.name


def passed_guard(candidate: Candidate) -> bool:
    """Every stored guard verdict is ok (a candidate never checked does not pass)."""
    if candidate.status is CandidateStatus.REJECTED or not candidate.guard:
        return False
    return all(
        bool(v.get("ok", False)) if isinstance(v, dict) else bool(v)
        for v in candidate.guard.values()
    )


def _engagement(session: Session, bot: str) -> dict[int, tuple[str, float]]:
    """candidate id -> (post id, reward at the oldest age read) for published candidates."""
    posted = {
        p.platform_post_id: p.candidate_id
        for p in q.list_publications(session, bot=bot)
        if p.platform_post_id and p.candidate_id is not None
    }
    best: dict[str, tuple[float, float]] = {}  # post id -> (age, value)
    for r in q.list_rewards(session, bot=bot):
        if r.post_id in posted and r.age_s >= best.get(r.post_id, (-1.0, 0.0))[0]:
            best[r.post_id] = (r.age_s, r.value)
    return {posted[pid]: (pid, value) for pid, (_, value) in best.items()}


def bot_outputs(session: Session, *, bot: Bot, limit: int | None = None) -> list[Output]:
    """The bot's guard-passing outputs, newest first (at most `limit`)."""
    candidates = [c for c in q.list_candidates(session, bot=bot.name) if passed_guard(c)]
    candidates.sort(key=lambda c: c.id or 0, reverse=True)
    if limit is not None:
        candidates = candidates[:limit]
    real = _engagement(session, bot.name)
    niche = niche_of(bot)
    out = []
    for c in candidates:
        post_id, value = real.get(c.id or -1, (None, None))
        out.append(
            Output(
                bot=bot.name,
                niche=niche,
                text=c.text,
                candidate_id=c.id,
                adapter_version=c.adapter_version,
                predicted_reward=c.predicted_reward,
                engagement=value,
                post_id=post_id,
                created_at=c.created_at,
            )
        )
    return out


# (bot, texts) -> predicted rewards, or None when the bot has no reward model yet
Predictor = Callable[[str, Sequence[str]], Sequence[float] | None]
PromptFor = Callable[[Bot], Sequence[int]]


def sample_outputs(
    *,
    engine: Engine,
    bank: AdapterBank,
    bots: Sequence[Bot],
    per_bot: int,
    predict: Predictor,
    prompt_for: PromptFor,
    max_new_tokens: int = 48,
    temperature: float = 0.9,
    seed: int | None = None,
    memorization: Any = None,
    pii: Any = None,
) -> dict[str, int]:
    """Sample `per_bot` posts from each bot's adapter (one mixed batch), guard and score them,
    and store them as candidates (DISCARDED when they pass, REJECTED when not).

    Returns how many passed the guard per bot.
    """
    from vibeforge.learn.guard import run_guard
    from vibeforge.models.generate import SamplingParams

    if per_bot < 1 or not bots:
        return {}
    params = SamplingParams(max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)
    requests = [(b.name, list(prompt_for(b))) for b in bots for _ in range(per_bot)]
    gens = bank.generate(requests, params)
    passed: dict[str, int] = {}
    for i, bot in enumerate(bots):
        texts = [g.text for g in gens[i * per_bot : (i + 1) * per_bot]]
        with session_scope(engine) as s:
            recent = [p.text for p in q.list_posts(s, bot=bot.name, limit=200)]
        verdicts = run_guard(texts, recent=recent, memorization=memorization, pii=pii)
        predicted = predict(bot.name, texts)
        version = bank.version(bot.name)
        rows = [
            Candidate(
                bot=bot.name,
                text=t,
                adapter_version=version.version if version else None,
                predicted_reward=float(predicted[j]) if predicted is not None else None,
                guard=v.as_json(),
                status=CandidateStatus.DISCARDED if v.ok else CandidateStatus.REJECTED,
            )
            for j, (t, v) in enumerate(zip(texts, verdicts, strict=True))
        ]
        with session_scope(engine) as s:
            q.add_candidates(s, candidates=rows)
        passed[bot.name] = sum(v.ok for v in verdicts)
        log.info(
            "bot %s: sampled %d outputs, %d passed the guard", bot.name, per_bot, passed[bot.name]
        )
    return passed
