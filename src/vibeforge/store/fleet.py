"""Queries over the whole fleet at once: what a round needs to decide which bots are due.

A round over a thousand bots reads its state with these (loop.due): a fixed number of grouped
queries however many bots there are, instead of a query per bot. Keyword-only, domain objects
out, committing left to the caller, as in `store.queries`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vibeforge.domain import AdapterVersion, CandidateStatus, Metrics, Post, PublicationStatus
from vibeforge.store.queries import _adapter, _metrics, _post
from vibeforge.store.tables import (
    AdapterVersionRow,
    CandidateRow,
    FlagRow,
    MetricRow,
    PostRow,
    PublicationRow,
)


def newest_own_posts(session: Session) -> dict[str, datetime]:
    """Each bot's newest own post's creation time (bots without posts are absent)."""
    query = (
        select(PostRow.bot, func.max(PostRow.created_at))
        .where(PostRow.bot.is_not(None))
        .group_by(PostRow.bot)
    )
    return {str(bot): when for bot, when in session.execute(query)}


def own_post_counts(session: Session, *, since: datetime) -> dict[str, int]:
    """How many own posts each bot has created since `since` (bots with none are absent)."""
    query = (
        select(PostRow.bot, func.count())
        .where(PostRow.bot.is_not(None), PostRow.created_at >= since)
        .group_by(PostRow.bot)
    )
    return {str(bot): int(n) for bot, n in session.execute(query)}


def publication_counts(session: Session) -> dict[str, dict[PublicationStatus, int]]:
    """Each bot's publications counted by status."""
    query = select(PublicationRow.bot, PublicationRow.status, func.count()).group_by(
        PublicationRow.bot, PublicationRow.status
    )
    out: dict[str, dict[PublicationStatus, int]] = {}
    for bot, status, n in session.execute(query):
        out.setdefault(bot, {})[PublicationStatus(status)] = int(n)
    return out


def candidate_counts(session: Session, *, status: CandidateStatus) -> dict[str, int]:
    """How many candidates each bot has in `status`."""
    query = (
        select(CandidateRow.bot, func.count())
        .where(CandidateRow.status == status.value)
        .group_by(CandidateRow.bot)
    )
    return {bot: int(n) for bot, n in session.execute(query)}


def own_metrics_histories(
    session: Session, *, since: datetime
) -> list[tuple[str, Post, list[Metrics]]]:
    """Every bot's own posts created since `since` (newest first), each with its bot and its
    metrics observations (oldest first): two queries for the whole fleet."""
    where = (PostRow.bot.is_not(None), PostRow.created_at >= since)
    newest_first = (PostRow.created_at.desc(), PostRow.pk.desc())
    rows = list(session.scalars(select(PostRow).where(*where).order_by(*newest_first)))
    history: dict[int, list[Metrics]] = {r.pk: [] for r in rows}
    observed = (
        select(MetricRow)
        .join(PostRow, MetricRow.post_pk == PostRow.pk)
        .where(*where)
        .order_by(MetricRow.observed_at, MetricRow.id)
    )
    for m in session.scalars(observed):
        history.setdefault(m.post_pk, []).append(_metrics(m))
    return [(str(r.bot), _post(r), history[r.pk]) for r in rows]


def observed_own_posts(session: Session) -> dict[str, set[str]]:
    """The ids of each bot's own posts that have at least one metrics observation."""
    query = (
        select(PostRow.bot, PostRow.post_id)
        .join(MetricRow, MetricRow.post_pk == PostRow.pk)
        .where(PostRow.bot.is_not(None))
        .distinct()
    )
    out: dict[str, set[str]] = {}
    for bot, post_id in session.execute(query):
        out.setdefault(str(bot), set()).add(post_id)
    return out


def labelled_timeline_counts(session: Session, *, limit: int) -> dict[str, int]:
    """Per timeline, how many of its newest `limit` posts have a metrics observation."""
    ranked = select(
        PostRow.pk,
        PostRow.timeline,
        func.row_number()
        .over(
            partition_by=PostRow.timeline,
            order_by=(PostRow.created_at.desc(), PostRow.pk.desc()),
        )
        .label("rank"),
    ).where(PostRow.timeline.is_not(None))
    newest = ranked.subquery()
    observed = select(MetricRow.post_pk).distinct().subquery()
    query = (
        select(newest.c.timeline, func.count())
        .join(observed, observed.c.post_pk == newest.c.pk)
        .where(newest.c.rank <= limit)
        .group_by(newest.c.timeline)
    )
    return {timeline: int(n) for timeline, n in session.execute(query)}


def latest_adapter_versions(session: Session) -> dict[str, AdapterVersion]:
    """Each bot's newest recorded adapter version."""
    newest = (
        select(AdapterVersionRow.bot, func.max(AdapterVersionRow.version).label("v"))
        .group_by(AdapterVersionRow.bot)
        .subquery()
    )
    query = select(AdapterVersionRow).join(
        newest,
        (AdapterVersionRow.bot == newest.c.bot) & (AdapterVersionRow.version == newest.c.v),
    )
    return {r.bot: _adapter(r) for r in session.scalars(query)}


def flags_named(session: Session, *, prefix: str) -> dict[str, dict[str, Any]]:
    """Every flag whose name starts with `prefix`, by name."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    query = select(FlagRow).where(FlagRow.name.like(f"{escaped}%", escape="\\"))
    return {r.name: dict(r.value) for r in session.scalars(query)}
