"""The loop against a misbehaving platform: an outage, rate limits, spent budgets."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from urllib.parse import urlparse

import pytest
from tests.loop.conftest import FAST, make_eco

from vibeforge.domain import PublicationStatus
from vibeforge.loop.cycle import run_round
from vibeforge.loop.executors import make_executor
from vibeforge.loop.supervise import Backoff, run_loop
from vibeforge.platforms.base import PlatformUnavailable
from vibeforge.store import queries as q
from vibeforge.store import session_scope


def test_backoff_grows_and_is_capped() -> None:
    b = Backoff(initial_s=1, factor=2, cap_s=5, jitter=0)
    assert [b.delay(n) for n in range(1, 6)] == [1, 2, 4, 5, 5]
    with pytest.raises(ValueError, match="initial_s <= cap_s"):
        Backoff(initial_s=10, cap_s=1)


def test_sandbox_outage_backs_off_then_recovers(tmp_path) -> None:
    from vibeforge.sandbox import start_sandbox

    eco = make_eco(tmp_path)
    port = urlparse(eco.sandbox.base_url).port
    ex = make_executor("local", eco.spec)
    ex.runtime.platform.backoff_s = 0.01  # the client's own retries: quick, the loop's matter here
    eco.sandbox.stop()  # the platform goes away before the first round
    outages: list[tuple[type, float, int]] = []
    two_outages = threading.Event()
    reports = []

    def on_outage(exc: Exception, wait: float, failures: int) -> None:
        outages.append((type(exc), wait, failures))
        if failures >= 2:
            two_outages.set()

    result = {}
    loop = threading.Thread(
        target=lambda: result.setdefault(
            "stats",
            run_loop(
                ex,
                rounds=1,
                interval_s=0,
                backoff=Backoff(initial_s=0.3, factor=2, cap_s=2, jitter=0),
                on_round=lambda n, r: reports.append(r),
                on_outage=on_outage,
            ),
        )
    )
    loop.start()
    sandbox = None
    try:
        assert two_outages.wait(60), "the loop did not report the outage"
        sandbox = start_sandbox(home=tmp_path, world="tiny", seed=0, speed=0, port=port)
        loop.join(120)
        assert not loop.is_alive()
        stats = result["stats"]
        assert stats.rounds == 1 and stats.outages == len(outages) >= 2
        assert all(kind is PlatformUnavailable for kind, _, _ in outages)
        waits = [w for _, w, _ in outages]
        assert waits[:3] == [0.3, 0.6, 1.2][: len(waits[:3])]  # exponential back-off
        assert sum(r.stored for r in reports[0].ingest) > 0  # the recovered round did its work
    finally:
        ex.close()
        if sandbox is not None:
            sandbox.stop()


def test_rate_limit_waits_and_ingest_completes(tmp_path) -> None:
    from vibeforge.sandbox import RateLimits, start_sandbox

    eco = make_eco(tmp_path)
    eco.sandbox.stop()
    limits = RateLimits(window_s=2, overrides={"GET /2/lists/:id/tweets": (1, 1)})
    sb = start_sandbox(home=tmp_path, world="tiny", seed=0, speed=0, limits=limits)
    try:
        spec = type(eco.spec).for_sandbox(
            sb,
            db_url=eco.spec.db_url,
            home=tmp_path,
            config=eco.spec.config,
            model=eco.spec.model,
            ner=False,
            key="k" * 32,
        )
        rt = spec()
        started = time.monotonic()
        report = run_round(rt, steps=("ingest",))  # two lists, one request allowed a window
        elapsed = time.monotonic() - started
        assert len(report.ingest) == 2 and all(r.stored > 0 for r in report.ingest)
        assert elapsed >= 1.0, "the second list must have waited for the window to reset"
        with session_scope(rt.engine) as s:
            for r in report.ingest:
                assert len(q.list_posts(s, timeline=r.timeline)) == r.stored
    finally:
        sb.stop()


def test_a_spent_budget_stops_posting_and_says_so(tmp_path) -> None:
    eco = make_eco(tmp_path, config=replace(FAST, global_posts_per_day=2))
    try:
        ex = make_executor("local", eco.spec)
        first = ex.run_round()
        assert all(len(a.published) == 1 for a in first.act.values())
        eco.sandbox.advance(hours=8)  # both bots due again, the same platform day
        second = ex.run_round()
        with session_scope(ex.runtime.engine) as s:
            confirmed = q.list_publications(s, statuses=[PublicationStatus.CONFIRMED])
        assert len(confirmed) == 2
        for report in second.act.values():
            assert not report.published and not report.generated
            assert report.budget == "all bots reached the global budget of 2 posts today"
        eco.sandbox.advance(hours=24)  # the next platform day: the budget is fresh
        third = ex.run_round()
        assert all(len(a.published) == 1 and not a.budget for a in third.act.values())
        with session_scope(ex.runtime.engine) as s:  # the call ledger is in the store
            calls = {(c.bot, c.kind): c for c in q.list_api_calls(s)}
        assert calls[("*", "post_read")].units >= 2  # the shared timeline polls
        for bot in ("skybot", "fruitbot"):
            assert calls[(bot, "post_create")].calls == 2
            assert calls[(bot, "post_create")].cost_usd == pytest.approx(0.03)
    finally:
        eco.sandbox.stop()


def test_a_spent_dollar_budget_refuses_the_post_and_keeps_it(tmp_path) -> None:
    eco = make_eco(tmp_path, config=replace(FAST, budget_per_bot_usd=0.01))  # a post is $0.015
    try:
        report = make_executor("local", eco.spec).run_round()
        engine = make_executor("local", eco.spec).runtime.engine
        for name, act in report.act.items():
            assert not act.published
            assert act.budget and "over its daily budget of $0.01" in act.budget
            with session_scope(engine) as s:
                pubs = q.list_publications(s, bot=name)
            assert [p.status for p in pubs] == [PublicationStatus.PENDING]  # kept for later
    finally:
        eco.sandbox.stop()
