"""RL over more ready bots than the bank keeps resident: the loop trains them in chunks of at
most `adapters_resident` bots, every bot learns, and optimiser state stays within the bound."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import torch

import vibeforge.loop.learn as learn
from vibeforge.domain import Bot, Post, Timeline, TimelineKind
from vibeforge.loop.config import LoopConfig
from vibeforge.loop.runtime import Runtime
from vibeforge.models.adapters import AdapterStore
from vibeforge.models.bank import AdapterBank, BankConfig
from vibeforge.models.testing import random_lora, tiny_base
from vibeforge.privacy.pseudonym import pseudonymizer
from vibeforge.privacy.scrub import Scrubber, ScrubConfig
from vibeforge.store import make_engine, session_scope, upgrade
from vibeforge.store import queries as q

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
BOTS = ("sky", "sea", "sun")


class _LengthModel:  # the reward model: longer texts earn more (readiness is another test's)
    def predict(self, texts: Sequence[str], *args: Any, **kwargs: Any) -> np.ndarray:
        return np.array([float(len(t)) for t in texts])


def test_rl_for_more_bots_than_resident_trains_each_within_the_bound(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'vibeforge.db'}")
    upgrade(engine)
    bots = [Bot(name=b, timeline="airlines", persona="a frequent flyer") for b in BOTS]
    with session_scope(engine) as s:
        q.create_timeline(s, timeline=Timeline(name="airlines", kind=TimelineKind.LIST, source="1"))
        for bot in bots:
            q.create_bot(s, bot=bot)
        q.add_posts(
            s,
            posts=[
                Post(
                    id=str(i),
                    text=f"gate {i} changed again, coffee in hand",
                    author_id=f"a{i}",
                    created_at=T0,
                )
                for i in range(12)
            ],
            timeline="airlines",
        )
    bank = AdapterBank(
        tiny_base(seed=0), AdapterStore(tmp_path / "adapters"), BankConfig(capacity=1)
    )
    sft = {
        b: bank.save(b, random_lora(bank.base, seed=i, scale=0.3), kind="sft")
        for i, b in enumerate(BOTS)
    }
    rt = Runtime(
        engine=engine,
        platform=None,  # type: ignore[arg-type]  # never called: dry run, no publishing
        home=tmp_path,
        clock=lambda: T0,
        config=LoopConfig(
            dry_run=True, rl_steps=2, rl_group_size=4, rl_humanlike=0.0, max_new_tokens=8, seed=1
        ),
        bank_factory=lambda: bank,
        scrubber=Scrubber(ScrubConfig(ner=False)),
        pseudonymize=pseudonymizer("k" * 32),
        fluency_config=None,
    )
    monkeypatch.setattr(learn, "rl_ready", lambda rt, bots, reports: list(bots))
    monkeypatch.setattr(rt, "reward_model", lambda name: _LengthModel())
    reports = {b: learn.LearnReport() for b in BOTS}
    learn.rl(rt, bots, reports)
    for b in BOTS:
        rl = bank.store.load(b)
        assert rl.version.kind == "rl" and rl.version.parent == sft[b].version
        before = bank.store.load(b, sft[b].version).weights
        moved = max(
            (x.float() - y.float()).abs().max().item()
            for k in before.tensors
            for x, y in zip(before.tensors[k], rl.weights.tensors[k], strict=True)
        )
        assert moved > 0, f"bot {b} did not learn"
        assert b in reports[b].rl_mean_reward
    assert len(rt.trainer().training()) <= 1 and len(bank.resident()) <= 1
    assert all(
        t.dtype == torch.float16 for b in BOTS for t in bank.store.load(b).weights.parameters()
    )
