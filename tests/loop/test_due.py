"""A round touches only the bots that are due, with store reads that do not grow with the fleet.

Two fleets on the same two timelines, one of 2 bots and one of 6, run a first round (every bot
ingests, learns, posts); a second round at the same platform time finds nothing due. That idle
round must cost the same number of store queries for 6 bots as for 2 (every per-bot read is a
grouped query over the fleet), page no adapter in and read no bot's metrics.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from vibeforge.domain import Bot, Post, PublicationStatus, Timeline, TimelineKind
from vibeforge.loop.build import RuntimeSpec
from vibeforge.loop.due import Posting
from vibeforge.loop.executors import make_executor
from vibeforge.models.testing import TINY_TEST_MODEL
from vibeforge.paths import Home
from vibeforge.store import make_engine, session_scope, upgrade
from vibeforge.store import queries as q

from .conftest import FAST, Eco


def _fleet(home, n: int) -> Eco:
    """`n` bots over the tiny world's airlines and apple lists, at most 2 adapters resident."""
    from vibeforge.sandbox import start_sandbox

    sb = start_sandbox(home=home, world="tiny", seed=0, speed=0)
    db_url = Home(home).database_url
    engine = make_engine(db_url)
    upgrade(engine)
    lists = sb.list_ids()
    with session_scope(engine) as s:
        for niche in ("airlines", "apple"):
            q.create_timeline(
                s, timeline=Timeline(name=niche, kind=TimelineKind.LIST, source=lists[niche])
            )
        for i in range(n):
            niche, name = ("airlines", "apple")[i % 2], f"bot{i}"
            sb.create_account(name, niche=niche, followers=300)
            q.create_bot(s, bot=Bot(name=name, timeline=niche, account=name, persona="a fan"))
    config = replace(FAST, adapters_resident=2, jitter=0.0)
    spec = RuntimeSpec.for_sandbox(
        sb, db_url=db_url, home=home, config=config, model=TINY_TEST_MODEL, ner=False, key="k" * 32
    )
    return Eco(sandbox=sb, spec=spec, home=home)


def _posted(engine, names, now) -> None:
    """A post now for each bot the tiny random model's draw left without one (all its
    candidates failed the guard): a bot that has not posted is due, and the round is not idle."""
    with session_scope(engine) as s:
        for name in names:
            if not q.list_posts(s, bot=name, limit=1):
                post = Post(id=f"stand-in-{name}", text="a post", author_id=name, created_at=now)
                q.add_posts(s, posts=[post], bot=name)


class Statements:
    """Counts the SQL statements sent to one database."""

    def __init__(self, url: str) -> None:
        self.url, self.n = url, 0

    def __call__(self, conn, *_args) -> None:
        if str(conn.engine.url) == self.url:
            self.n += 1


def _idle_round(tmp_path, n: int) -> tuple[int, int, dict]:
    """(statements, page-ins, report) of an idle round after a first one, for `n` bots."""
    from sqlalchemy.engine import Engine

    home = tmp_path / str(n)
    home.mkdir()
    eco = _fleet(home, n)
    ex = make_executor("local", eco.spec)
    try:
        first = ex.run_round()
        assert sorted(first.act) == sorted(first.learn)  # every bot had its round
        assert all(first.act[b].generated for b in first.act), "every bot wrote candidates"
        _posted(ex.runtime.engine, first.act, ex.runtime.clock())  # type: ignore[attr-defined]
        bank = ex.runtime.bank()  # type: ignore[attr-defined]
        before = bank.stats().page_ins
        count = Statements(str(make_engine(eco.spec.db_url).url))
        event.listen(Engine, "before_cursor_execute", count)
        try:
            idle = ex.run_round()
        finally:
            event.remove(Engine, "before_cursor_execute", count)
        return count.n, bank.stats().page_ins - before, idle
    finally:
        ex.close()
        eco.sandbox.stop()


def test_an_idle_round_reads_the_store_the_same_for_2_and_6_bots(tmp_path) -> None:
    small, small_pages, idle = _idle_round(tmp_path, 2)
    large, large_pages, idle6 = _idle_round(tmp_path, 6)
    assert len(idle6.act) == 6
    # nothing was due: no post, no metrics read, no SFT, no refit, no RL
    for report in (idle, idle6):
        assert not any(a.generated for a in report.act.values())
        assert not any(o.read for o in report.observe.values())
        assert not any(lr.sft_version or lr.reward_model_version for lr in report.learn.values())
        assert not any(lr.rl_mean_reward for lr in report.learn.values())
        assert all(c.skipped for c in report.compliance)
    assert small_pages == large_pages == 0  # 6 bots, 2 resident: nobody paged in for nothing
    assert large == small, f"{large} statements for 6 bots, {small} for 2"


def _pub(bot: str, key: str, status: PublicationStatus):
    from vibeforge.domain import Publication

    return Publication(idempotency_key=key, bot=bot, text="t", status=status)


@pytest.mark.parametrize("cap", [None, 3.0])
def test_posting_state_decides_like_the_per_bot_reads(tmp_path, cap) -> None:
    """Due, interval, the bot's budget and the global cap from the fleet's grouped counts."""
    engine = make_engine(f"sqlite:///{tmp_path / 'v.db'}")
    upgrade(engine)
    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    with session_scope(engine) as s:
        for name in ("a", "b", "c"):
            q.create_bot(s, bot=Bot(name=name, posts_per_day=3))
        # a: posted 9 h ago (interval 8 h: due); b: posted 1 h ago (not due); c: nothing yet
        q.add_posts(
            s,
            posts=[Post(id="1", text="x", author_id="me", created_at=now - timedelta(hours=9))],
            bot="a",
        )
        q.add_posts(
            s,
            posts=[Post(id="2", text="y", author_id="me", created_at=now - timedelta(hours=1))],
            bot="b",
        )
    posting = Posting.read(engine, now=now)
    bots = {name: Bot(name=name, posts_per_day=3) for name in ("a", "b", "c")}

    def due(name: str) -> tuple[bool, str | None]:
        return posting.due(bots[name], now=now, jitter_amount=0.0, global_cap=cap)

    assert due("a") == due("c") == (True, None) and due("b") == (False, None)
    # c's pending publication: it waits for the publisher, and counts toward today's budgets
    with session_scope(engine) as s:
        q.enqueue_publication(s, publication=_pub("c", "k1", PublicationStatus.PENDING))
    posting = Posting.read(engine, now=now)
    assert due("c") == (False, None)
    assert posting.posts_today("c") == 1 and posting.posts_today() == 3
    if cap is not None:  # a's post, b's post and c's pending one: the fleet's 3 for today
        assert due("a") == (False, "all bots reached the global budget of 3 posts today")
