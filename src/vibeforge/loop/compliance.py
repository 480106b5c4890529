"""Compliance: posts deleted or withheld on the platform are deleted downstream.

X's developer terms want content that was deleted (or withheld) on X gone from everything
derived from it within 24 hours. Per followed timeline and per bot, at most once per
`compliance_interval_s` of platform time (12 h by default, so a deletion is found within 24 h
even when it lands just after a check):

    lookup   the stored posts younger than `compliance_horizon_days` are read back by id
             (`Platform.get_posts`, 100 a call on X, through the call ledger like every read:
             a timeline's are charged like its polls, a bot's own to the bot); an id the
             platform no longer returns (deleted, protected, suspended, taken down) or returns
             `withheld` is gone
    remove   in one transaction: the posts with their metric observations and rewards (so the
             SFT and reward-model sources, which read the store, and analytics, which reads
             the store, no longer see them); a bot's own post keeps its outbox row and its
             provenance, which notes when it was found gone
    forget   the regurgitation index drops the removed timeline posts (`MemorizationIndex.
             remove`, keeping n-grams the posts still stored share with them)

A lookup that would remove more than `compliance_max_removed_share` of at least 20 posts
removes nothing and says so in the report: a wrong id mapping must not empty the store. Each
scope's last check is kept in the store flag `compliance` (`{"timeline:NAME"|"bot:NAME": iso
time}`), so a restarted loop does not check again early.

What it does not reach: adapters and reward models already trained on a removed post (training
cannot be undone; new versions no longer see it), posts older than the horizon, and elder
datasets (`<home>/elders/`), whose context examples quote timeline posts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Engine

from vibeforge.config.loop import LoopConfig
from vibeforge.domain import Bot
from vibeforge.platforms.base import Platform
from vibeforge.store import queries as q
from vibeforge.store import session_scope

log = logging.getLogger(__name__)
FLAG = "compliance"
MIN_POSTS_FOR_SHARE = 20  # below this many checked posts any share of removals is believable


class Forgetter(Protocol):
    def remove(self, texts: Sequence[str], *, keep: Sequence[str] = ()) -> Any: ...


@dataclass
class ComplianceReport:
    scope: str  # "timeline:NAME" or "bot:NAME"
    skipped: bool = False  # checked less than an interval ago
    checked: int = 0  # stored posts looked up
    removed: int = 0  # of them, gone from the platform and removed here
    withheld: int = 0  # of the removed, withheld rather than missing
    unindexed: int = 0  # regurgitation-index rows dropped
    held: str | None = None  # why nothing was removed although posts looked gone
    error: str | None = None  # why the check failed (set by cycle.comply_all, which goes on)


def due(engine: Engine, *, scope: str, now: datetime, config: LoopConfig) -> bool:
    return scope in due_scopes(engine, scopes=[scope], now=now, config=config)


def due_scopes(
    engine: Engine, *, scopes: Sequence[str], now: datetime, config: LoopConfig
) -> set[str]:
    """The `scopes` whose re-check interval has passed (one query however many)."""
    with session_scope(engine) as s:
        checked = q.get_flag(s, name=FLAG) or {}
    interval = timedelta(seconds=config.compliance_interval_s)
    out = set()
    for scope in scopes:
        last = checked.get(scope)
        try:
            then = datetime.fromisoformat(last) if isinstance(last, str) else None
        except ValueError:
            then = None
        if then is None or now - then >= interval:
            out.add(scope)
    return out


def check_timeline(
    engine: Engine,
    *,
    platform: Platform,
    timeline: str,
    now: datetime,
    config: LoopConfig,
    index: Forgetter | None = None,
    force: bool = False,
) -> ComplianceReport:
    """Re-check a timeline's stored posts; remove those gone from the platform."""
    return _check(
        engine,
        platform=platform,
        scope=f"timeline:{timeline}",
        query={"timeline": timeline},
        now=now,
        config=config,
        index=index,
        force=force,
    )


def check_bot(
    engine: Engine,
    *,
    platform: Platform,
    bot: Bot,
    now: datetime,
    config: LoopConfig,
    force: bool = False,
) -> ComplianceReport:
    """Re-check a bot's own stored posts; remove those gone from the platform."""
    return _check(
        engine,
        platform=platform,
        scope=f"bot:{bot.name}",
        query={"bot": bot.name},
        now=now,
        config=config,
        index=None,  # the index holds ingested posts only
        force=force,
    )


def _check(
    engine: Engine,
    *,
    platform: Platform,
    scope: str,
    query: dict[str, str],
    now: datetime,
    config: LoopConfig,
    index: Forgetter | None,
    force: bool,
) -> ComplianceReport:
    report = ComplianceReport(scope=scope)
    if not force and not due(engine, scope=scope, now=now, config=config):
        report.skipped = True
        return report
    since = now - timedelta(days=config.compliance_horizon_days)
    with session_scope(engine) as s:
        ids = q.post_ids(s, platform=platform.name, since=since, **query)
    report.checked = len(ids)
    found = {p.id: p for p in platform.get_posts(post_ids=ids)} if ids else {}
    withheld = [i for i in ids if i in found and found[i].withheld]
    gone = [i for i in ids if i not in found or found[i].withheld]
    share = len(gone) / len(ids) if ids else 0.0
    if len(ids) >= MIN_POSTS_FOR_SHARE and share > config.compliance_max_removed_share:
        report.held = (
            f"{len(gone)} of {len(ids)} posts look gone from {platform.name} "
            f"({share:.0%} > compliance_max_removed_share "
            f"{config.compliance_max_removed_share:.0%}); nothing removed: check the platform "
            "and its ids, then raise the setting (1.0: off) if they really are gone"
        )
        log.error("compliance %s: %s", scope, report.held)
        return report  # not marked done: it is checked again next round
    with session_scope(engine) as s:
        if gone:
            removed = q.delete_posts(s, platform=platform.name, post_ids=gone)
            report.removed = len(removed)
            report.withheld = len(set(withheld) & {p.id for p in removed})
            if "bot" in query:
                q.mark_provenance_removed(s, platform=platform.name, post_ids=gone, at=now)
            elif index is not None and removed:
                # before the commit: a crash in between leaves the posts stored and the check
                # not done, so the next round finds them gone again and repeats both
                kept = q.ingested_texts(s)  # the deletes are flushed: only what stays
                removed_texts = [p.text for p in removed]
                report.unindexed = int(index.remove(removed_texts, keep=kept) or 0)
        flags = q.get_flag(s, name=FLAG) or {}
        q.set_flag(s, name=FLAG, value={**flags, scope: now.isoformat()})
    if report.removed:
        log.info(
            "compliance %s: checked %d, removed %d gone from %s (%d withheld)",
            scope,
            report.checked,
            report.removed,
            platform.name,
            report.withheld,
        )
    return report
