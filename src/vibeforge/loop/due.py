"""Which bots each step of a round is for, decided for the whole fleet at once.

A fleet of a thousand bots mostly waits: a bot posts a few times a day, its posts reach the
reward's ages (1 h, 6 h, 24 h) at their own times, its timeline fills slowly. A round reads the
fleet's state with a fixed number of grouped queries (however many bots) and runs each step
only for the bots due for it:

    compliance   the scope's re-check interval has passed (`compliance_interval_s`)
    observe      one of the bot's posts reached a reward age without a reading (`fleet_due`)
    sft          its timeline has >= sft_min_new_posts posts newer than its adapter's window
    reward       its labels (observed timeline posts, its own observed posts) may have grown by
                 rm_min_new_labels since its reward model's fit, or the monitor paused RL
    rl           it is due to post (`rl_cadence: post`, the default) or every round (`round`)
    act          its interval has passed, nothing of it waits for the publisher or approval,
                 and no budget stops it (`Posting`)

The sft and reward checks here are upper bounds on the exact ones the learn step makes for the
bots they let through; a bot due for nothing costs the round no page-in, no platform call and
no query of its own.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from vibeforge.domain import Bot, CandidateStatus, PublicationStatus
from vibeforge.store import fleet, session_scope
from vibeforge.store import queries as q

WAITING = (PublicationStatus.PENDING, PublicationStatus.SENT)


def jitter(bot: str, n: int, amount: float) -> float:
    """The bot's `n`th interval's deterministic factor in [1 - amount, 1 + amount]."""
    digest = hashlib.sha256(f"{bot}:{n}".encode()).digest()
    return 1.0 + amount * (2 * digest[0] / 255 - 1)


def day_start(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class Posting:
    """What deciding which bots are due to post needs, read for the whole fleet in four
    queries. Today's counts are from the posts' platform timestamps (the outbox rows' own
    stamps are the store's wall clock, which the sandbox's platform clock does not follow)."""

    day: datetime  # the start of the platform day the counts are for
    newest: dict[str, datetime]  # each bot's newest own post
    publications: dict[str, dict[PublicationStatus, int]]
    queued: dict[str, int]  # candidates waiting for a person's approval
    today: dict[str, int]  # own posts since `day`

    @classmethod
    def read(cls, engine: Engine, *, now: datetime) -> Posting:
        day = day_start(now)
        with session_scope(engine) as s:
            return cls(
                day=day,
                newest=fleet.newest_own_posts(s),
                publications=fleet.publication_counts(s),
                queued=fleet.candidate_counts(s, status=CandidateStatus.QUEUED),
                today=fleet.own_post_counts(s, since=day),
            )

    def waiting(self, bot: str) -> int:
        """Publications of `bot` on their way to the platform (pending or sent)."""
        counts = self.publications.get(bot, {})
        return sum(counts.get(status, 0) for status in WAITING)

    def posts_today(self, bot: str | None = None) -> int:
        """Posts on the platform today plus those on their way there (None: all bots)."""
        if bot is not None:
            return self.today.get(bot, 0) + self.waiting(bot)
        return sum(self.today.values()) + sum(map(self.waiting, self.publications))

    def due(
        self, bot: Bot, *, now: datetime, jitter_amount: float, global_cap: float | None
    ) -> tuple[bool, str | None]:
        """(due?, why not when a budget stops it)."""
        if self.waiting(bot.name) or self.queued.get(bot.name):
            return False, None  # publish (or get approval for) what is there before writing more
        limit = math.ceil(bot.posts_per_day)
        if self.posts_today(bot.name) >= limit:
            return False, f"bot {bot.name} reached its budget of {limit} posts today"
        if global_cap is not None and self.posts_today() >= global_cap:
            return False, f"all bots reached the global budget of {global_cap:g} posts today"
        last = self.newest.get(bot.name)
        if last is None:
            return True, None
        n = sum(self.publications.get(bot.name, {}).values())
        interval = timedelta(days=1) / bot.posts_per_day * jitter(bot.name, n, jitter_amount)
        return now - last >= interval, None


@dataclass(frozen=True, slots=True)
class Learning:
    """What deciding which bots may be due for SFT or a reward-model refit needs, read for the
    whole fleet in a fixed number of queries (one per followed timeline for SFT's windows)."""

    adapters: dict[str, datetime | None]  # each recorded bot's newest adapter's window end
    fresh_since: dict[str, list[datetime]]  # each timeline's newest posts' creation times
    timeline_labels: dict[str, int]  # each timeline's labelled posts (the refit's limit)
    own_observed: dict[str, set[str]]  # each bot's own posts with a metrics reading
    paused: dict[str, dict]  # the agreement monitor's flags, by flag name

    @classmethod
    def read(
        cls,
        engine: Engine,
        *,
        timelines: Sequence[str],
        sft_window: int,
        label_limit: int,
        flag_prefix: str,
    ) -> Learning:
        with session_scope(engine) as s:
            return cls(
                adapters={b: v.window_end for b, v in fleet.latest_adapter_versions(s).items()},
                fresh_since={
                    t: [p.created_at for p in q.list_posts(s, timeline=t, limit=sft_window)]
                    for t in sorted(set(timelines))
                },
                timeline_labels=fleet.labelled_timeline_counts(s, limit=label_limit),
                own_observed=fleet.observed_own_posts(s),
                paused=fleet.flags_named(s, prefix=flag_prefix),
            )

    def sft_may_be_due(self, bot: Bot, *, min_new: int) -> bool:
        """False only when the bot's recorded adapter's window leaves fewer than `min_new` new
        timeline posts (a bot with no recorded adapter is left to the exact check)."""
        if bot.timeline is None:
            return False
        if bot.name not in self.adapters:
            return True
        since = self.adapters[bot.name]
        times = self.fresh_since.get(bot.timeline, [])
        return sum(1 for t in times if since is None or t > since) >= min_new

    def labels_at_most(self, bot: Bot, *, held_out: set[str] | None = None) -> int:
        """An upper bound of the reward model's label count for the bot: its timeline's
        observed posts and its own observed posts (less those held out)."""
        own = self.own_observed.get(bot.name, set())
        timeline = self.timeline_labels.get(bot.timeline, 0) if bot.timeline else 0
        return timeline + len(own - (held_out or set()))
