"""Observe: read the engagement of a bot's own posts at their due ages and record rewards.

A post's metrics are read when it reaches each of the reward spec's ages (1 h, 6 h, 24 h of
platform time by default), in batches of the platform's limit. Each read is a stored
observation; each age read becomes a reward row (idempotent per bot, post, preset and age),
so a crash between the read and the reward only repeats a free lookup.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from vibeforge.domain import Bot, Reward
from vibeforge.learn.reward import RewardSpec, ages_read, due_ages, reward_at_ages, score
from vibeforge.platforms.base import Platform
from vibeforge.store import queries as q
from vibeforge.store import session_scope

log = logging.getLogger(__name__)


@dataclass
class ObserveReport:
    read: int = 0  # posts whose metrics were read
    rewards: int = 0  # new reward rows


def observe(
    engine: Engine,
    *,
    platform: Platform,
    bot: Bot,
    spec: RewardSpec,
    now: datetime,
    followers: int | None = None,
) -> ObserveReport:
    """Read due metrics of the bot's posts and store one reward per age read."""
    horizon = now - timedelta(seconds=max(spec.ages_s) * (1 + spec.tolerance_s))
    with session_scope(engine) as s:
        posts = q.list_posts(s, bot=bot.name, since=horizon)
        due: dict[str, tuple[datetime, float]] = {}
        for post in posts:
            history = q.metrics_history(s, post_id=post.id, platform=post.platform)
            read = ages_read(history, created_at=post.created_at, spec=spec)
            ages = due_ages(created_at=post.created_at, now=now, spec=spec, read=read)
            if ages:  # one read per post and call: the earliest age due
                due[post.id] = (post.created_at, ages[0])
    report = ObserveReport()
    if not due:
        return report
    observed = platform.metrics(post_ids=list(due))
    with session_scope(engine) as s:
        known = {pid: m for pid, m in observed.items() if pid in due}
        if known:
            q.add_metrics(s, observations=known)
        report.read = len(known)
        for pid, metrics in known.items():
            _, age = due[pid]
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
    engine: Engine, *, bot: str, spec: RewardSpec, followers: int | None = None
) -> dict[str, float]:
    """The combined (age-weighted) reward of each of the bot's posts observed so far."""
    out: dict[str, float] = {}
    with session_scope(engine) as s:
        for post in q.list_posts(s, bot=bot):
            history = q.metrics_history(s, post_id=post.id, platform=post.platform)
            scored = reward_at_ages(
                history, created_at=post.created_at, spec=spec, followers=followers
            )
            if scored is not None:
                out[post.id] = scored.value
    return out
