"""Ingest through the X client from the sandbox: planted personal data never reaches the store."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import pytest

from vibeforge.domain import Timeline, TimelineKind
from vibeforge.loop.ingest import poll_timeline
from vibeforge.platforms.auth import BearerAuth
from vibeforge.platforms.x import XClient
from vibeforge.privacy.evaluation import PlantedPost, generate_posts
from vibeforge.privacy.pseudonym import pseudonymizer
from vibeforge.privacy.scrub import Scrubber
from vibeforge.store import make_engine, session_scope, upgrade
from vibeforge.store import queries as q

KINDS = ("person", "handle", "email", "phone", "url")
_TITLES = {"dr", "mr", "mrs", "ms", "miss", "mx", "jr", "sr", "md", "dds", "phd", "dvm"}
_TITLES |= {"ii", "iii", "iv", "v"}


def every_value(db: Path) -> list[str]:
    """Every non-null value of every column of every table of the SQLite file, as text."""
    con = sqlite3.connect(db)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert "posts" in tables
        return [
            str(v)
            for t in tables
            for row in con.execute(f'SELECT * FROM "{t}"')  # table names come from the schema
            for v in row
            if v is not None
        ]
    finally:
        con.close()


def _present(needle: str, hay: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", hay, re.IGNORECASE) is not None


def name_words(value: str) -> list[str]:
    """The words of a planted name that identify someone (no titles, no initials)."""
    words = re.findall(r"[\w'’-]+", value)
    return [w for w in words if len(w) > 1 and w.lower().strip(".") not in _TITLES]


def leaks(posts: Iterable[PlantedPost], hay: str) -> dict[str, list[str]]:
    """Planted values found in `hay`: each value as a whole string (case-insensitive), and for
    names also each word of the name, except words the posts use outside planted values
    ("Classic", "Delta"), which would be found whatever the scrubber did."""
    posts = list(posts)
    other_words: set[str] = set()
    for post in posts:
        text, last = [], 0
        for p in sorted(post.planted, key=lambda p: p.start):
            text.append(post.text[last : p.start])
            last = p.end
        text.append(post.text[last:])
        other_words |= {w.lower() for w in re.findall(r"[\w'’-]+", " ".join(text))}
    found: dict[str, list[str]] = {k: [] for k in KINDS}
    for post in posts:
        for p in post.planted:
            parts = [p.value]
            if p.kind == "person":
                parts += [w for w in name_words(p.value) if w.lower() not in other_words]
            if any(_present(part, hay) for part in parts):
                found[p.kind].append(p.value)
    return found


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
    total = {k: sum(p.kind == k for post in posts for p in post.planted) for k in KINDS}
    assert total["person"] >= 200 and min(total.values()) >= 50, total
    # the check finds every planted value in the unscrubbed posts, so it can fail
    raw = leaks(posts, "\n".join(post.text for post in posts))
    assert {k: len(v) for k, v in raw.items()} == total
    stored = every_value(tmp_path / "v.db")
    leaked = leaks(posts, "\n".join(stored))
    print(
        f"planted values reaching the store: { {k: len(v) for k, v in leaked.items()} } of {total}"
    )
    for kind in KINDS:
        assert not leaked[kind], f"{len(leaked[kind])} of {total[kind]} planted {kind}s stored"
    rows = (
        sqlite3.connect(tmp_path / "v.db").execute("SELECT author_id, text FROM posts").fetchall()
    )
    for handle in handles:  # authors are pseudonyms (the timeline's own config names them)
        assert not any(handle in author or handle in text for author, text in rows)
