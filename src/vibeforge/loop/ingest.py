"""Ingest: poll each timeline once per interval, scrub at the boundary, store, index.

One poll per timeline, whatever the number of bots that follow it (they all read the stored
posts). Polls are incremental by `since_id`; posts are deduplicated by id and content hash.
Raw text never reaches the store: it is scrubbed first and authors are replaced by keyed
pseudonyms. The cursor advances in the same transaction as the posts, so a crash repeats a
poll rather than skipping posts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Engine

from vibeforge.domain import Post, Timeline, post_id_key
from vibeforge.platforms.base import Platform
from vibeforge.store import queries as q
from vibeforge.store import session_scope

log = logging.getLogger(__name__)


class Scrubber(Protocol):
    def scrub_many(self, texts: Sequence[str]) -> Sequence[Any]: ...  # items have `.text`


class Indexer(Protocol):
    def add(self, texts: Sequence[str]) -> Any: ...


@dataclass
class IngestReport:
    timeline: str
    fetched: int = 0
    stored: int = 0
    skipped: bool = False  # not due yet


def due(timeline: Timeline, *, now: datetime) -> bool:
    last = timeline.last_polled_at
    return last is None or now - last >= timedelta(seconds=timeline.poll_interval_s)


def poll_timeline(
    engine: Engine,
    *,
    platform: Platform,
    timeline: Timeline,
    scrubber: Scrubber,
    pseudonymize: Callable[[str], str],
    now: datetime,
    index: Indexer | None = None,
    max_posts: int = 800,
    force: bool = False,
) -> IngestReport:
    report = IngestReport(timeline=timeline.name)
    if not force and not due(timeline, now=now):
        report.skipped = True
        return report
    raw = platform.timeline(source=timeline, since_id=timeline.since_id, max_posts=max_posts)
    report.fetched = len(raw)
    newest = max((p.id for p in raw), key=post_id_key, default=None)
    clean = _scrub(raw, scrubber=scrubber, pseudonymize=pseudonymize)
    with session_scope(engine) as s:
        added = q.add_posts(s, posts=clean, timeline=timeline.name)
        q.set_timeline_cursor(s, name=timeline.name, since_id=newest, polled_at=now)
    report.stored = len(added)
    if index is not None and added:
        index.add([p.text for p in added])
    log.info("timeline %s: fetched %d, stored %d new", timeline.name, report.fetched, report.stored)
    return report


def _scrub(
    posts: Sequence[Post], *, scrubber: Scrubber, pseudonymize: Callable[[str], str]
) -> list[Post]:
    results = scrubber.scrub_many([p.text for p in posts])
    return [
        replace(p, text=r.text, author_id=pseudonymize(p.author_id))
        for p, r in zip(posts, results, strict=True)
        if r.text.strip()
    ]
