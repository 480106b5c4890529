"""`vibeforge run` on the embedded sandbox with the tiny model, then the kill switch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _cli(tmp_path: Path, *args: str, env: dict[str, str], timeout: float = 900):
    exe = Path(sys.executable).parent / "vibeforge"
    return subprocess.run(
        [str(exe), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def project(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIBEFORGE_")}
    env["VIBEFORGE_PLUGINS"] = os.environ["VIBEFORGE_PLUGINS"]  # the tiny test models
    env["VIBEFORGE_HOME"] = str(tmp_path / "home")
    (tmp_path / "vibeforge.yaml").write_text(
        "timelines:\n  - {name: airlines, kind: list, source: '1500000'}\n"
        "bots:\n  - {name: skybot, timeline: airlines, account: skybot, base_model: tiny-test}\n"
    )
    assert _cli(tmp_path, "init", env=env).returncode == 0
    return env


@pytest.mark.slow
def test_run_rounds_dry_run_then_stop_switch(tmp_path: Path, project) -> None:
    r = _cli(
        tmp_path,
        "run",
        "--rounds",
        "1",
        "--interval",
        "0",
        "--dry-run",
        "--speed",
        "0",
        env=project,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "round 1:" in r.stdout and "0 published" in r.stdout
    bot = json.loads(_cli(tmp_path, "bot", "show", "skybot", "--json", env=project).stdout)
    assert bot["publications"]["confirmed"] == 0  # dry run: nothing sent
    assert _cli(tmp_path, "stop", env=project).returncode == 0


@pytest.mark.slow
def test_sigterm_stops_after_the_current_step(tmp_path: Path, project) -> None:
    exe = Path(sys.executable).parent / "vibeforge"
    proc = subprocess.Popen(
        [str(exe), "run", "--interval", "0", "--speed", "0", "--world", "tiny", "--dry-run"],
        cwd=tmp_path,
        env=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 600
    assert proc.stdout is not None
    line = proc.stdout.readline()
    while "round 1" not in line and time.monotonic() < deadline:
        line = proc.stdout.readline()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    assert "stopping after the current step" in out and "stopped after" in out


def test_a_bad_loop_setting_exits_2_with_the_fix(tmp_path: Path, project) -> None:
    config = tmp_path / "vibeforge.yaml"
    config.write_text(config.read_text() + "loop:\n  budget_total_usd: -1\n")
    r = _cli(tmp_path, "run", "--rounds", "1", env=project)
    assert r.returncode == 2
    assert "loop.budget_total_usd: must be >= 0 (got -1)" in r.stderr + r.stdout
    assert "Traceback" not in r.stderr


@pytest.fixture
def served(tmp_path: Path):
    from tests.conftest import served_sandbox

    with served_sandbox(tmp_path / "served") as (url, admin):
        yield url, admin


@pytest.mark.slow
def test_run_against_an_external_sandbox(tmp_path: Path, project, served) -> None:
    import httpx

    url, admin = served
    config = tmp_path / "vibeforge.yaml"
    config.write_text(config.read_text() + f"platform:\n  kind: sandbox\n  base_url: {url}\n")
    code = _cli(tmp_path, "run", "--rounds", "1", "--world", "tiny", env=project)
    assert code.returncode == 2 and "--world would be ignored" in code.stderr, code.stderr
    no_token = _cli(tmp_path, "run", "--rounds", "1", env=project)
    assert no_token.returncode == 2 and "VIBEFORGE_SANDBOX_ADMIN_TOKEN" in no_token.stderr
    env = {**project, "VIBEFORGE_SANDBOX_ADMIN_TOKEN": admin}
    r = _cli(tmp_path, "run", "--rounds", "1", "--interval", "0", env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "round 1:" in r.stdout
    # the loop used the served world: its bot account is there, and no world of its own
    token = httpx.get(
        f"{url}/admin/tokens/skybot", headers={"Authorization": f"Bearer {admin}"}, timeout=10
    )
    assert token.status_code == 200
    assert not (Path(project["VIBEFORGE_HOME"]) / "sandbox").exists()
    ingested = json.loads(_cli(tmp_path, "timeline", "list", "--json", env=env).stdout)
    assert ingested[0]["source"] == "1500000" and ingested[0]["posts"] > 0
