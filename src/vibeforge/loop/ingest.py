"""Ingest: poll each timeline once per interval, scrub at the boundary, store, index.

One poll per timeline, whatever the number of bots that follow it (they all read the stored
posts). Polls are incremental by `since_id`; posts are deduplicated by id and content hash.
Raw text never reaches the store: every string of a post is normalised first
(`privacy.patterns.normalise_text`: no NUL or other control characters, no lone surrogates,
the same on every backend), then the text is scrubbed and authors are replaced by keyed
pseudonyms. The cursor advances in the same transaction as the posts, so a crash repeats a
poll rather than skipping posts.

One bad post never stops its timeline: a post the scrubber refuses (`ScrubInputError`, e.g.
over `max_chars`), one without an id or an author, or one whose values the database still
refuses is skipped, counted in `IngestReport.rejected` and logged without its content; the
rest of the poll is stored and the cursor moves past it.

Reposts are passed over (`IngestReport.reposts`), the cursor moving past them too. On X a
repost is a post of its own in the reposter's timeline, a List's and a home timeline
(`Post.repost_of_id`, from `referenced_tweets` type `retweeted`), but its text is someone
else's words behind `RT @author:`, cut to 140 characters: stored, it would teach the bots to
write truncated retweets of the original's author as if the timeline's account had written
them. Resolving it to the original instead would store a post by an author the timeline does
not follow, and usually twice (the original is often in the same List). The X client asks
for timelines without reposts where X takes `exclude=retweets` (an account's posts, a home
timeline), which also saves paying for them; a List timeline cannot, so they are dropped here.
Bluesky's reposts are feed items, not posts: its client never returns them.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.exc import DataError

from vibeforge.domain import Post, Timeline, post_id_key
from vibeforge.platforms.base import Platform
from vibeforge.privacy.patterns import normalise_text
from vibeforge.privacy.scrub import ScrubInputError
from vibeforge.store import queries as q
from vibeforge.store import session_scope
from vibeforge.store.tables import PostRow

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
    rejected: int = 0  # posts skipped: unscrubbable or unstorable (logged without content)
    reposts: int = 0  # reposts passed over: someone else's post, not the timeline's own
    error: str | None = None  # why the poll failed (set by cycle.ingest_all, which goes on)


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
    normalised = [normalise_post(p) for p in raw]
    # the cursor passes skipped posts too (those with an id it can hold): they are not refetched
    newest = max((p.id for p in normalised if _id_fits(p.id)), key=post_id_key, default=None)
    posts: list[Post] = []
    for post in normalised:
        if post.repost_of_id is not None:  # someone else's words (see the module docstring)
            report.reposts += 1
            continue
        problem = _unstorable(post)
        if problem:
            _reject(report, problem)
        else:
            posts.append(post)
    clean = _scrub(posts, scrubber=scrubber, pseudonymize=pseudonymize, report=report)
    added = _store(engine, clean, timeline=timeline.name, newest=newest, now=now, report=report)
    report.stored = len(added)
    if index is not None and added:
        index.add([p.text for p in added])
    log.info(
        "timeline %s: fetched %d, stored %d new%s%s",
        timeline.name,
        report.fetched,
        report.stored,
        f", skipped {report.rejected} bad" if report.rejected else "",
        f", passed over {report.reposts} reposts" if report.reposts else "",
    )
    return report


def normalise_post(post: Post) -> Post:
    """The post with every string field through `normalise_text` (values from the platform).

    Strings that do not fit the store's columns are dropped where they are optional (a reply
    or quote reference, the language); `_unstorable` refuses the post when its id does not fit.
    """
    changes: dict[str, Any] = {
        f.name: normalise_text(value)
        for f in dataclasses.fields(post)
        if isinstance(value := getattr(post, f.name), str)
    }
    for name in _OPTIONAL:
        value = changes.get(name, getattr(post, name))
        if not isinstance(value, str) or not value or len(value) > _LIMITS[name]:
            changes[name] = None
    return replace(post, **changes)


_LIMITS = {  # the store's column widths (PostgreSQL refuses longer values)
    name: int(getattr(PostRow.__table__.c[column].type, "length", 0) or 0)
    for name, column in (
        ("id", "post_id"),
        ("in_reply_to_id", "in_reply_to_id"),
        ("quote_of_id", "quote_of_id"),
        ("lang", "lang"),
    )
}
_OPTIONAL = ("in_reply_to_id", "quote_of_id", "lang")


def _id_fits(post_id: str) -> bool:
    return bool(post_id.strip()) and len(post_id) <= _LIMITS["id"]


def _unstorable(post: Post) -> str | None:
    """Why a normalised post cannot be stored (never its content), or None."""
    if not _id_fits(post.id):
        return f"no post id, or one longer than {_LIMITS['id']} characters"
    if not post.author_id.strip():
        return "no author id"
    return None


def _reject(report: IngestReport, reason: str) -> None:
    report.rejected += 1
    log.warning("timeline %s: skipped a post (%s)", report.timeline, reason)


def _scrub(
    posts: Sequence[Post],
    *,
    scrubber: Scrubber,
    pseudonymize: Callable[[str], str],
    report: IngestReport,
) -> list[Post]:
    texts = [p.text for p in posts]
    try:
        results: list[Any] = list(scrubber.scrub_many(texts))
    except ScrubInputError:  # one text refused: find it, scrub the others one by one
        results = []
        for text in texts:
            try:
                results.append(scrubber.scrub_many([text])[0])
            except ScrubInputError as exc:
                _reject(report, f"the scrubber refused it: {exc}")
                results.append(None)
    return [
        replace(p, text=r.text, author_id=pseudonymize(p.author_id))  # normalised before
        for p, r in zip(posts, results, strict=True)
        if r is not None and r.text.strip()
    ]


def _store(
    engine: Engine,
    posts: list[Post],
    *,
    timeline: str,
    newest: str | None,
    now: datetime,
    report: IngestReport,
) -> list[Post]:
    """Store the posts and advance the cursor in one transaction.

    If the database refuses a value anyway (`DataError`), each post is stored in a transaction
    of its own, those refused are skipped, and the cursor advances after them: the posts are
    never behind the cursor, so a crash in between repeats the poll.
    """
    try:
        with session_scope(engine) as s:
            added = q.add_posts(s, posts=posts, timeline=timeline)
            q.set_timeline_cursor(s, name=timeline, since_id=newest, polled_at=now)
        return added
    except DataError:
        if not posts:
            raise
    added = []
    for post in posts:
        try:
            with session_scope(engine) as s:
                added += q.add_posts(s, posts=[post], timeline=timeline)
        except DataError as exc:
            _reject(report, f"the database refused it: {type(exc.orig).__name__}")
    with session_scope(engine) as s:
        q.set_timeline_cursor(s, name=timeline, since_id=newest, polled_at=now)
    return added
