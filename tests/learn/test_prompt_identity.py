"""An adapter is trained on the prompts it is served with: SFT, act and RL build the same ids.

Each prompt is taken from its own step's code path on a real store and the tiny real model:
act's from the candidate trace it stores, RL's from the loop's sampled_prompt over the
timeline, SFT's from the prompts the loop's SFT round passes to the loss.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import torch

from vibeforge.domain import Bot, CandidateStatus, Post, Timeline, TimelineKind
from vibeforge.loop.act import act
from vibeforge.loop.config import LoopConfig
from vibeforge.loop.learn import LearnReport, sampled_prompt, sft
from vibeforge.loop.runtime import Runtime
from vibeforge.models.adapters import AdapterStore
from vibeforge.models.bank import AdapterBank
from vibeforge.models.testing import tiny_base
from vibeforge.privacy.pseudonym import pseudonymizer
from vibeforge.privacy.scrub import Scrubber, ScrubConfig
from vibeforge.store import make_engine, session_scope, upgrade
from vibeforge.store import queries as q

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
TEXTS = [  # oldest first; one carries a scrubbing placeholder, one is longer than a shown post
    "boarding at gate 12 again, third delay this week",
    "@user thanks for the free upgrade on the red-eye",
    "the lounge coffee machine is broken " + "and so is my spirit " * 12,
    "cancelled again lol, see you tomorrow airport",
]


def test_sft_trains_on_the_prompt_ids_act_and_rl_sample_with(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import vibeforge.learn.vibe as vibe

    engine = make_engine(f"sqlite:///{tmp_path / 'vibeforge.db'}")
    upgrade(engine)
    bot = Bot(name="sky", timeline="airlines", persona="a frequent flyer who jokes about delays")
    with session_scope(engine) as s:
        q.create_timeline(s, timeline=Timeline(name="airlines", kind=TimelineKind.LIST, source="1"))
        q.create_bot(s, bot=bot)
        posts = [
            Post(id=str(i), text=t, author_id=f"a{i}", created_at=T0 + timedelta(minutes=i))
            for i, t in enumerate(TEXTS)
        ]
        q.add_posts(s, posts=posts, timeline="airlines")
    base = tiny_base(seed=0)
    rt = Runtime(
        engine=engine,
        platform=None,  # type: ignore[arg-type]  # dry run and no account: never called
        home=tmp_path,
        clock=lambda: T0 + timedelta(hours=1),
        config=LoopConfig(
            dry_run=True, candidates=4, max_new_tokens=8, sft_min_new_posts=1, sft_max_steps=1
        ),
        bank_factory=lambda: AdapterBank(base, AdapterStore(tmp_path / "adapters")),
        scrubber=Scrubber(ScrubConfig(ner=False)),
        pseudonymize=pseudonymizer("k" * 32),
    )

    # SFT: every prompt the loop's round trains on (the real loss, recorded on the way)
    trained: list[tuple[int, ...]] = []
    real_score = vibe.score

    def recording_score(base, *, prompts, **kw):  # type: ignore[no-untyped-def]
        trained.extend(tuple(p) for p in prompts)
        return real_score(base, prompts=prompts, **kw)

    monkeypatch.setattr(vibe, "score", recording_score)
    report = LearnReport()
    sft(rt, bot, report)
    assert report.sft_version == 1

    # act: the prompt its chosen candidate was generated from
    torch.manual_seed(0)
    act(rt, [bot], now=T0 + timedelta(hours=1))
    with session_scope(engine) as s:
        [chosen] = q.list_candidates(s, bot="sky", status=CandidateStatus.CHOSEN)
    served = tuple(chosen.trace.prompt_ids)
    assert served in trained

    # RL: the prompts it samples over the timeline are the ones SFT trained on, act's among
    # them (3 of the 4 posts shown, in the timeline's order, as SFT shows each post the rest)
    timeline = rt.timeline_texts("airlines", limit=50)
    rng = random.Random(0)
    sampled = {tuple(sampled_prompt(rt, bot, timeline, rng)) for _ in range(40)}
    assert sampled == set(trained)
    assert served in sampled
    assert len(sampled) == len(TEXTS)  # each post trained under its own context
