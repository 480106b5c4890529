"""The `vibeforge` command: round trips, and bad input as one clear line with exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def test_init_then_bot_create_list_round_trip(cli, tmp_path: Path) -> None:
    assert cli("init")[0] == 0
    assert (tmp_path / "vibeforge.yaml").exists()
    assert (tmp_path / ".vibeforge" / "vibeforge.db").exists()
    assert cli("timeline", "add", "air", "--handles", "@delta, united")[0] == 0
    code, out, _ = cli(
        "bot", "create", "sky", "--timeline", "air", "--persona", "jokes about delays", "--json"
    )
    assert code == 0 and json.loads(out)["name"] == "sky"
    code, out, _ = cli("bot", "list", "--json")
    [bot] = json.loads(out)
    assert (
        bot["name"] == "sky" and bot["timeline"] == "air" and bot["persona"] == "jokes about delays"
    )
    assert bot["status"] == "active"
    assert cli("bot", "pause", "sky")[0] == 0
    assert json.loads(cli("bot", "show", "sky", "--json")[1])["status"] == "paused"
    assert cli("bot", "resume", "sky")[0] == 0
    [tl] = json.loads(cli("timeline", "list", "--json")[1])
    assert tl["source"] == "delta,united" and tl["posts"] == 0
    assert cli("bot", "delete", "sky", "--yes")[0] == 0
    assert json.loads(cli("bot", "list", "--json")[1]) == []


def _one_line_error(code: int, err: str, needle: str) -> None:
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert needle in lines[0]
    assert "Traceback" not in err


def test_unknown_and_duplicate_names(cli) -> None:
    cli("init")
    code, _, err = cli("bot", "show", "ghost")
    _one_line_error(code, err, "no bot named 'ghost'")
    cli("bot", "create", "sky")
    code, _, err = cli("bot", "create", "sky")
    _one_line_error(code, err, "already exists")
    code, _, err = cli("bot", "create", "Bad Name!")
    _one_line_error(code, err, "invalid bot name")
    code, _, err = cli("bot", "create", "b2", "--timeline", "nowhere")
    _one_line_error(code, err, "no timeline named 'nowhere'")
    code, _, err = cli("timeline", "add", "t1", "--handles", "a", "--list", "1")
    _one_line_error(code, err, "exactly one of")


def test_invalid_yaml_and_values(cli, tmp_path: Path) -> None:
    (tmp_path / "vibeforge.yaml").write_text("bots:\n  - name: a\n   timeline: [oops\n")
    code, _, err = cli("bot", "list")
    _one_line_error(code, err, "invalid YAML at line")
    (tmp_path / "vibeforge.yaml").write_text("bots:\n  - name: a\n    posts_per_day: -3\n")
    code, _, err = cli("bot", "list")
    _one_line_error(code, err, "bots.0.posts_per_day")
    (tmp_path / "vibeforge.yaml").write_text("log_level: LOUD\n")
    code, _, err = cli("bot", "list")
    _one_line_error(code, err, "log_level")
    (tmp_path / "vibeforge.yaml").write_text("secrets:\n  x_bearer_token: abc\n")
    code, _, err = cli("bot", "list")
    _one_line_error(code, err, "may not live in vibeforge.yaml")


def test_bad_database_urls(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIBEFORGE_DATABASE_URL", "mysql://root@localhost/x")
    code, _, err = cli("bot", "list")
    _one_line_error(code, err, "database_url")
    monkeypatch.setenv("VIBEFORGE_DATABASE_URL", "postgresql://u:hunter2@127.0.0.1:1/x")
    code, _, err = cli("bot", "list")
    _one_line_error(code, err, "cannot reach the database")
    assert "hunter2" not in err


def test_missing_schema_and_unwritable_home(cli, tmp_path: Path, monkeypatch) -> None:
    code, _, err = cli("bot", "list")
    _one_line_error(code, err, "vibeforge init")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("VIBEFORGE_HOME", str(blocker / "home"))
    code, _, err = cli("init", "--no-write-config")
    _one_line_error(code, err, "VIBEFORGE_HOME")


def test_debug_shows_the_traceback(cli) -> None:
    cli("init")
    code, _, err = cli("--debug", "bot", "show", "ghost")
    assert code == 2 and "Traceback" in err and "no bot named" in err


def test_config_declared_bots_are_created_by_init(cli, tmp_path: Path) -> None:
    (tmp_path / "vibeforge.yaml").write_text(
        "timelines:\n  - name: air\n    source: delta\nbots:\n  - name: sky\n    timeline: air\n"
    )
    assert cli("init")[0] == 0
    assert [b["name"] for b in json.loads(cli("bot", "list", "--json")[1])] == ["sky"]
    (tmp_path / "vibeforge.yaml").write_text("bots:\n  - name: sky\n  - name: sky\n")
    code, _, err = cli("bot", "list")
    _one_line_error(code, err, "duplicate name 'sky'")


def test_console_script_runs_as_a_real_process(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIBEFORGE_")}
    exe = Path(sys.executable).parent / "vibeforge"

    def run(*a: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(exe), *a], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )

    assert run("init").returncode == 0
    assert run("bot", "create", "sky", "--json").returncode == 0
    listed = run("bot", "list", "--json")
    assert json.loads(listed.stdout)[0]["name"] == "sky"
    bad = run("bot", "show", "nope")
    assert bad.returncode == 2 and bad.stderr.strip().startswith("error: no bot named 'nope'")


def test_approvals_queue_from_the_cli(cli) -> None:
    from vibeforge.config import load_settings
    from vibeforge.domain import Candidate, CandidateStatus
    from vibeforge.store import make_engine, session_scope
    from vibeforge.store import queries as q

    cli("init")
    cli("bot", "create", "sky")
    engine = make_engine(load_settings().db_url)
    with session_scope(engine) as s:
        [c] = q.add_candidates(
            s, candidates=[Candidate(bot="sky", text="hello", status=CandidateStatus.QUEUED)]
        )
    [item] = json.loads(cli("approvals", "list", "--json")[1])
    assert item["id"] == c.id and item["text"] == "hello"
    assert cli("approvals", "approve", str(c.id))[0] == 0
    assert json.loads(cli("approvals", "list", "--json")[1]) == []
    code, _, err = cli("approvals", "approve", str(c.id))
    _one_line_error(code, err, "not queued")
    with session_scope(engine) as s:
        assert [p.text for p in q.list_publications(s, bot="sky")] == ["hello"]
