"""Chaos: SIGKILL the loop at random points, restart it, and check nothing broke.

A child process runs rounds against the sandbox (advancing platform time through the admin
route after each); the test kills it with SIGKILL after a random delay, 20 times, then checks:
(on SQLite, on PostgreSQL, and against a sandbox served by `vibeforge sandbox serve` in a
process of its own, reached through its admin API as `platform.base_url` reaches it)
no post was published twice, every publication the store confirmed is on the platform once,
every reward has the metrics observation it came from, every adapter version on disk loads
(or is a torn write that the bank skips), and a final uninterrupted round completes.
"""

from __future__ import annotations

import os
import pickle
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from tests.conftest import served_sandbox

from vibeforge.domain import PublicationStatus
from vibeforge.models.adapters import AdapterStore
from vibeforge.paths import Home
from vibeforge.sandbox.remote import RemoteSandbox
from vibeforge.store import make_engine, session_scope
from vibeforge.store import queries as q

from .conftest import Eco, make_eco

CHILD = textwrap.dedent(
    """
    import pickle, sys, httpx
    from vibeforge.loop.cycle import run_round
    spec = pickle.load(open(sys.argv[1], "rb"))
    rounds = int(sys.argv[2])
    rt = spec()
    url, admin = spec.context.base_url, spec.context.secrets["admin_token"]
    for i in range(rounds):
        run_round(rt)
        print("round", i, flush=True)
        httpx.post(f"{url}/admin/clock/advance", json={"hours": 3},
                   headers={"Authorization": f"Bearer {admin}"}, timeout=30)
    """
)


def _run_child(spec_file, rounds: int, *, kill_after: float | None):
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(spec_file), str(rounds)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        out, err = proc.communicate(timeout=kill_after)
        return proc.returncode, out, err
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
        return -9, out, err


@dataclass
class Chaos:
    eco: Eco
    platform_posts: Callable[[str], list[str]]  # a handle's post texts on the platform
    integrity: Callable[[], None]  # the store's own consistency check


def _sqlite_integrity(db_url: str) -> Callable[[], None]:
    def check() -> None:
        with make_engine(db_url).connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"

    return check


def _in_process_posts(sb: Any) -> Callable[[str], list[str]]:
    def posts(handle: str) -> list[str]:
        uid = sb.world.store.one("SELECT id FROM users WHERE username = ?", (handle,))[0]
        return [
            r[0] for r in sb.world.store.all("SELECT text FROM posts WHERE author_id = ?", (uid,))
        ]

    return posts


def _served_posts(database: Path) -> Callable[[str], list[str]]:
    def posts(handle: str) -> list[str]:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
            sql = (
                "SELECT p.text FROM posts p JOIN users u ON u.id = p.author_id WHERE u.username = ?"
            )
            return [r[0] for r in conn.execute(sql, (handle,))]

    return posts


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres), "served"])
def chaos(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Chaos]:
    if request.param == "sqlite":
        eco = make_eco(tmp_path)
        yield Chaos(eco, _in_process_posts(eco.sandbox), _sqlite_integrity(eco.spec.db_url))
        eco.sandbox.stop()  # type: ignore[attr-defined]
    elif request.param == "postgresql":
        db_url = request.getfixturevalue("postgres_server").create_database()
        eco = make_eco(tmp_path, db_url=db_url)
        yield Chaos(eco, _in_process_posts(eco.sandbox), lambda: None)
        eco.sandbox.stop()  # type: ignore[attr-defined]
    else:
        served_home = tmp_path / "served"
        with served_sandbox(served_home) as (url, admin):
            remote = RemoteSandbox.connect(url, admin)
            eco = make_eco(tmp_path / "loop", sandbox=remote)
            database = Home(served_home).sandbox_world.database
            yield Chaos(eco, _served_posts(database), _sqlite_integrity(eco.spec.db_url))
            remote.stop()


@pytest.mark.slow
def test_sigkill_at_random_points_loses_nothing(chaos: Chaos, tmp_path: Path) -> None:
    eco = chaos.eco
    spec_file = tmp_path / "spec.pkl"
    spec_file.write_bytes(pickle.dumps(eco.spec))
    rng = random.Random(7)
    kills = 0
    for trial in range(20):
        code, _, err = _run_child(spec_file, 50, kill_after=rng.uniform(3.0, 9.0))
        assert code == -9, f"trial {trial}: the child ended by itself ({code}): {err[-2000:]}"
        kills += 1
    code, _, err = _run_child(spec_file, 1, kill_after=300)
    assert code == 0, f"the loop did not carry on after {kills} kills: {err[-3000:]}"

    chaos.integrity()
    engine = make_engine(eco.spec.db_url)
    with session_scope(engine) as s:
        for bot in ("skybot", "fruitbot"):
            on_platform = chaos.platform_posts(bot)
            dupes = [t for t, n in Counter(on_platform).items() if n > 1]
            assert not dupes, f"{bot} published twice: {dupes}"
            confirmed = q.list_publications(s, bot=bot, statuses=[PublicationStatus.CONFIRMED])
            assert sorted(p.text for p in confirmed) == sorted(
                t for t in on_platform if t in {p.text for p in confirmed}
            )
            # nothing on the platform that the store does not know as sent or confirmed
            known = {
                p.text
                for p in q.list_publications(
                    s, bot=bot, statuses=[PublicationStatus.CONFIRMED, PublicationStatus.SENT]
                )
            }
            assert set(on_platform) <= known
            for reward in q.list_rewards(s, bot=bot):
                history = q.metrics_history(s, post_id=reward.post_id)
                assert history, f"reward without its observation for {reward.post_id}"
            store = AdapterStore(Home(eco.home).adapters)
            versions = store.version_numbers(bot)
            assert versions, f"{bot} never saved an adapter in 20 trials"
            loaded = store.load_good(bot)  # the newest good version loads
            assert loaded.version.version in versions
