"""Trend events scheduled in a sandbox world under the home, for the dashboard's markers.

The sandbox keeps its world in `<home>/sandbox/sandbox.db` (SQLite). The dashboard reads the
`trends` table read-only on each request, so events scheduled while it runs
(`vibeforge sandbox trend ...`) appear on the next page load. A sandbox niche is shown on every
timeline that follows one of its lists, or on the timeline of the same name.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vibeforge.analytics.trends import TrendEvent
from vibeforge.paths import Home
from vibeforge.store import queries as q
from vibeforge.store import session_scope


def sandbox_db(home: Path) -> Path:
    return Home(home).sandbox_world.database


def _read(path: Path) -> tuple[list[tuple[str, int, str]], dict[str, str]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        trends = conn.execute("SELECT niche, at_ms, text FROM trends ORDER BY at_ms").fetchall()
        lists = conn.execute("SELECT id, niche FROM lists WHERE niche IS NOT NULL").fetchall()
    except sqlite3.Error:  # a world being seeded, or not a sandbox file
        return [], {}
    finally:
        conn.close()
    return trends, {str(list_id): niche for list_id, niche in lists}


class SandboxTrendEvents:
    """`TrendEvents` (niche -> events) over the sandbox world's file; empty when there is none."""

    def __init__(self, home: Path, engine: Any) -> None:
        self.path = sandbox_db(home)
        self.engine = engine

    def __call__(self, timeline: str) -> Sequence[TrendEvent]:
        if not self.path.exists():
            return []
        trends, list_niche = _read(self.path)
        if not trends:
            return []
        with session_scope(self.engine) as s:
            t = next((t for t in q.list_timelines(s) if t.name == timeline), None)
        niches = {timeline}
        if t is not None:
            niches.update(list_niche.get(src, "") for src in str(t.source).split(","))
        return [
            TrendEvent.from_sandbox({"niche": n, "at_ms": at, "text": text}, niche=timeline)
            for n, at, text in trends
            if n in niches
        ]
