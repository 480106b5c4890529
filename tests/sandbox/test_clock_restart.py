"""The sandbox clock never goes backwards: not across a clean restart, not across a SIGKILL of
a served world, and not after refused admin input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import vibeforge
from vibeforge.sandbox.clock import parse_iso
from vibeforge.sandbox.server import free_port, open_world

SRC = str(
    Path(vibeforge.__file__).resolve().parents[1]
)  # the child imports the vibeforge under test
SPEED = 3600.0  # an hour of platform time per wall second: a short run moves the clock far


def _serve(home: Path, port: int, cwd: Path) -> subprocess.Popen[str]:
    code = "from vibeforge.cli.app import main; import sys; main(sys.argv[1:])"
    args = ["sandbox", "serve", "--port", str(port), "--speed", str(SPEED)]
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env={**os.environ, "VIBEFORGE_HOME": str(home), "PYTHONPATH": SRC},
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def _now(port: int, admin: str) -> int:
    r = httpx.get(
        f"http://127.0.0.1:{port}/admin/world",
        headers={"Authorization": f"Bearer {admin}"},
        timeout=10,
    )
    return parse_iso(r.json()["now"])


@pytest.fixture
def world_home(tmp_path: Path) -> tuple[Path, str]:
    home = tmp_path / "home"
    world = open_world(home=home, world="tiny", seed=0, speed=0)
    admin = world.role_token("admin")
    world.close()
    return home, admin


def test_clock_resumes_past_what_it_showed_after_sigkill(
    world_home: tuple[Path, str], tmp_path: Path, wait_for
) -> None:  # type: ignore[no-untyped-def]
    home, admin = world_home
    port = free_port()

    def up() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    proc = _serve(home, port, tmp_path)
    try:
        assert wait_for(up, timeout=90)
        first = _now(port, admin)
        time.sleep(1.5)
        shown = _now(port, admin)
        assert shown - first >= 3_600_000  # the clock ran: over an hour of platform time
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    port = free_port()
    proc = _serve(home, port, tmp_path)
    try:
        assert wait_for(up, timeout=90)
        after = _now(port, admin)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert after >= shown, f"the clock went back {(shown - after) / 60_000:.0f} min"


def test_clean_restart_resumes_where_it_stopped(world_home: tuple[Path, str]) -> None:
    home, _ = world_home
    world = open_world(home=home, speed=0)
    world.advance(7200)
    stopped_at = world.now_ms()
    world.close()
    time.sleep(0.2)
    world = open_world(home=home, speed=SPEED)
    try:
        # the downtime does not count: the clock starts where it stopped, then runs
        assert stopped_at <= world.now_ms() < stopped_at + 60_000 * 60
    finally:
        world.close()
