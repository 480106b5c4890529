"""The dashboard in headless Chromium on the store of a real short sandbox run.

The data comes from the loop itself: the tiny sandbox world on loopback, two bots on the tiny
test model for a few rounds (ingest, observe, SFT, reward model, RL, publish), a trend event
scheduled through the sandbox's admin API, and a last round with the approval queue on. Then
Playwright's Python package drives Debian's chromium (/usr/bin/chromium; no browser is
downloaded) through every page against real uvicorn on a free loopback port. Screenshots go to
$VIBEFORGE_SCREENSHOT_DIR, or to the test's tmp dir.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from vibeforge.analytics.trends import TrendEvent
from vibeforge.paths import Home

TOKEN = "test-dashboard-token-1234"
TREND = "delayed"
pytestmark = pytest.mark.slow  # a loop run, MiniLM for the drift charts, a browser: ~2 min

CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _need_browser() -> None:
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install playwright)")
    if not shutil.which(CHROMIUM):
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    if missing:
        if IN_CI:
            pytest.fail("browser tests need " + " and ".join(missing))
        pytest.skip("browser tests need " + " and ".join(missing))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunFacts:
    bots: list[str]
    events: list[TrendEvent]
    queued: dict[str, int]  # queued candidate text -> id
    posts: dict[str, int]  # bot -> its published posts
    rewards: int
    calls: int


def short_run(home: Path) -> tuple[str, RunFacts]:
    """A few loop rounds of two bots on the tiny sandbox world; returns (db URL, facts)."""
    from tests.loop.conftest import FAST, make_eco

    from vibeforge.domain import CandidateStatus
    from vibeforge.loop.executors import LocalExecutor
    from vibeforge.store import make_engine, session_scope
    from vibeforge.store import queries as q

    db_url = Home(home).database_url
    eco = make_eco(home, db_url=db_url)
    sb, spec = eco.sandbox, eco.spec
    try:
        admin = {"Authorization": f"Bearer {sb.admin_token}"}
        r = httpx.post(
            f"{sb.base_url}/admin/trends",
            json={"niche": "airlines", "text": TREND, "in_hours": 8},
            headers=admin,
        )
        assert r.status_code == 201, r.text
        # the approval round samples more candidates: each bot needs one that passes every
        # guard check (the tiny model writes little that the fluency check lets through)
        for config in (FAST, FAST, FAST, FAST, replace(FAST, approval=True, candidates=8)):
            executor = LocalExecutor(replace(spec, config=config))
            try:
                executor.run_round()
            finally:
                executor.close()
            sb.advance(hours=7)
        rows = httpx.get(f"{sb.base_url}/admin/trends", headers=admin).json()["data"]
    finally:
        sb.stop()
    engine = make_engine(db_url)
    with session_scope(engine) as s:
        queued = q.list_candidates(s, status=CandidateStatus.QUEUED)
        facts = RunFacts(
            bots=["fruitbot", "skybot"],
            events=[TrendEvent.from_sandbox(row) for row in rows],
            queued={c.text: c.id for c in queued if c.id is not None},
            posts={b: len(q.list_posts(s, bot=b)) for b in ("fruitbot", "skybot")},
            rewards=len(q.list_rewards(s, bot="skybot")),
            calls=sum(c.calls for c in q.list_api_calls(s)),
        )
    engine.dispose()
    return db_url, facts


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Any, RunFacts]]:
    """(base URL, engine, facts): the dashboard on a short run's store, served by uvicorn."""
    _need_browser()
    import uvicorn

    from vibeforge.store import make_engine
    from vibeforge.web import DashboardOptions, create_app

    db_url, facts = short_run(tmp_path)
    # what the pages below rely on: the run really produced it
    assert all(facts.posts.values()), facts.posts
    assert facts.rewards and len(facts.queued) >= 2, facts
    engine = make_engine(db_url)
    app = create_app(
        engine=engine,
        token=TOKEN,
        options=DashboardOptions(embeddings=True),
        trend_events=lambda niche: [e for e in facts.events if e.niche == niche],
    )
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}", engine, facts
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


