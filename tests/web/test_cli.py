"""`vibeforge trends` and `vibeforge dashboard` on a filled project folder."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from vibeforge.paths import Home

from .conftest import TOKEN, fill_store


@pytest.fixture
def project(cli, tmp_path: Path):  # type: ignore[no-untyped-def]
    """An initialised, filled project folder; returns the shared in-process `cli` runner."""
    run = cli
    assert run("init")[0] == 0
    from vibeforge.store import make_engine

    engine = make_engine(Home(tmp_path / ".vibeforge").database_url)
    run.facts = fill_store(engine)  # type: ignore[attr-defined]
    engine.dispose()
    return run


def test_trends_json_reports_topics_and_capture_lags(project) -> None:  # type: ignore[no-untyped-def]
    code, out, err = project("trends", "--niche", "airlines", "--json")
    assert code == 0, err
    [report] = json.loads(out)
    assert report["niche"] == "airlines" and report["posts"] == 83
    [topic] = report["topics"]
    assert topic["label"] == "#strike" and topic["posts"] == 10
    assert topic["start"] == "2026-11-20T12:00:00+00:00"
    assert topic["capture_lag_s"] == {"skybot": 1.5 * 3600}
    assert {b["term"] for b in report["bursts"]} >= {"#strike", "pilot strike", "strike"}
    jsd = [w["jsd"] for w in report["token_jsd"]]
    assert jsd[0] is None and max(j for j in jsd if j is not None) == jsd[6]  # the strike hour


def test_trends_table_and_errors(project) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = project("trends")
    assert code == 0
    assert "#strike" in out and "1.5 h" in out and "apple: no emerging topics" in out
    code, _, err = project("trends", "--niche", "nowhere")
    assert code == 2 and "no timeline named 'nowhere'" in err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(cwd: Path, port: int, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    exe = Path(sys.executable).parent / "vibeforge"
    proc = subprocess.Popen(
        [str(exe), "dashboard", "--port", str(port), "--no-embeddings"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    lines = [proc.stdout.readline(), proc.stdout.readline()]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    return proc, "".join(lines)


def test_dashboard_command_serves_on_loopback_with_a_printed_token(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIBEFORGE_")}
    port = _free_port()
    proc, banner = _start(tmp_path, port, env)
    try:
        assert f"dashboard at http://127.0.0.1:{port}/" in banner
        token = banner.split("token for approvals (this run only):")[1].split()[0]
        base = f"http://127.0.0.1:{port}"
        assert "skybot" in httpx.get(base + "/").text
        cid = next(iter(project.facts.queued.values()))
        assert httpx.post(f"{base}/api/approvals/{cid}/approve").status_code == 401
        ok = httpx.post(
            f"{base}/api/approvals/{cid}/approve", headers={"Authorization": f"Bearer {token}"}
        )
        assert ok.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    # a configured token is used and never printed
    env["VIBEFORGE_DASHBOARD_TOKEN"] = TOKEN
    proc, banner = _start(tmp_path, port, env)
    try:
        assert TOKEN not in banner and "VIBEFORGE_DASHBOARD_TOKEN" in banner
        r = httpx.post(
            f"http://127.0.0.1:{port}/api/approvals/{cid}/reject",
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert r.status_code == 409  # already approved above: the same database
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_dashboard_refuses_a_busy_port(project) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = project("dashboard", "--port", str(port))
    assert code == 2 and f"cannot listen on 127.0.0.1:{port}" in err
