"""Usage and range errors read like every other error: one line that says what to fix, exit 2.
Names that reach API paths or file names are refused; a list or account the platform lacks is
reported when it is named."""

from __future__ import annotations

from pathlib import Path

import pytest


def _one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error:"), err
    for needle in needles:
        assert needle in lines[0], err
    assert "internal error" not in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("bot", "create", "b1", "--posts-per-day", "-1"), ("--posts-per-day", "0.01")),
        (("--bogus",), ("No such option: --bogus", "vibeforge --help")),
        (("frobnicate",), ("No such command 'frobnicate'",)),
        (("bot", "frob"), ("No such command 'frob'", "vibeforge bot --help")),
        (("run", "--rounds", "-3"), ("--rounds",)),
        (("sandbox", "advance", "-1"), ("hours", "greater than or equal to 0")),
        (("sandbox", "serve", "--port", "70000"), ("--port", "65535")),
        (("bot", "create", "b2", "--account", "../../x"), ("invalid account handle",)),
        (("timeline", "add", "t1", "--list", "../../x"), ("invalid list id",)),
        (("timeline", "add", "t2", "--home", "a/b"), ("invalid --home handle",)),
        (("timeline", "add", "t3", "--handles", "ok,../x"), ("invalid --handles handle",)),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(cli, args, needles) -> None:
    cli("init")
    code, _, err = cli(*args)
    _one_line_error(code, err, *needles)


def test_an_unknown_executor_is_a_usage_error(cli) -> None:
    cli("init")
    cli("bot", "create", "sky", "--account", "sky", "--no-check")
    code, _, err = cli("run", "--executor", "nope", "--rounds", "1", "--world", "tiny")
    _one_line_error(code, err, "nope")


def test_a_corrupt_database_file_and_a_malformed_url(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken.db").write_bytes(b"this is not sqlite" * 100)
    monkeypatch.setenv("VIBEFORGE_DATABASE_URL", f"sqlite:///{tmp_path / 'broken.db'}")
    code, _, err = cli("bot", "list")
    _one_line_error(code, err, "is not a SQLite database")
    monkeypatch.setenv("VIBEFORGE_DATABASE_URL", "postgresql://u:hunter2@host:notaport/x")
    code, _, err = cli("bot", "list")
    _one_line_error(code, err, "invalid database URL")
    assert "hunter2" not in err


def test_a_short_dashboard_token_is_a_config_error(cli, monkeypatch) -> None:
    cli("init")
    monkeypatch.setenv("VIBEFORGE_DASHBOARD_TOKEN", "short")
    code, _, err = cli("dashboard", "--port", "8799")
    _one_line_error(code, err, "at least 8 characters")


def test_config_handles_and_list_sources_are_checked_at_load(cli, tmp_path: Path) -> None:
    (tmp_path / "vibeforge.yaml").write_text("bots:\n  - {name: sky, account: ../../etc}\n")
    code, _, err = cli("bot", "list")
    _one_line_error(code, err, "account", "letters, digits")
    (tmp_path / "vibeforge.yaml").write_text(
        "timelines:\n  - {name: air, kind: list, source: '../1'}\n"
    )
    code, _, err = cli("bot", "list")
    _one_line_error(code, err, "a list source is its id")


def test_a_missing_list_or_account_is_reported_when_named(cli) -> None:
    cli("init")
    code, _, err = cli("timeline", "add", "air", "--list", "999")
    assert code == 0 and "not checked: no sandbox world yet" in err
    code, _, _ = cli("sandbox", "seed", "--world", "tiny")
    assert code == 0
    code, _, err = cli("timeline", "add", "air2", "--list", "999")
    _one_line_error(code, err, "no list 999", "1500000 (airlines)")
    code, _, err = cli("timeline", "add", "air3", "--list", "1500000")
    assert code == 0 and "note" not in err, err
    code, _, err = cli("bot", "create", "sky", "--account", "skyhandle")
    assert code == 0 and "@skyhandle has no sandbox account yet" in err
    code, _, _ = cli("sandbox", "account", "skyhandle", "--niche", "airlines")
    assert code == 0
    code, _, err = cli("bot", "create", "sky2", "--account", "skyhandle")
    assert code == 0 and "note" not in err, err


def test_on_x_a_missing_account_is_an_error(cli, tmp_path: Path, monkeypatch) -> None:
    """Kind x against the sandbox's X face: the lookups are X API reads."""
    from vibeforge.sandbox import start_sandbox

    with start_sandbox(home=tmp_path / "sb", world="tiny", seed=0, speed=0) as sb:
        sb.create_account("realbot", niche="airlines")
        (tmp_path / "vibeforge.yaml").write_text(
            f"platform:\n  kind: x\n  base_url: {sb.base_url}\n"
        )
        monkeypatch.setenv("VIBEFORGE_X_BEARER_TOKEN", sb.app_token)
        assert cli("init")[0] == 0
        code, _, err = cli("bot", "create", "ghost", "--account", "nobody_here")
        _one_line_error(code, err, "x has no @nobody_here")
        code, _, err = cli("bot", "create", "real", "--account", "realbot")
        assert code == 0 and "note" not in err, err
        code, _, err = cli("timeline", "add", "air", "--list", sb.list_ids()["airlines"])
        assert code == 0 and "note" not in err, err
        code, _, err = cli("timeline", "add", "nolist", "--list", "999")
        _one_line_error(code, err, "x has no list 999")
        monkeypatch.delenv("VIBEFORGE_X_BEARER_TOKEN")
        code, _, err = cli("bot", "create", "unchecked", "--account", "whoever")
        assert code == 0 and "@whoever not checked on x" in err, err


def test_square_brackets_in_an_error_survive(cli) -> None:
    """Messages are printed as text, not console markup: "[bench]" in an install hint or a
    name in brackets is not swallowed."""
    cli("init")
    code, _, err = cli("bot", "show", "[ghost]")
    assert code != 0
    assert "[ghost]" in err, err
