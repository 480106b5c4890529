"""`vibeforge sandbox ...`: seed, account, advance, trend, info, and errors as one line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from vibeforge.cli.app import main


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    for var in list(os.environ):
        if var.startswith("VIBEFORGE_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("VIBEFORGE_HOME", str(tmp_path / "home"))

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run


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
