"""SIGKILL in the middle of writes: the database stays consistent, committed rows survive."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from sqlalchemy import text

from vibeforge.domain import Bot
from vibeforge.store import make_engine, session_scope, upgrade
from vibeforge.store import queries as q

WRITER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from vibeforge.domain import Metrics, Post, Publication
    from vibeforge.store import make_engine, session_scope
    from vibeforge.store import queries as q

    engine = make_engine(sys.argv[1])
    i = 0
    while True:
        now = datetime.now(UTC)
        with session_scope(engine) as s:
            q.enqueue_publication(s, publication=Publication(
                idempotency_key=f"k{i}", bot="crash", text="x" * 200))
            q.add_posts(s, posts=[Post(id=f"p{i}-{j}", text=f"post {i} {j} " + "y" * 300,
                author_id="a", created_at=now, metrics=Metrics(observed_at=now, like_count=j))
                for j in range(5)], bot="crash")
        print(i, flush=True)  # only after the commit returned
        i += 1
    """
)


def _run_and_kill(url: str, *, after: int) -> list[int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    committed: list[int] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        committed.append(int(line))
        if len(committed) >= after:
            break
    os.kill(proc.pid, signal.SIGKILL)  # mid-write: the writer never pauses between commits
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
    return committed


def test_sigkill_mid_write_keeps_every_committed_row(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    with session_scope(engine) as s:
        q.create_bot(s, bot=Bot(name="crash"))
    total: list[int] = []
    for trial, after in enumerate((3, 17, 41)):
        committed = _run_and_kill(db_url, after=after)
        assert committed, f"trial {trial}: the writer committed nothing"
        total = committed
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
                assert conn.execute(text("PRAGMA foreign_key_check")).fetchall() == []
        with session_scope(engine) as s:
            keys = {p.idempotency_key for p in q.list_publications(s, bot="crash")}
            posts = {p.id for p in q.list_posts(s, bot="crash")}
            # every committed transaction is whole: its publication and all five posts
            for i in committed:
                assert f"k{i}" in keys
                assert {f"p{i}-{j}" for j in range(5)} <= posts
            # and no transaction is half there
            for key in keys:
                i = int(key[1:])
                assert {f"p{i}-{j}" for j in range(5)} <= posts
        # the next writer starts over at i=0: enqueue is idempotent, posts are deduplicated
    assert total
