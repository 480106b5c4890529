"""Ingest through the X client from the sandbox: planted personal data never reaches the store."""

from __future__ import annotations

import sqlite3

import pytest

from vibeforge.domain import Timeline, TimelineKind
from vibeforge.loop.ingest import poll_timeline
from vibeforge.platforms.auth import BearerAuth
from vibeforge.platforms.x import XClient
from vibeforge.privacy.evaluation import generate_posts
from vibeforge.privacy.pseudonym import pseudonymizer
from vibeforge.privacy.scrub import Scrubber
from vibeforge.store import make_engine, session_scope, upgrade
from vibeforge.store import queries as q

STRUCTURED = {"handle", "email", "phone", "url"}


@pytest.mark.slow
def test_planted_pii_is_scrubbed_before_the_store(tmp_path) -> None:
    from vibeforge.models.text import weighted_length
    from vibeforge.sandbox import RateLimits, start_sandbox
    from vibeforge.sandbox.text import normalise

    # the sandbox, like X, refuses an account's post that matches a recent one once normalised
    unique = {
        normalise(p.text): p for p in generate_posts(1500, seed=5) if weighted_length(p.text) <= 280
    }
    posts = list(unique.values())[:500]
    assert len(posts) == 500
    with start_sandbox(
        home=tmp_path, world="tiny", seed=2, speed=0, limits=RateLimits(scale=10)
    ) as sb:
        handles = [f"leaky{i}" for i in range(5)]
        clients = {h: BearerAuth(sb.create_account(h, niche="airlines")) for h in handles}
        client = XClient(base_url=sb.base_url, auth=BearerAuth(sb.app_token), user_auth=clients)
        for i, post in enumerate(posts):
            client.publish(account=handles[i % 5], text=post.text, idempotency_key=str(i))
        engine = make_engine(f"sqlite:///{tmp_path / 'v.db'}")
        upgrade(engine)
        timeline = Timeline(name="leaky", kind=TimelineKind.HANDLES, source=",".join(handles))
        with session_scope(engine) as s:
            q.create_timeline(s, timeline=timeline)
        report = poll_timeline(
            engine,
            platform=client,
            timeline=timeline,
            scrubber=Scrubber(),
            pseudonymize=pseudonymizer("k" * 32),
            now=client._clock(),
            max_posts=1000,
        )
    # scrubbed texts that became identical (same template, values replaced) are stored once
    assert report.fetched == 500 and report.stored >= 300
    dump = "\n".join(sqlite3.connect(tmp_path / "v.db").iterdump()).lower()
    leaked = {kind: 0 for kind in ("person", *STRUCTURED)}
    total = dict.fromkeys(leaked, 0)
    for post in posts:
        for planted in post.planted:
            total[planted.kind] += 1
            if planted.value.lower() in dump:
                leaked[planted.kind] += 1
    for kind in STRUCTURED:
        assert leaked[kind] == 0, (
            f"{leaked[kind]} of {total[kind]} planted {kind}s reached the store"
        )
    print(f"planted values leaked: {leaked} of {total}")
    assert leaked["person"] <= 0.15 * total["person"], leaked
    rows = (
        sqlite3.connect(tmp_path / "v.db").execute("SELECT author_id, text FROM posts").fetchall()
    )
    for handle in handles:  # authors are pseudonyms (the timeline's own config names them)
        assert not any(handle in author or handle in text for author, text in rows)
