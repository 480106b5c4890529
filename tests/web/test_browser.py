"""The dashboard in headless Chromium: every page with charts drawn, approving through the UI.

Uses Playwright's Python package driving Debian's chromium (/usr/bin/chromium; no browser is
downloaded). The server is real uvicorn on a free loopback port, in a background thread.
Screenshots go to $VIBEFORGE_SCREENSHOT_DIR, or to the test's tmp dir.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from .conftest import TOKEN, StoreFacts, fill_store

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


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, object, StoreFacts]]:
    """(base URL, engine, facts): the dashboard on a filled SQLite store, served by uvicorn."""
    _need_browser()
    import uvicorn

    from vibeforge.store import make_engine, upgrade
    from vibeforge.web import DashboardOptions, create_app

    engine = make_engine(f"sqlite:///{tmp_path / 'vibeforge.db'}")
    upgrade(engine)
    facts = fill_store(engine)
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
            for name, (path, canvases) in PAGES.items():
                response = page.goto(base + path)
                assert response is not None and response.status == 200, path
                for canvas in canvases:
                    page.wait_for_selector(f"canvas#{canvas}[data-drawn='1']", timeout=10_000)
                page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
            niche = page.goto(base + "/trends/airlines")
            assert niche is not None
            assert facts.trend_term in page.inner_text("main")

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
            assert text in page.inner_text("main")  # listed under "recently approved"
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