PAGES = {
    "overview": ("/", ["engagement"]),
    "bot": ("/bots/skybot", ["rewards"]),
    "trends": ("/trends", []),
    "niche": ("/trends/airlines", ["jsd", "centroid"]),
    "distill": ("/distill", []),
    "approvals": ("/approvals", []),
    "ledger": ("/ledger", ["cost"]),
}


def test_dashboard_in_chromium(served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    base, engine, facts = served
    shots = Path(os.environ.get("VIBEFORGE_SCREENSHOT_DIR") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    foreign: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.on("console", lambda m: m.type == "error" and problems.append(m.text))
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on(
                "request",
                lambda r: (
                    urlparse(r.url).hostname not in {"127.0.0.1", None}
                    and r.url != "data:,"
                    and foreign.append(r.url)
                ),
            )
            shown: dict[str, str] = {}
            for name, (path, canvases) in PAGES.items():
                if name == "ledger" and not facts.calls:
                    canvases = []  # the loop's runtime does not persist its call ledger yet
                response = page.goto(base + path)
                assert response is not None and response.status == 200, path
                for canvas in canvases:
                    page.wait_for_selector(f"canvas#{canvas}[data-drawn='1']", timeout=60_000)
                page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
                shown[name] = " ".join(page.inner_text("main").split())
            assert all(b in shown["overview"] for b in facts.bots)
            assert "sft" in shown["bot"]  # the adapter the run trained
            assert "Trend events" in shown["niche"] and TREND in shown["niche"]
            [event] = [e for e in facts.events if e.niche == "airlines"]
            assert event.start.strftime("%Y-%m-%d %H:%M") in shown["niche"]
            # the trend event is marked on the drift charts (a bar dataset of its own)
            page.goto(base + "/trends/airlines")
            specs = page.eval_on_selector_all(
                "script[data-chart]", "els => els.map(e => JSON.parse(e.textContent))"
            )
            assert len(specs) == 2
            for spec in specs:
                assert "trend event" in [d["label"] for d in spec["datasets"]], spec["y"]
            # no distillation yet in a short run: the page says so instead of failing
            assert "No elders distilled yet." in shown["distill"]
            assert all(b in shown["distill"] for b in facts.bots)  # in no elder's subset
            assert f"{facts.calls} calls" in shown["ledger"]
            if facts.calls:
                assert "/2/lists/:id/tweets" in shown["ledger"]
            else:
                assert "No API calls recorded yet." in shown["ledger"]

            # approve the first queued post through the UI, after logging in with the token
            page.goto(base + "/approvals")
            text, cid = next(iter(facts.queued.items()))
            assert page.locator(f"#candidate-{cid}").count() == 1
            page.click("text=log in")
            page.fill("input[name=token]", TOKEN)
            page.click("button:has-text('Log in')")
            page.wait_for_url(base + "/approvals")
            page.locator(f"#candidate-{cid} button:has-text('Approve')").click()
            page.wait_for_selector("p.flash")
            assert f"approved {cid}" in page.inner_text("p.flash")
            assert page.locator(f"#candidate-{cid}").count() == 0
            main = " ".join(page.inner_text("main").split())
            assert " ".join(text.split()) in main  # listed under "recently approved"
            page.screenshot(path=str(shots / "approved.png"), full_page=True)

            # a state change from a browser without the token: 401
            stranger = browser.new_context()
            other = facts.queued[list(facts.queued)[1]]
            r = stranger.request.post(f"{base}/approvals/{other}/approve", form={"csrf": "x"})
            assert r.status == 401
            r = stranger.request.post(f"{base}/api/approvals/{other}/reject")
            assert r.status == 401
            stranger.close()
        finally:
            browser.close()
    assert not problems, problems
    assert not foreign, f"requests left the machine: {foreign}"
    for name in [*PAGES, "approved"]:
        assert (shots / f"{name}.png").stat().st_size > 10_000, name

    from vibeforge.domain import CandidateStatus
    from vibeforge.store import queries as q
    from vibeforge.store import session_scope

    with session_scope(engine) as s:
        statuses = {c.id: c.status for c in q.list_candidates(s)}
        pubs = {p.candidate_id for p in q.list_publications(s)}
    assert statuses[cid] is CandidateStatus.CHOSEN and cid in pubs
    assert statuses[other] is CandidateStatus.QUEUED
