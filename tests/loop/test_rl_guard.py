"""The loop's RL reward: a sample failing the guard gets its group's lowest advantage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

import vibeforge.loop.learn as learn
from vibeforge.domain import Bot, Post, Timeline, TimelineKind
from vibeforge.learn.rl import Completions, group_advantages
from vibeforge.loop.config import LoopConfig
from vibeforge.loop.runtime import Runtime
from vibeforge.models.adapters import AdapterStore
from vibeforge.models.bank import AdapterBank
from vibeforge.models.testing import tiny_base
from vibeforge.privacy.pseudonym import pseudonymizer
from vibeforge.privacy.scrub import Scrubber, ScrubConfig
from vibeforge.store import make_engine, session_scope, upgrade
from vibeforge.store import queries as q

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
GROUP = {  # text -> (what the reward model predicts, how its generation stopped)
    "As an AI, I don't fly, but here is a post": (90.0, "eos"),  # assistant-style
    "The lounge at gate 12 had the best coffee and the aptly n": (80.0, "max_tokens"),  # cut
    "gate changed twice, coffee spilled, still smiling": (42.0, "eos"),
    "landed early, a small miracle": (40.0, "eos"),
    "free upgrade on the red-eye!": (20.0, "eos"),
}


class _RewardModel:
    def predict(self, texts: Sequence[str], *args: Any, **kwargs: Any) -> np.ndarray:
        return np.array([GROUP[t][0] for t in texts])


class _Captured(Exception):
    pass


def _reward_fn(tmp_path, monkeypatch, *, timeline: list[str], model: Any, group_size: int, **rt_kw):  # type: ignore[no-untyped-def]
    """The reward function the loop's RL step hands the trainer, for bot "sky" on a timeline of
    `timeline` posts, the reward model replaced by `model` (readiness is another test's)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'vibeforge.db'}")
    upgrade(engine)
    bot = Bot(name="sky", timeline="airlines", persona="a frequent flyer")
    with session_scope(engine) as s:
        q.create_timeline(s, timeline=Timeline(name="airlines", kind=TimelineKind.LIST, source="1"))
        q.create_bot(s, bot=bot)
        q.add_posts(
            s,
            posts=[
                Post(id=str(i), text=t, author_id=f"a{i}", created_at=T0)
                for i, t in enumerate(timeline)
            ],
            timeline="airlines",
        )
    bank = AdapterBank(tiny_base(seed=0), AdapterStore(tmp_path / "adapters"))
    bank.create("sky")
    rt = Runtime(
        engine=engine,
        platform=None,  # type: ignore[arg-type]  # never called
        home=tmp_path,
        clock=lambda: T0,
        config=LoopConfig(dry_run=True, rl_steps=1, rl_group_size=group_size),
        bank_factory=lambda: bank,
        scrubber=Scrubber(ScrubConfig(ner=False)),
        pseudonymize=pseudonymizer("k" * 32),
        **rt_kw,
    )
    captured: dict[str, Any] = {}

    class _Trainer:
        def step(self, prompts, *, reward_fn):  # type: ignore[no-untyped-def]
            captured["reward_fn"] = reward_fn
            raise _Captured

    monkeypatch.setattr(learn, "rl_ready", lambda rt, bots, reports: list(bots), raising=False)
    monkeypatch.setattr(rt, "reward_model", lambda name: model)
    monkeypatch.setattr(rt, "trainer", lambda: _Trainer())
    with pytest.raises(_Captured):
        learn.rl(rt, [bot], {"sky": learn.LearnReport()})
    return captured["reward_fn"]


def test_the_loops_rl_reward_ranks_guard_failures_last(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    reward_fn = _reward_fn(
        tmp_path,
        monkeypatch,
        timeline=["gate 12 again"],
        model=_RewardModel(),
        group_size=len(GROUP),
    )
    texts = Completions(list(GROUP), [reason for _, reason in GROUP.values()])
    rewards = reward_fn("sky", texts)
    adv = group_advantages(rewards)
    # the reward model's two favourites fail the guard (assistant, truncated): ranked last
    assert max(adv[:2]) < min(adv[2:])
    assert adv[2] > adv[3] > adv[4]  # the passing ones keep the model's order


class _FlatRewardModel:
    def predict(self, texts: Sequence[str], *args: Any, **kwargs: Any) -> np.ndarray:
        return np.full(len(texts), 50.0)


def test_the_loops_rl_reward_pays_for_reading_like_the_niche(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The human-likeness critic (rl_humanlike): with the reward model indifferent, a sample
    that reads like the timeline's humans outranks one like the bot's own earlier samples."""
    humans = [
        f"{what} at {where} again, {mood}"
        for what in ("two hour delay", "lost my bag", "gate change", "missed connection")
        for where in ("JFK", "Denver", "Atlanta")
        for mood in ("classic.", "send help")
    ]
    reward_fn = _reward_fn(
        tmp_path,
        monkeypatch,
        timeline=humans,
        model=_FlatRewardModel(),
        group_size=8,
        fluency_config=None,  # the tiny model's fluency is not this test's subject
    )
    topics = ["airline food", "window seats", "boarding", "carry-on fees", "red-eyes", "lounges"]
    for k in range(3):  # the bot's earlier groups: all the same question
        group = [f"What do you think about {t}? Tell me below! ({k})" for t in topics[:4]]
        group += [f"Do you like {t}? Reply and tell me! ({k})" for t in topics[:4]]
        reward_fn("sky", Completions(group, ["eos"] * 8))
    group = ["three hour delay at Newark again, classic.", "What do you think about legroom?"]
    group += [f"Do you like {t}? Reply and tell me!" for t in topics[:6]]
    rewards = reward_fn("sky", Completions(group, ["eos"] * 8))
    assert rewards[0] > max(rewards[1:])
