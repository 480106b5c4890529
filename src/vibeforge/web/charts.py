"""Chart specs for the pages: plain dicts that static/charts.js hands to Chart.js.

Each spec is {"type", "labels", "datasets": [{"label", "data", "type"?, "axis"?, "marker"?,
"points"?}], "x"?, "y"?, "y2"?: axis titles}; a dataset with "axis": "y2" is drawn against a
second axis on the right (−1 … 1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from vibeforge.analytics.drift import WindowShift
from vibeforge.analytics.learning_curve import LearningCurve
from vibeforge.analytics.queries import BotSummary
from vibeforge.analytics.trends import Burst, TrendEvent
from vibeforge.domain import ApiCall


def _label(ts: datetime) -> str:
    return ts.strftime("%m-%d %H:%M")


def engagement_chart(summaries: Sequence[BotSummary]) -> dict[str, Any]:
    """Engagement per impression of each bot against the humans of its niche."""
    return {
        "type": "bar",
        "labels": [s.bot.name for s in summaries],
        "datasets": [
            {"label": "bot", "data": [s.engagement.rate for s in summaries]},
            {"label": "niche humans", "data": [s.niche.rate for s in summaries]},
        ],
        "y": "engagements per impression",
    }


def learning_chart(curve: LearningCurve) -> dict[str, Any]:
    """Realised reward per published post, its moving mean, the RL reward model's mean reward
    of each version where the version starts, version boundaries as markers, and the reward
    model's realised agreement (Spearman) on a second axis."""
    n = len(curve.points)
    boundaries = curve.boundaries()
    labels = []  # the post's number, and the versions that start there
    for p in curve.points:
        label = f"#{p.i}"
        if p.i in boundaries:
            label += " " + ", ".join(f"v{v.version} {v.kind}" for v in boundaries[p.i])
        labels.append(label)
    datasets: list[dict[str, Any]] = [
        {"label": "reward", "data": [p.reward for p in curve.points], "points": True},
        {"label": f"moving mean of {curve.smooth}", "data": [p.mean for p in curve.points]},
    ]
    rm: list[float | None] = [None] * n
    for v in curve.versions:
        if v.at_point is not None and v.rl_mean_reward is not None:
            rm[v.at_point - 1] = v.rl_mean_reward
    if any(x is not None for x in rm):
        datasets.append({"label": "RL reward-model mean", "data": rm})
    top = max((x for d in datasets for x in d["data"] if x is not None), default=1.0) or 1.0
    marks: list[float | None] = [None] * n
    for at in boundaries:
        marks[at - 1] = top
    if boundaries:
        datasets.append({"label": "adapter version", "data": marks, "type": "bar", "marker": True})
    rho: list[float | None] = [None] * n
    for a in curve.agreement:
        if a.at_point is not None and a.spearman is not None:
            rho[a.at_point - 1] = a.spearman
    spec: dict[str, Any] = {
        "type": "line",
        "labels": labels,
        "datasets": datasets,
        "y": "reward",
        "x": "published post",
    }
    if any(x is not None for x in rho):
        datasets.append({"label": "RM agreement (Spearman)", "data": rho, "axis": "y2"})
        spec["y2"] = "Spearman"
    return spec


def drift_chart(
    shifts: Mapping[str, Sequence[WindowShift]],
    *,
    metric: str,
    events: Sequence[TrendEvent] = (),
    bursts: Sequence[Burst] = (),
) -> dict[str, Any]:
    """One line per series (timeline, each bot) over the union of windows, trends marked."""
    starts = sorted({w.start for rows in shifts.values() for w in rows})
    width = None
    for rows in shifts.values():
        if rows:
            width = rows[0].end - rows[0].start
            break
    if width is not None and starts:
        # a trend whose window holds no post still gets its (empty) window on the axis
        step = width.total_seconds()
        for ts in [e.start for e in events] + [b.start for b in bursts]:
            at = datetime.fromtimestamp(math.floor(ts.timestamp() / step) * step, tz=ts.tzinfo)
            if starts[0] <= at <= starts[-1]:
                starts = sorted({*starts, at})
    labels = [_label(s) for s in starts]
    index = {s: i for i, s in enumerate(starts)}
    datasets: list[dict[str, Any]] = []
    for name, rows in shifts.items():
        data: list[float | None] = [None] * len(starts)
        for w in rows:
            data[index[w.start]] = getattr(w, metric)
        datasets.append({"label": name, "data": data})
    top = max((v for d in datasets for v in d["data"] if v is not None), default=1.0) or 1.0
    for label, times in (
        ("trend event", [e.start for e in events]),
        ("burst onset", [b.start for b in bursts]),
    ):
        marks: list[float | None] = [None] * len(starts)
        hit = False
        for ts in times:
            for s in starts:
                if width is not None and s <= ts < s + width:
                    marks[index[s]] = top
                    hit = True
        if hit:
            datasets.append({"label": label, "data": marks, "type": "bar", "marker": True})
    return {"type": "line", "labels": labels, "datasets": datasets, "y": metric.replace("_", " ")}


def ledger_chart(calls: Sequence[ApiCall]) -> dict[str, Any]:
    days = sorted({c.day for c in calls})
    kinds = sorted({c.kind for c in calls})
    datasets = []
    for kind in kinds:
        per_day = {d: 0.0 for d in days}
        for c in calls:
            if c.kind == kind:
                per_day[c.day] += c.cost_usd
        datasets.append({"label": kind, "data": [round(per_day[d], 6) for d in days]})
    return {
        "type": "bar",
        "stacked": True,
        "labels": [d.isoformat() for d in days],
        "datasets": datasets,
        "y": "cost (USD)",
    }
