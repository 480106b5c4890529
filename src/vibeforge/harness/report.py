"""A self-contained HTML report of a demo run: the summary table, curves, sample posts.

No scripts and nothing fetched: the curves are inline SVG, so the file opens anywhere.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path

from vibeforge.harness.demo import BotSummary, DemoResult

COLORS = ("#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed")
PLATFORMS = {  # the sandbox face a demo ran on, as the report names it
    "x": "on the sandbox's X API v2 face",
    "bluesky": "on the sandbox's Bluesky (AT Protocol) face",
}


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _curve_svg(summaries: list[BotSummary], *, width: int = 640, height: int = 240) -> str:
    points = [pt for s in summaries for pt in s.reward_curve]
    if not points:
        return "<p>No matured posts to plot yet.</p>"
    max_x = max(x for x, _ in points) or 1.0
    max_y = max(y for _, y in points) or 1.0
    pad = 36

    def sx(x: float) -> float:
        return pad + (width - 2 * pad) * x / max_x

    def sy(y: float) -> float:
        return height - pad - (height - 2 * pad) * y / max_y

    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        'aria-label="engagement per post over time">',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
        'stroke="#999"/>',
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#999"/>',
        f'<text x="{width / 2}" y="{height - 6}" font-size="12" text-anchor="middle">'
        "hours of platform time</text>",
        f'<text x="8" y="{pad - 10}" font-size="12">{max_y:.1f}</text>',
    ]
    for i, s in enumerate(summaries):
        color = COLORS[i % len(COLORS)]
        pts = sorted(s.reward_curve)
        if len(pts) > 1:
            path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
            parts.append(
                f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{path}"/>'
            )
        for x, y in pts:
            parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{color}"/>')
        parts.append(
            f'<text x="{width - pad - 120}" y="{pad + 16 * i}" font-size="12" fill="{color}">'
            f"{html.escape(s.bot)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def write_report(result: DemoResult, *, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = directory / f"demo-{stamp}.html"
    rows = "".join(
        "<tr>"
        f"<td>{html.escape(s.bot)}</td><td>{html.escape(s.niche)}</td>"
        f"<td>{_fmt(s.baseline_rate)} <small>({s.baseline_posts})</small></td>"
        f"<td>{_fmt(s.learning_rate)} <small>({s.learning_posts})</small></td>"
        f"<td>{_fmt(s.human_rate)} <small>({s.human_posts})</small></td>"
        f"<td>{s.rl_rounds}</td>"
        "</tr>"
        for s in result.summaries
    )
    waits = "".join(
        f"<li><b>{html.escape(s.bot)}</b>: "
        + "; ".join(html.escape(reason) for reason in s.rl_waited)
        + "</li>"
        for s in result.summaries
        if s.rl_waited
    )
    waited = (
        f"<p>RL waits while a bot's reward model does not agree well enough with the "
        f"engagement it predicts (held-out or on the bot's own posts):</p><ul>{waits}</ul>"
        if waits
        else ""
    )
    samples = "".join(
        f"<h3>{html.escape(s.bot)} <small>{html.escape(s.niche)}</small></h3><ul>"
        + "".join(
            f"<li><b>{phase}</b> · {_fmt(rate)} · {html.escape(text)}</li>"
            for phase, text, rate in s.samples[-12:]
        )
        + "</ul>"
        for s in result.summaries
    )
    where = PLATFORMS.get(result.platform, result.platform)
    doc = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vibeforge demo report</title>
<style>
body {{ font: 14px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 960px; color: #111 }}
table {{ border-collapse: collapse }}
td, th {{ border-bottom: 1px solid #ddd; padding: .3rem .8rem }}
small {{ color: #666 }} li {{ margin: .2rem 0 }}
</style></head><body>
<h1>vibeforge demo <small>{html.escape(where)}</small></h1>
<p>{result.rounds} rounds in {result.seconds / 60:.1f} min of wall time.
Engagement is {html.escape(result.unit)}, with X's 2026 weights (like 0.5, reply 5, repost 1,
quote 5), as the platform API shows it, for posts at least a few hours old;
post counts in brackets.</p>
<table><thead><tr><th>bot</th><th>niche</th><th>baseline (base model)</th>
<th>after learning</th><th>niche humans</th><th>RL rounds</th></tr></thead>
<tbody>{rows}</tbody></table>
{waited}
<h2>Engagement per post over time</h2>
{_curve_svg(result.summaries)}
<h2>Recent posts</h2>
{samples}
</body></html>
"""
    path.write_text(doc, encoding="utf-8")
    return path
