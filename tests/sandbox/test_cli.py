"""`vibeforge sandbox ...`: seed, account, advance, trend, info, and errors as one line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest


@pytest.fixture
def cli(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The shared in-process `cli` (tests/conftest.py), with its home inside the project."""
    monkeypatch.setenv("VIBEFORGE_HOME", str(tmp_path / "home"))
    return cli


def test_sandbox_commands_round_trip(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("sandbox", "info")
    assert code == 2 and "sandbox seed" in err
    assert cli("sandbox", "seed", "--world", "tiny", "--seed", "3")[0] == 0
    code, out, _ = cli("sandbox", "account", "clibot", "--niche", "apple")
    assert code == 0 and "token=" in out
    code, out, _ = cli("sandbox", "advance", "2")
    assert code == 0 and "2026-01-05T02:00:00" in out
    code, out, _ = cli("sandbox", "trend", "apple", "iphone", "--in-hours", "1")
    assert code == 0 and "resampled" in out
    code, _, err = cli("sandbox", "trend", "apple", "iphone", "--in-hours", "-5")
    assert code == 2 and "past" in err
    code, _, err = cli("sandbox", "account", "clibot")
    assert code == 2 and "taken" in err
    code, out, _ = cli("sandbox", "info", "--json")
    info = json.loads(out)
    assert info["seed"] == 3 and set(info["lists"]) == {"airlines", "apple"}
    assert info["now"].startswith("2026-01-05T02:00:00")
    assert (tmp_path / "home" / "sandbox" / "sandbox.db").exists()


def test_serve_answers_then_stops_on_sigterm(tmp_path: Path, wait_for) -> None:  # type: ignore[no-untyped-def]
    import signal
    import subprocess
    import sys

    import httpx

    from vibeforge.sandbox.server import free_port

    port = free_port()
    env = {**os.environ, "VIBEFORGE_HOME": str(tmp_path / "home")}
    args = ["sandbox", "serve", "--world", "tiny", "--port", str(port), "--speed", "0"]
    code = "from vibeforge.cli.app import main; import sys; main(sys.argv[1:])"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        def up() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/health").json()["seeded"] is True
            except httpx.HTTPError:
                return False

        assert wait_for(up, timeout=60)
        answer = httpx.get(f"http://127.0.0.1:{port}/2/users/me")
        assert answer.status_code == 401 and answer.json()["title"] == "Unauthorized"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "sandbox stopped" in out


def test_bad_world_is_one_clear_line(cli) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("sandbox", "seed", "--world", "nowhere")
    assert code == 2 and "unknown world 'nowhere'" in err
