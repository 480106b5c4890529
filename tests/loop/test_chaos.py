"""Chaos: SIGKILL the loop at random points, restart it, and check nothing broke.

A child process runs rounds against the sandbox (advancing platform time through the admin
route after each); the test kills it with SIGKILL after a random delay, 20 times, then checks:
no post was published twice, every publication the store confirmed is on the platform once,
every reward has the metrics observation it came from, every adapter version on disk loads
(or is a torn write that the bank skips), and a final uninterrupted round completes.
"""

from __future__ import annotations

import os
import pickle
import random
import signal
import subprocess
import sys
import textwrap
from collections import Counter

import pytest
from sqlalchemy import text

from vibeforge.domain import PublicationStatus
from vibeforge.models.adapters import AdapterStore
from vibeforge.paths import Home
from vibeforge.store import make_engine, session_scope
from vibeforge.store import queries as q

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


@pytest.mark.slow
def test_sigkill_at_random_points_loses_nothing(eco, tmp_path) -> None:
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

    engine = make_engine(eco.spec.db_url)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    sb = eco.sandbox
    with session_scope(engine) as s:
        for bot in ("skybot", "fruitbot"):
            uid = sb.world.store.one("SELECT id FROM users WHERE username = ?", (bot,))[0]
            on_platform = [
                r[0]
                for r in sb.world.store.all("SELECT text FROM posts WHERE author_id = ?", (uid,))
            ]
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
