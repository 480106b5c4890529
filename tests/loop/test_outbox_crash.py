"""SIGKILL during publishing, then restart: every post exists exactly once on the sandbox."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter

from vibeforge.domain import Bot, Publication, PublicationStatus
from vibeforge.store import make_engine, session_scope, upgrade
from vibeforge.store import queries as q

CHILD = textwrap.dedent(
    """
    import os, sys
    from datetime import UTC, datetime
    from vibeforge.domain import PublicationStatus
    from vibeforge.loop.platform_kinds import SandboxClock
    from vibeforge.loop.outbox import publish_pending
    from vibeforge.platforms.auth import BearerAuth
    from vibeforge.platforms.x import XClient
    from vibeforge.store import make_engine, session_scope
    from vibeforge.store import queries as q

    db, base, app, admin, user = sys.argv[1:6]
    clock = SandboxClock(base, admin)
    client = XClient(base_url=base, auth=BearerAuth(app), user_auth={"crashbot": BearerAuth(user)},
                     clock=clock)
    engine = make_engine(db)
    with session_scope(engine) as s:
        bot = q.get_bot(s, name="crashbot")
    while True:
        report = publish_pending(engine, platform=client, bot=bot, now=clock(), limit=1)
        print("step", report.reconciled + report.requeued, flush=True)
        if not report.confirmed and not report.requeued:
            with session_scope(engine) as s:
                left = q.list_publications(s, bot="crashbot", statuses=[
                    PublicationStatus.PENDING, PublicationStatus.SENT])
            if not left:
                print("done", flush=True)
                break
    """
)


def test_sigkill_during_publish_posts_exactly_once(tmp_path) -> None:
    from vibeforge.sandbox import start_sandbox

    with start_sandbox(home=tmp_path, world="tiny", seed=3, speed=0) as sb:
        user = sb.create_account("crashbot", niche="airlines")
        db = f"sqlite:///{tmp_path / 'v.db'}"
        engine = make_engine(db)
        upgrade(engine)
        texts = [
            f"Gate change number {i} today, who else is running through the terminal?"
            for i in range(30)
        ]
        with session_scope(engine) as s:
            q.create_bot(s, bot=Bot(name="crashbot", account="crashbot"))
            for i, t in enumerate(texts):
                q.enqueue_publication(
                    s, publication=Publication(idempotency_key=f"k{i}", bot="crashbot", text=t)
                )
        args = [sys.executable, "-c", CHILD, db, sb.base_url, sb.app_token, sb.admin_token, user]
        rng = random.Random(11)
        kills = settled = 0
        for _ in range(60):
            proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            assert proc.stdout is not None
            steps, finished = rng.randint(1, 3), False
            for line in proc.stdout:
                if line.startswith("step"):
                    settled += int(line.split()[1])
                if line.startswith("done"):
                    finished = True
                    break
                steps -= 1
                if steps == 0:
                    time.sleep(rng.uniform(0.0, 0.03))  # land anywhere inside the next publish
                    os.kill(proc.pid, signal.SIGKILL)
                    kills += 1
                    break
            proc.wait(timeout=60)
            if finished:
                assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
                break
        assert kills >= 3, "the publisher was never interrupted; the test proved nothing"
        print(f"{kills} kills, {settled} outbox rows settled by reconciliation")
        uid = sb.world.store.one("SELECT id FROM users WHERE username = 'crashbot'")[0]
        on_platform = Counter(
            r[0] for r in sb.world.store.all("SELECT text FROM posts WHERE author_id = ?", (uid,))
        )
        assert set(on_platform) == set(texts)  # everything got published
        assert max(on_platform.values()) == 1  # and nothing twice
        with session_scope(engine) as s:
            pubs = q.list_publications(s, bot="crashbot")
        assert all(p.status is PublicationStatus.CONFIRMED for p in pubs)


def test_a_row_left_sent_is_found_by_platform_time_not_store_time(tmp_path) -> None:
    """A crash after the create but before the confirm: reconcile must find the post. The
    store stamps rows with wall time; the sandbox's platform clock is months away from it."""
    from vibeforge.loop.outbox import publish_pending
    from vibeforge.loop.platform_kinds import SandboxClock
    from vibeforge.platforms.auth import BearerAuth
    from vibeforge.platforms.x import XClient
    from vibeforge.sandbox import start_sandbox

    with start_sandbox(home=tmp_path, world="tiny", seed=0, speed=0) as sb:
        user = sb.create_account("crashbot", niche="airlines", followers=10)
        clock = SandboxClock(sb.base_url, sb.admin_token)
        client = XClient(
            base_url=sb.base_url,
            auth=BearerAuth(sb.app_token),
            user_auth={"crashbot": BearerAuth(user)},
            clock=clock,
        )
        engine = make_engine(f"sqlite:///{tmp_path / 'v.db'}")
        upgrade(engine)
        with session_scope(engine) as s:
            bot = q.create_bot(s, bot=Bot(name="crashbot", account="crashbot"))
            for i in range(2):
                q.enqueue_publication(
                    s,
                    publication=Publication(
                        idempotency_key=f"k{i}", bot="crashbot", text=f"post {i}"
                    ),
                )
        assert publish_pending(engine, platform=client, bot=bot, now=clock(), limit=1).confirmed
        sb.advance(hours=5)
        with session_scope(engine) as s:  # the second goes out, then the process dies
            q.transition_publication(s, idempotency_key="k1", status=PublicationStatus.SENT)
        client.publish(account="crashbot", text="post 1", idempotency_key="k1")
        sb.advance(hours=30)
        report = publish_pending(engine, platform=client, bot=bot, now=clock())
        assert (report.reconciled, report.requeued) == (1, 0)
        with session_scope(engine) as s:
            statuses = [p.status for p in q.list_publications(s, bot="crashbot")]
        assert statuses == [PublicationStatus.CONFIRMED] * 2
        client.close()
