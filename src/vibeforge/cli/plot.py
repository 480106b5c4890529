"""Learning curves in the terminal (a block chart drawn by hand) and as a PNG (matplotlib)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path

from vibeforge.analytics.learning_curve import LearningCurve

BLOCKS = " ▁▂▃▄▅▆▇█"  # eighths of a cell, bottom up
MEAN_MARK = "•"
KIND_MARK = {"sft": "s", "rl": "r", "spawn": "p"}


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def _columns(values: Sequence[float], width: int) -> list[float]:
    """One value per column: each column the mean of the values that fall in it."""
    n = len(values)
    if n <= width:
        return list(values)
    return [statistics.fmean(values[c * n // width : (c + 1) * n // width]) for c in range(width)]


def text_chart(
    values: Sequence[float],
    *,
    line: Sequence[float] | None = None,
    marks: Mapping[int, str] | None = None,
    width: int = 60,
    height: int = 8,
) -> list[str]:
    """Lines of a column chart of `values` with `line` drawn over it as dots and `marks`
    (0-based value index -> one character) under the axis. Columns average the values that
    share them when there are more values than `width`."""
    if not values:
        return []
    if width < 1 or height < 1:
        raise ValueError(f"width ({width}) and height ({height}) must be >= 1")
    if line is not None and len(line) != len(values):
        raise ValueError(f"{len(line)} line values for {len(values)} values")
    cols = _columns(values, width)
    over = _columns(line, width) if line is not None else None
    everything = [*cols, *(over or [])]
    lo, hi = min(0.0, *everything), max(everything)
    if hi <= lo:
        hi = lo + 1.0
    span = hi - lo
    eighths = [max(1, round((v - lo) / span * height * 8)) for v in cols]  # ≥ ▁: a post is there
    dot_row = [min(height - 1, math.floor((v - lo) / span * height)) for v in over or []]
    label_w = max(len(_fmt(hi)), len(_fmt(lo)))
    rows = []
    for r in reversed(range(height)):
        cells = []
        for c, h in enumerate(eighths):
            if over is not None and dot_row[c] == r:
                cells.append(MEAN_MARK)
            else:
                cells.append(BLOCKS[min(8, max(0, h - 8 * r))])
        label = _fmt(hi) if r == height - 1 else _fmt(lo) if r == 0 else ""
        rows.append(f"{label:>{label_w}} ┤{''.join(cells)}")
    axis = [" "] * len(cols)
    for index, char in (marks or {}).items():
        c = index * len(cols) // len(values)
        axis[c] = char
    rows.append(f"{'':>{label_w}} └{''.join(axis).rstrip()}")
    return rows


def curve_lines(curve: LearningCurve, *, width: int = 60, height: int = 8) -> list[str]:
    """The bot's learning curve as text: the chart, its key, the versions and the agreement."""
    if not curve.points:
        return [f"no rewards yet for {curve.bot} (a post is scored once its metrics are read back)"]
    values = [p.reward for p in curve.points]
    marks = {at - 1: KIND_MARK.get(vs[-1].kind, "v") for at, vs in curve.boundaries().items()}
    lines = [
        f"realised reward per published post ({len(values)} posts, preset {curve.preset}; "
        f"{MEAN_MARK} moving mean of {curve.smooth})"
    ]
    lines += text_chart(
        values, line=[p.mean for p in curve.points], marks=marks, width=width, height=height
    )
    window = curve.window_means()
    if window is not None:
        first, last = window
        k = min(curve.smooth, len(values))
        lines.append(f"mean of the first {k} posts {_fmt(first)}, of the last {k} {_fmt(last)}")
    shown = [v for v in curve.versions if v.at_point is not None or v.rl_mean_reward is not None]
    if shown:
        lines.append("adapter versions (s sft, r rl, p spawn, under the axis where they start):")
        for v in shown:
            where = f"from post {v.at_point}" if v.at_point is not None else "no post yet"
            rm = "" if v.rl_mean_reward is None else f", RM mean reward {_fmt(v.rl_mean_reward)}"
            lines.append(f"  v{v.version} {v.kind} {where}{rm}")
    rhos = [a for a in curve.agreement if a.spearman is not None]
    if rhos:
        series = " ".join(f"{a.spearman:+.2f}" for a in rhos[-12:])
        lines.append(f"reward-model agreement per RL round (Spearman, newest last): {series}")
    return lines


def write_png(curve: LearningCurve, path: Path) -> Path:
    """The curve as a PNG: rewards, moving mean, RL reward-model means, version boundaries."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    xs = [p.i for p in curve.points]
    ax.plot(xs, [p.reward for p in curve.points], "o", alpha=0.6, markersize=4, label="reward")
    ax.plot(xs, [p.mean for p in curve.points], "-", label=f"moving mean of {curve.smooth}")
    rm = [(v.at_point, v.rl_mean_reward) for v in curve.versions if v.rl_mean_reward is not None]
    rm_at = [(x, y) for x, y in rm if x is not None]
    if rm_at:
        ax.plot(*zip(*rm_at, strict=True), "s--", alpha=0.7, label="RL reward-model mean")
    for at, versions in curve.boundaries().items():
        ax.axvline(at - 0.5, color="grey", linestyle=":", linewidth=1)
        text = ",".join(f"v{v.version} {v.kind}" for v in versions)
        ax.annotate(
            text,
            (at - 0.5, 0.02),
            xycoords=("data", "axes fraction"),
            rotation=90,
            va="bottom",
            ha="right",
            fontsize=7,
            color="grey",
        )
    handles, labels = ax.get_legend_handles_labels()
    rho = [
        (a.at_point, a.spearman) for a in curve.agreement if a.at_point and a.spearman is not None
    ]
    if rho:
        twin = ax.twinx()
        (line,) = twin.plot(*zip(*rho, strict=True), "^:", color="tab:purple", alpha=0.8)
        twin.set_ylim(-1, 1)
        twin.set_ylabel("reward-model agreement (Spearman)")
        handles.append(line)
        labels.append("RM agreement per RL round")
    ax.set_title(
        f"{curve.bot}: realised reward per published post (preset {curve.preset})"
        if curve.points
        else f"{curve.bot}: no rewards yet"
    )
    ax.set_xlabel("published post (in order)")
    ax.set_ylabel("reward")
    ax.legend(handles, labels, loc="upper left", fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
