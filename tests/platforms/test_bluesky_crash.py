"""SIGKILL the Bluesky publisher anywhere, restart it: every post exists exactly once on the
sandbox's XRPC face (record keys from idempotency keys: a retry finds, never duplicates)."""

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
    import sys
    from pathlib import Path
    from vibeforge.domain import PublicationStatus
    from vibeforge.loop.platform_kinds import SandboxClock
    from vibeforge.loop.outbox import publish_pending
    from vibeforge.platforms.bluesky import BlueskyClient
    from vibeforge.store import make_engine, session_scope
    from vibeforge.store import queries as q

    db, base, admin, user, home = sys.argv[1:6]
    clock = SandboxClock(base, admin)
    client = BlueskyClient(base_url=base + "/xrpc", credentials={"crashbot": user}, clock=clock,
                           home=Path(home))
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


def test_sigkill_during_bluesky_publish_posts_exactly_once(tmp_path) -> None:
    from vibeforge.sandbox import start_sandbox

    with start_sandbox(home=tmp_path, world="tiny", seed=3, speed=0) as sb:
        user = sb.create_account("crashbot", niche="airlines")
        db = f"sqlite:///{tmp_path / 'v.db'}"
        engine = make_engine(db)
        upgrade(engine)
        texts = [
            f"Gate {i} changed again, anyone else sprinting through the terminal?"
            for i in range(30)
        ]
        with session_scope(engine) as s:
            q.create_bot(s, bot=Bot(name="crashbot", account="crashbot"))
            for i, t in enumerate(texts):
                q.enqueue_publication(
                    s, publication=Publication(idempotency_key=f"k{i}", bot="crashbot", text=t)
                )
        args = [sys.executable, "-c", CHILD, db, sb.base_url, sb.admin_token, user, str(tmp_path)]
        rng = random.Random(5)
        kills = 0
        for _ in range(60):
            proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            assert proc.stdout is not None
            steps, finished = rng.randint(1, 3), False
            for line in proc.stdout:
                if line.startswith("done"):
                    finished = True
                    break
                steps -= 1
                if steps == 0:
                    time.sleep(rng.uniform(0.0, 0.05))  # land anywhere inside the next publish
                    os.kill(proc.pid, signal.SIGKILL)
                    kills += 1
                    break
            proc.wait(timeout=60)
            if finished:
                assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
                break
        assert kills >= 3, "the publisher was never interrupted; the test proved nothing"
        uid = sb.world.store.one("SELECT id FROM users WHERE username = 'crashbot'")[0]
        on_platform = Counter(
            r[0]
            for r in sb.world.store.all(
                "SELECT text FROM posts WHERE author_id = ? AND deleted = 0", (uid,)
            )
        )
        assert set(on_platform) == set(texts)  # everything got published
        assert max(on_platform.values()) == 1  # and nothing twice
        keys = sb.world.store.all(
            "SELECT rkey FROM at_records WHERE author_id = ? AND collection = 'app.bsky.feed.post'",
            (uid,),
        )
        assert len(keys) == 30  # each under the record key its idempotency key names
        with session_scope(engine) as s:
            pubs = q.list_publications(s, bot="crashbot")
        assert all(p.status is PublicationStatus.CONFIRMED for p in pubs)
        assert len({p.platform_post_id for p in pubs}) == 30
