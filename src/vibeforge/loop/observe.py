"""Observe: read the engagement of posts at the reward's fixed ages.

A bot's own post has its metrics read when it reaches each of the reward spec's ages (1 h, 6 h,
24 h of platform time by default), in batches of the platform's limit. Each read is a stored
observation; each age read becomes a reward row (idempotent per bot, post, preset and age),
so a crash between the read and the reward only repeats a free lookup.

Timeline posts are re-read at the same ages (`observe_timeline`, at most `budget` posts per
timeline and call, the ones closest to missing their window first): ingest sees a post at
whatever age it happens to have, often minutes, when most counts are still zero, so the
reward model's labels would not mean what a bot's reward means. The reads go through the
platform's ledger like any other (on X they are priced).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from vibeforge.domain import Bot, Metrics, Post, Reward
from vibeforge.learn.reward import (
    RatePrior,
    RewardSpec,
    ages_read,
    due_ages,
    reward_at_ages,
    score,
)
from vibeforge.platforms.base import Platform
from vibeforge.store import fleet, session_scope
from vibeforge.store import queries as q

log = logging.getLogger(__name__)


@dataclass
class ObserveReport:
    read: int = 0  # posts whose metrics were read
    rewards: int = 0  # new reward rows


@dataclass(frozen=True, slots=True)
class DuePost:
    """A post whose metrics are due for a reading: at `age` seconds of the reward spec."""

    created_at: datetime
    age: float
    platform: str


def horizon(spec: RewardSpec, now: datetime) -> datetime:
    """The oldest creation time a post can have and still be due at one of `spec`'s ages."""
    return now - timedelta(seconds=max(spec.ages_s) * (1 + spec.tolerance_s))


def due_posts(
    histories: Iterable[tuple[Post, Sequence[Metrics]]], *, spec: RewardSpec, now: datetime
) -> dict[str, DuePost]:
    """The posts among `histories` due for a reading now: one per post, its earliest age due."""
    due: dict[str, DuePost] = {}
    for post, history in histories:
        read = ages_read(history, created_at=post.created_at, spec=spec)
        ages = due_ages(created_at=post.created_at, now=now, spec=spec, read=read)
        if ages:
            due[post.id] = DuePost(created_at=post.created_at, age=ages[0], platform=post.platform)
    return due


def fleet_due(engine: Engine, *, spec: RewardSpec, now: datetime) -> dict[str, dict[str, DuePost]]:
    """Every bot's posts due for a reading now (bots with none are absent): two queries for
    the whole fleet."""
    with session_scope(engine) as s:
        rows = fleet.own_metrics_histories(s, since=horizon(spec, now))
    by_bot: dict[str, list[tuple[Post, list[Metrics]]]] = {}
    for bot, post, history in rows:
        by_bot.setdefault(bot, []).append((post, history))
    due = {bot: due_posts(posts, spec=spec, now=now) for bot, posts in by_bot.items()}
    return {bot: posts for bot, posts in due.items() if posts}


def observe(
    engine: Engine,
    *,
    platform: Platform,
    bot: Bot,
    spec: RewardSpec,
    now: datetime,
    followers: int | None = None,
    due: dict[str, DuePost] | None = None,
) -> ObserveReport:
    """Read due metrics of the bot's posts and store one reward per age read (`due`: the
    bot's due posts when the caller already knows them, as a round does: `fleet_due`)."""
    if due is None:
        with session_scope(engine) as s:
            own = q.metrics_histories(s, bot=bot.name, since=horizon(spec, now))
        due = due_posts(own, spec=spec, now=now)
    platform_of = {pid: d.platform for pid, d in due.items()}
    report = ObserveReport()
    if not due:
        return report
    observed = platform.metrics(post_ids=list(due))
    with session_scope(engine) as s:
        known = {pid: m for pid, m in observed.items() if pid in due}
        for name in sorted({platform_of[pid] for pid in known}):
            q.add_metrics(
                s,
                observations={pid: m for pid, m in known.items() if platform_of[pid] == name},
                platform=name,
            )
        report.read = len(known)
        for pid, metrics in known.items():
            age = due[pid].age
            scored = score(metrics, spec=spec, followers=followers)
            fresh = q.add_reward(
                s,
                reward=Reward(
                    bot=bot.name,
                    post_id=pid,
                    value=scored.value,
                    preset=spec.name,
                    age_s=age,
                    components=scored.components,
                ),
            )
            report.rewards += int(fresh)
    missing = sorted(set(due) - set(observed))
    if missing:
        log.info(
            "bot %s: %d posts no longer on the platform: %s", bot.name, len(missing), missing[:3]
        )
    return report


def post_rewards(
    engine: Engine,
    *,
    bot: str,
    spec: RewardSpec,
    followers: int | None = None,
    prior: RatePrior | None = None,
) -> dict[str, float]:
    """The combined (age-weighted) reward of each of the bot's posts observed so far (with a
    `prior`: shrunk toward it, as the reward model's labels are)."""
    out: dict[str, float] = {}
    with session_scope(engine) as s:
        for post, history in q.metrics_histories(s, bot=bot):
            scored = reward_at_ages(
                history, created_at=post.created_at, spec=spec, followers=followers, prior=prior
            )
            if scored is not None:
                out[post.id] = scored.value
    return out


def observe_timeline(
    engine: Engine,
    *,
    platform: Platform,
    timeline: str,
    spec: RewardSpec,
    now: datetime,
    budget: int,
) -> int:
    """Re-read up to `budget` of a timeline's posts that reached one of the spec's ages and have
    no observation for it; returns how many were read. Posts the platform no longer returns
    (deleted) are skipped."""
    if budget <= 0:
        return 0
    due: list[tuple[float, str, str]] = []  # (seconds left in the window, platform, post id)
    with session_scope(engine) as s:
        posts = q.metrics_histories(s, timeline=timeline, since=horizon(spec, now))
    for post, d in due_posts(posts, spec=spec, now=now).items():
        closes = d.age * (1 + spec.tolerance_s) - (now - d.created_at).total_seconds()
        due.append((closes, d.platform, post))
    if not due:
        return 0
    due.sort()
    chosen = due[:budget]
    observed = platform.metrics(post_ids=[pid for _, _, pid in chosen])
    platform_of = {pid: name for _, name, pid in chosen}
    read = 0
    with session_scope(engine) as s:
        for name in sorted(set(platform_of.values())):
            batch = {pid: m for pid, m in observed.items() if platform_of.get(pid) == name}
            if batch:
                read += q.add_metrics(s, observations=batch, platform=name)
    if len(due) > budget:
        log.info(
            "timeline %s: %d posts due for a re-read, %d read (relabel_posts)",
            timeline,
            len(due),
            budget,
        )
    return read
