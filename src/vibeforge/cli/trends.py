"""`vibeforge trends`: emerging topics per niche, each bot's time-to-capture, language shift."""

from __future__ import annotations

from typing import Any

import typer

from vibeforge.cli.common import console, open_engine, print_json


def trends(
    ctx: typer.Context,
    niche: str | None = typer.Option(None, "--niche", help="Only this niche (a timeline name)."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    window_hours: float = typer.Option(
        1.0, "--window-hours", min=0.01, help="Width of a burst-detection window, in hours."
    ),
) -> None:
    """Show what is trending in each niche and how fast its bots picked it up."""
    from vibeforge.analytics import queries as aq
    from vibeforge.analytics.trends import BurstConfig
    from vibeforge.store import queries as q
    from vibeforge.store import session_scope

    config = BurstConfig(window_s=window_hours * 3600)
    with session_scope(open_engine(ctx)) as session:
        names = [niche] if niche else [t.name for t in q.list_timelines(session)]
        reports = [aq.niche_trends(session, niche=n, config=config) for n in names]
        shifts = {
            n: aq.niche_shift(session, niche=n, window_s=config.window_s)["timeline"] for n in names
        }
    if json_out:
        print_json([_as_json(r, shifts[r.niche]) for r in reports])
        return
    if not reports:
        console.print("no niches yet: add a timeline with 'vibeforge timeline add'")
    for report in reports:
        _show(report, shifts[report.niche])


def _as_json(report: Any, shift: list[Any]) -> dict[str, Any]:
    return {
        "niche": report.niche,
        "posts": report.posts,
        "topics": [
            {
                "label": t.label,
                "terms": list(t.terms),
                "start": t.start,
                "end": t.end,
                "posts": t.count,
                "z": round(t.z, 3),
                "capture_lag_s": {bot: caps[i].lag_s for bot, caps in report.captures.items()},
            }
            for i, t in enumerate(report.topics)
        ],
        "bursts": [
            {
                "term": b.term,
                "kind": b.kind,
                "start": b.start,
                "end": b.end,
                "posts": b.count,
                "z": round(b.z, 3),
                "ratio": round(b.ratio, 3),
            }
            for b in report.bursts
        ],
        "bots": {
            bot: [{"label": t.label, "start": t.start, "posts": t.count} for t in topics]
            for bot, topics in report.bots.items()
        },
        "token_jsd": [{"start": w.start, "posts": w.posts, "jsd": w.token_jsd} for w in shift],
    }


def _show(report: Any, shift: list[Any]) -> None:
    from rich.table import Table

    bots = list(report.captures)
    table = Table(
        "topic",
        "also bursting",
        "from",
        "posts",
        "z",
        *[f"{b} lag" for b in bots],
        title=f"{report.niche}: {report.posts} posts",
        title_justify="left",
    )
    for i, t in enumerate(report.topics):
        lags = []
        for b in bots:
            lag = report.captures[b][i].lag_s
            lags.append("not yet" if lag is None else f"{lag / 3600:.1f} h")
        also = ", ".join(t.terms[1:4]) + (" …" if len(t.terms) > 4 else "")
        table.add_row(
            t.label, also, t.start.strftime("%m-%d %H:%M"), str(t.count), f"{t.z:.1f}", *lags
        )
    if report.topics:
        console.print(table)
    else:
        console.print(f"[bold]{report.niche}[/]: no emerging topics in {report.posts} posts")
    latest = [w for w in shift if w.token_jsd is not None]
    if latest:
        w = latest[-1]
        console.print(
            f"  language shift, last window ({w.start:%m-%d %H:%M}): "
            f"token JSD {w.token_jsd:.3f} over {w.posts} posts"
        )
