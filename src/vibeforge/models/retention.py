"""Which adapter versions of one bot to keep and which to delete: a pure decision, no disk.

Kept, each with every reason that holds:
    newest         the highest-numbered version folder, whatever its state ("newest number
                   (never reused)" when it is broken): a save numbers the next version after
                   it, so a number is never given twice (the store mirrors versions by number)
    newest good    the newest readable version, the one the bank serves (when not the newest)
    last N         the N newest readable versions (`keep_last`)
    <reference>    every readable version a publication or an elder's dataset names, with the
                   caller's words ("published", "elder e1 v2"); the caller gathers them from
                   the store and passes plain numbers: models never import it
    daily <day>    the newest readable version of each UTC day, for the last `keep_daily_days`
                   days (today included)
Deleted:
    broken: <why>  a version the bank skips (torn or missing files, a checksum that does not
                   match), once a good version exists
    expired        a readable version no rule keeps

When no version is readable nothing is deleted: the files are left for a person to look at.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from vibeforge.config.retention import AdapterRetention


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionState:
    """What the decision needs to know of one version folder."""

    version: int
    created_at: datetime | None = None
    broken: str | None = None  # why the bank would skip it; None: readable
    size_bytes: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    version: int
    keep: bool
    reasons: tuple[str, ...]  # why it stays, or why it goes
    size_bytes: int = 0

    def as_json(self) -> dict[str, object]:
        return {"version": self.version, "reasons": list(self.reasons), "bytes": self.size_bytes}


def plan_retention(
    versions: Iterable[VersionState],
    *,
    policy: AdapterRetention,
    now: datetime,
    references: Mapping[int, Iterable[str]] | None = None,
) -> list[Verdict]:
    """One verdict per version, oldest first. `references`: version -> why it is referenced."""
    states = sorted(versions, key=lambda s: s.version)
    if not states:
        return []
    reasons: dict[int, list[str]] = {s.version: [] for s in states}
    readable = [s for s in states if s.broken is None]
    if not readable:
        why = "no readable version: left for inspection"
        return [
            Verdict(version=s.version, keep=True, reasons=(why,), size_bytes=s.size_bytes)
            for s in states
        ]

    def keep(version: int, why: str) -> None:
        if why not in reasons[version]:
            reasons[version].append(why)

    highest, newest_good = states[-1].version, readable[-1].version
    keep(highest, "newest" if highest == newest_good else "newest number (never reused)")
    keep(newest_good, "newest" if newest_good == highest else "newest good")
    for s in readable[-policy.keep_last :]:
        keep(s.version, f"last {policy.keep_last}")
    for version, whys in (references or {}).items():
        if version in reasons and _readable(states, version):
            for why in whys:
                keep(version, why)
    for day, version in _daily(readable, now=now, days=policy.keep_daily_days).items():
        keep(version, f"daily {day.isoformat()}")

    verdicts = []
    for s in states:
        kept = bool(reasons[s.version])
        if not kept:
            reasons[s.version].append(f"broken: {s.broken}" if s.broken else "expired")
        verdicts.append(
            Verdict(
                version=s.version,
                keep=kept,
                reasons=tuple(reasons[s.version]),
                size_bytes=s.size_bytes,
            )
        )
    return verdicts


def _readable(states: list[VersionState], version: int) -> bool:
    return any(s.version == version and s.broken is None for s in states)


def _daily(readable: list[VersionState], *, now: datetime, days: int) -> dict[date, int]:
    """UTC day -> the newest readable version created that day, for the last `days` days."""
    today = (now if now.tzinfo else now.replace(tzinfo=UTC)).astimezone(UTC).date()
    newest: dict[date, int] = {}
    for s in readable:  # oldest first: a later version of the same day replaces an earlier one
        if s.created_at is None:
            continue
        created = s.created_at
        if created.tzinfo is None:  # naive times are UTC throughout vibeforge
            created = created.replace(tzinfo=UTC)
        day = created.astimezone(UTC).date()
        if (today - day).days < days:
            newest[day] = s.version
    return newest
