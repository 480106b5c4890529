"""The act step publishes no post cut mid-word by max_new_tokens (the tiny real model)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import torch

from vibeforge.domain import Bot, CandidateStatus, Post, Timeline, TimelineKind
from vibeforge.loop.act import act
from vibeforge.loop.config import LoopConfig
from vibeforge.loop.runtime import Runtime
from vibeforge.models.adapters import AdapterStore
from vibeforge.models.bank import AdapterBank
from vibeforge.models.generate import Generation
from vibeforge.models.testing import tiny_base
from vibeforge.privacy.patterns import postable
from vibeforge.privacy.pseudonym import pseudonymizer
from vibeforge.privacy.scrub import Scrubber, ScrubConfig
from vibeforge.store import make_engine, session_scope, upgrade
from vibeforge.store import queries as q

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
BOTS = [Bot(name=f"bot{i}", timeline="airlines", persona="a frequent flyer") for i in range(4)]
SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]»]*\Z")


def _ends_at_a_boundary(text: str, gen: Generation) -> bool:
    """`text` is `gen`'s post, or a prefix of it that stops at a sentence or word end (both
    as act posts them: `postable` collapses white space)."""
    full = postable(gen.text)
    if gen.finish_reason == "eos" or SENTENCE_END.search(text):
        return full.startswith(text)
    if not full.startswith(text):
        return False
    after = full[len(text) :]
    last = text[-1]
    if after:  # trimmed: what follows starts a new word, or the dropped part was its end
        return not (re.match(r"[\w\ufffd]", after) and re.match(r"[\w\ufffd]", last))
    return not re.match(r"[\w\ufffd]", last)  # cut as it was: only after a whole word


def test_no_published_post_ends_mid_word(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'vibeforge.db'}")
    upgrade(engine)
    with session_scope(engine) as s:
        q.create_timeline(s, timeline=Timeline(name="airlines", kind=TimelineKind.LIST, source="1"))
        for bot in BOTS:
            q.create_bot(s, bot=bot)
        posts = [
            Post(id=str(i), text=t, author_id=f"a{i}", created_at=T0 + timedelta(minutes=i))
            for i, t in enumerate(["gate 12 again, third delay", "free upgrade on the red-eye"])
        ]
        q.add_posts(s, posts=posts, timeline="airlines")
    base = tiny_base(seed=0)
    bank = AdapterBank(base, AdapterStore(tmp_path / "adapters"))
    generated: list[Generation] = []
    real_generate = bank.generate

    def recording_generate(requests, params):  # type: ignore[no-untyped-def]
        out = real_generate(requests, params)
        generated.extend(out)
        return out

    monkeypatch.setattr(bank, "generate", recording_generate)
    rt = Runtime(
        engine=engine,
        platform=None,  # type: ignore[arg-type]  # dry run: the platform is never called
        home=tmp_path,
        clock=lambda: T0 + timedelta(hours=1),
        config=LoopConfig(dry_run=True, candidates=6, max_new_tokens=12),
        bank_factory=lambda: bank,
        scrubber=Scrubber(ScrubConfig(ner=False)),
        pseudonymize=pseudonymizer("k" * 32),
    )
    torch.manual_seed(0)
    act(rt, BOTS, now=T0 + timedelta(hours=1))

    assert len(generated) == 6 * len(BOTS)
    assert sum(g.finish_reason == "max_tokens" for g in generated) > len(generated) / 2
    with session_scope(engine) as s:
        published = [p.text for b in BOTS for p in q.list_publications(s, bot=b.name)]
        candidates = [c for b in BOTS for c in q.list_candidates(s, bot=b.name)]
    assert published, "the outbox holds the chosen posts"
    passing = [c for c in candidates if c.status != CandidateStatus.REJECTED]
    assert {c.text for c in passing} >= set(published)
    for text in [c.text for c in passing] + published:
        assert any(_ends_at_a_boundary(text, g) for g in generated), text
    # not vacuous: some posts were trimmed, some could not be and were rejected as cut
    full = [postable(g.text) for g in generated]
    assert any(len(c.text) < min(len(f) for f in full if f.startswith(c.text)) for c in passing)
    cut = [c for c in candidates if not c.guard["truncated"]["ok"]]
    assert cut and all(c.status == CandidateStatus.REJECTED for c in cut)
    finish = [c.guard["truncated"]["finish"] for c in passing]
    assert set(finish) <= {"eos", "trimmed"} and "trimmed" in finish
