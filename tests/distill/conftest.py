"""A small ecosystem of bots with outputs in a fresh store, built from the sandbox corpus."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from vibeforge.domain import (
    Bot,
    Candidate,
    CandidateStatus,
    Post,
    Publication,
    PublicationStatus,
    Reward,
    Timeline,
    TimelineKind,
)
from vibeforge.sandbox.corpus import niche_tweets
from vibeforge.sandbox.embed import HashingEmbedder
from vibeforge.store import queries as q
from vibeforge.store import session_scope

OK_GUARD = {"length": {"ok": True}, "toxicity": {"ok": True, "profanity": 0.01}}
BAD_GUARD = {"length": {"ok": True}, "toxicity": {"ok": False, "profanity": 0.93}}


def add_bot(engine, name: str, niche: str) -> None:
    with session_scope(engine) as s:
        if niche not in {t.name for t in q.list_timelines(s)}:
            q.create_timeline(
                s, timeline=Timeline(name=niche, kind=TimelineKind.LIST, source=f"list-{niche}")
            )
        q.create_bot(s, bot=Bot(name=name, timeline=niche, account=name, persona=f"{niche} fan"))


def add_outputs(
    engine,
    bot: str,
    texts: Sequence[str],
    *,
    rewards: Sequence[float] | None = None,
    status: CandidateStatus = CandidateStatus.DISCARDED,
    guard: dict | None = None,
    adapter_version: int = 3,
) -> list[Candidate]:
    rewards = rewards if rewards is not None else [1.0 + i / 100 for i in range(len(texts))]
    with session_scope(engine) as s:
        return q.add_candidates(
            s,
            candidates=[
                Candidate(
                    bot=bot,
                    text=t,
                    adapter_version=adapter_version,
                    predicted_reward=r,
                    guard=dict(guard if guard is not None else OK_GUARD),
                    status=status,
                )
                for t, r in zip(texts, rewards, strict=True)
            ],
        )


def publish(engine, candidate: Candidate, *, post_id: str, reward: float) -> None:
    """Record a candidate as published, with a real reward read at two ages."""
    now = datetime(2026, 1, 6, tzinfo=UTC)
    with session_scope(engine) as s:
        q.enqueue_publication(
            s,
            publication=Publication(
                idempotency_key=f"k-{post_id}",
                bot=candidate.bot,
                text=candidate.text,
                candidate_id=candidate.id,
            ),
        )
        q.transition_publication(s, idempotency_key=f"k-{post_id}", status=PublicationStatus.SENT)
        q.transition_publication(
            s,
            idempotency_key=f"k-{post_id}",
            status=PublicationStatus.CONFIRMED,
            platform_post_id=post_id,
        )
        q.add_posts(
            s,
            posts=[Post(id=post_id, text=candidate.text, author_id="me", created_at=now)],
            bot=candidate.bot,
        )
        for age, value in ((3600.0, reward / 2), (6 * 3600.0, reward)):
            q.add_reward(
                s,
                reward=Reward(
                    bot=candidate.bot, post_id=post_id, value=value, preset="x-2026", age_s=age
                ),
            )


def add_timeline_posts(engine, niche: str, texts: Sequence[str]) -> None:
    start = datetime(2026, 1, 5, tzinfo=UTC)
    with session_scope(engine) as s:
        q.add_posts(
            s,
            posts=[
                Post(
                    id=f"{niche}-{i}",
                    text=t,
                    author_id=f"p{i % 5}",
                    created_at=start + timedelta(minutes=i),
                )
                for i, t in enumerate(texts)
            ],
            timeline=niche,
        )


@pytest.fixture
def sqlite_engine(tmp_path):
    from vibeforge.store import make_engine, upgrade

    eng = make_engine(f"sqlite:///{tmp_path / 'vibeforge.db'}")
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def embedder():
    return HashingEmbedder()


@pytest.fixture
def ecosystem(sqlite_engine):
    """Two airline bots, two Apple bots (60 outputs each), one airline bot with 2 outputs."""
    air, apple = niche_tweets("airlines", limit=240), niche_tweets("apple", limit=240)
    for i, name in enumerate(("sky1", "sky2")):
        add_bot(sqlite_engine, name, "airlines")
        add_outputs(sqlite_engine, name, air[i * 60 : (i + 1) * 60])
    for i, name in enumerate(("fruit1", "fruit2")):
        add_bot(sqlite_engine, name, "apple")
        add_outputs(sqlite_engine, name, apple[i * 60 : (i + 1) * 60])
    add_bot(sqlite_engine, "newbie", "airlines")
    add_outputs(sqlite_engine, "newbie", air[200:202])
    return sqlite_engine
