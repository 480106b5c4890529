"""Read-only views of the store for analytics and the dashboard (through the store's queries).

A niche is a timeline: its posts are the humans' side, and the bots that follow it are compared
against them.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from vibeforge.analytics.drift import Embed, WindowShift, post_shift
from vibeforge.analytics.spread import (
    Cascade,
    GrowthPoint,
    cascades,
    growth_curve,
    history_points,
    quote_edges,
)
from vibeforge.analytics.trends import (
    Burst,
    BurstConfig,
    Capture,
    PostIndex,
    Topic,
    TrendEvent,
    captures_for_topics,
    detect_bursts,
    group_topics,
    time_to_capture,
)
from vibeforge.domain import Bot, CandidateStatus, Post
from vibeforge.store import queries as q


@dataclass(frozen=True, slots=True, kw_only=True)
class Engagement:
    """Engagement of a set of posts, from each post's latest metrics observation."""

    posts: int  # posts with metrics
    per_post: float | None  # mean engagement total per post
    rate: float | None  # engagement per impression, over posts that report impressions


def engagement(posts: Sequence[Post]) -> Engagement:
    measured = [p.metrics for p in posts if p.metrics is not None]
    if not measured:
        return Engagement(posts=0, per_post=None, rate=None)
    with_reach = [m for m in measured if m.impression_count]
    rate = None
    if with_reach:
        rate = sum(m.total() for m in with_reach) / sum(m.impression_count or 0 for m in with_reach)
    return Engagement(
        posts=len(measured),
        per_post=statistics.fmean(m.total() for m in measured),
        rate=rate,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class BotSummary:
    bot: Bot
    posts: int
    engagement: Engagement
    niche: Engagement  # the humans of the timeline the bot follows
    mean_reward: float | None
    adapter_versions: int
    queued: int


def overview(session: Session) -> list[BotSummary]:
    """Every bot with its engagement against its niche's humans."""
    niche_cache: dict[str | None, Engagement] = {}
    queued: dict[str, int] = {}
    for c in q.list_candidates(session, status=CandidateStatus.QUEUED):
        queued[c.bot] = queued.get(c.bot, 0) + 1
    out = []
    for bot in q.list_bots(session):
        own = q.list_posts(session, bot=bot.name, with_metrics=True)
        if bot.timeline not in niche_cache:
            humans = (
                q.list_posts(session, timeline=bot.timeline, with_metrics=True)
                if bot.timeline
                else []
            )
            niche_cache[bot.timeline] = engagement(humans)
        stats = q.bot_stats(session, name=bot.name)
        out.append(
            BotSummary(
                bot=bot,
                posts=len(own),
                engagement=engagement(own),
                niche=niche_cache[bot.timeline],
                mean_reward=stats["mean_reward"],
                adapter_versions=stats["adapter_versions"],
                queued=queued.get(bot.name, 0),
            )
        )
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejection:
    candidate_id: int | None
    text: str
    failed: dict[str, dict[str, Any]]  # check name -> its verdict details
    created_at: Any


def rejections(session: Session, *, bot: str, limit: int = 50) -> list[Rejection]:
    """The bot's candidates the guard rejected, newest first, with the checks that failed."""
    rows = q.list_candidates(session, bot=bot, status=CandidateStatus.REJECTED)
    out = []
    for c in reversed(rows):
        failed = {
            name: {k: v for k, v in verdict.items() if k != "ok"}
            for name, verdict in c.guard.items()
            if isinstance(verdict, dict) and not verdict.get("ok", True)
        }
        out.append(
            Rejection(candidate_id=c.id, text=c.text, failed=failed, created_at=c.created_at)
        )
    return out[:limit]


@dataclass(slots=True, kw_only=True)
class NicheTrends:
    niche: str
    posts: int
    bursts: list[Burst]
    topics: list[Topic]  # the bursts grouped into co-bursting topics
    bots: dict[str, list[Topic]] = field(default_factory=dict)  # bot -> topics in its outputs
    captures: dict[str, list[Capture]] = field(default_factory=dict)  # bot -> per timeline topic
    events: list[tuple[TrendEvent, dict[str, Capture]]] = field(default_factory=list)


def niche_trends(
    session: Session,
    *,
    niche: str,
    config: BurstConfig | None = None,
    events: Sequence[TrendEvent] = (),
) -> NicheTrends:
    """Bursts in a niche's timeline and in each following bot's outputs, with capture lags."""
    q.get_timeline(session, name=niche)
    timeline_posts = q.list_posts(session, timeline=niche)
    bursts = detect_bursts(timeline_posts, config=config)
    report = NicheTrends(
        niche=niche, posts=len(timeline_posts), bursts=bursts, topics=group_topics(bursts)
    )
    bots = [b for b in q.list_bots(session) if b.timeline == niche]
    own = {b.name: q.list_posts(session, bot=b.name) for b in bots}
    for name, posts in own.items():
        report.bots[name] = group_topics(detect_bursts(posts, config=config))
        report.captures[name] = captures_for_topics(
            report.topics, timeline_posts=timeline_posts, bot_posts=posts
        )
    timeline_index = PostIndex(timeline_posts)
    for event in events:
        if event.niche != niche:
            continue
        per_bot = {
            name: time_to_capture(
                event_start=event.start,
                terms=event.terms,
                timeline_posts=timeline_index,
                bot_posts=posts,
            )
            for name, posts in own.items()
        }
        report.events.append((event, per_bot))
    return report


def niche_shift(
    session: Session,
    *,
    niche: str,
    window_s: float,
    embed: Embed | None = None,
    embed_per_window: int | None = None,
    last_windows: int | None = None,
) -> dict[str, list[WindowShift]]:
    """Language shift of a niche's timeline (key "timeline") and of each following bot.

    `last_windows` keeps only the newest windows (counted back from the newest post).
    """
    q.get_timeline(session, name=niche)
    series = {"timeline": q.list_posts(session, timeline=niche)}
    for bot in q.list_bots(session):
        if bot.timeline == niche:
            series[f"bot:{bot.name}"] = q.list_posts(session, bot=bot.name)
    newest = max((p.created_at for posts in series.values() for p in posts), default=None)
    if last_windows is not None and newest is not None:
        start = math.floor(newest.timestamp() / window_s) - last_windows + 1
        since = datetime.fromtimestamp(start * window_s, tz=UTC)
        series = {k: [p for p in v if p.created_at >= since] for k, v in series.items()}
    return {
        name: post_shift(posts, window_s=window_s, embed=embed, embed_per_window=embed_per_window)
        for name, posts in series.items()
    }


AGES_S = (3600.0, 6 * 3600.0, 24 * 3600.0)  # the ages metrics are read back at


def growth(
    session: Session,
    *,
    bot: str | None = None,
    timeline: str | None = None,
    ages_s: Sequence[float] = AGES_S,
    limit: int = 200,
) -> list[GrowthPoint]:
    """How engagement grows with age over the newest `limit` posts of a bot or a timeline."""
    posts = q.list_posts(session, bot=bot, timeline=timeline, limit=limit)
    histories = {
        p.id: history_points(
            p.created_at, q.metrics_history(session, post_id=p.id, platform=p.platform)
        )
        for p in posts
    }
    return growth_curve(histories, ages_s=ages_s)


def niche_cascades(session: Session, *, niche: str, top: int = 5) -> list[Cascade]:
    """The largest repost/quote/reply cascades among a niche's stored posts and its bots' posts.

    Quote and reply edges come from the stored posts; each post's reposts (its latest stored
    `repost_count`) hang below it as anonymous leaves.
    """
    posts = q.list_posts(session, timeline=niche, with_metrics=True)
    for bot in q.list_bots(session):
        if bot.timeline == niche:
            posts += q.list_posts(session, bot=bot.name, with_metrics=True)
    reposts = {p.id: p.metrics.repost_count for p in posts if p.metrics is not None}
    found = cascades(quote_edges(posts, replies=True), reposts=reposts)
    return [c for c in found if c.size > 1][:top]
