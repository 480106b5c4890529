"""Images a bot may attach to its posts: the `ImageSource` protocol, `NoImages` (the default:
text only) and `TrendChart`, a small PNG of the bot's niche trend.

`TrendChart` reads the posts of the bot's niche (a callable gives them: its timeline as the
store keeps it), finds the strongest bursting term (`trends.detect_bursts`) and plots that
term's posts per window against the niche's volume; no burst, no image. Rendered with
matplotlib's Agg canvas on a `Figure` of its own (no pyplot, no global backend), so it runs
headless and in threads.
"""

from __future__ import annotations

import io
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from vibeforge.analytics.text import terms
from vibeforge.analytics.trends import BurstConfig, detect_bursts
from vibeforge.domain import Bot, Post
from vibeforge.platforms.base import Image


@runtime_checkable
class ImageSource(Protocol):
    """What picture, if any, goes with a post a bot is about to publish."""

    def image_for(self, bot: Bot, text: str) -> Image | None: ...


class NoImages:
    """The default source: every post is text only."""

    def image_for(self, bot: Bot, text: str) -> Image | None:
        return None


@dataclass(kw_only=True)
class TrendChart:
    """A line chart of the niche's strongest bursting term (posts per window) beside the
    niche's volume, as a small PNG (`width_in` x `height_in` inches at `dpi`)."""

    posts_for: Callable[[Bot], Sequence[Post]]  # the niche's recent posts, for a bot
    config: BurstConfig | None = None
    width_in: float = 4.0
    height_in: float = 2.25
    dpi: int = 100  # 400 x 225 pixels by default

    def __post_init__(self) -> None:
        if self.width_in <= 0 or self.height_in <= 0 or not 20 <= self.dpi <= 300:
            raise ValueError(
                f"chart size {self.width_in}x{self.height_in} in at {self.dpi} dpi: sizes must "
                "be > 0 and dpi within 20-300 (the default 4x2.25 at 100 is 400x225 pixels)"
            )

    def image_for(self, bot: Bot, text: str) -> Image | None:
        posts = list(self.posts_for(bot))
        bursts = detect_bursts(posts, config=self.config)
        if not bursts:
            return None
        top = bursts[0]
        width = (self.config or BurstConfig()).window_s
        volume: Counter[int] = Counter()
        hits: Counter[int] = Counter()
        for post in posts:
            w = math.floor(post.created_at.timestamp() / width)
            volume[w] += 1
            if (top.kind, top.term) in terms(post.text):
                hits[w] += 1
        windows = range(min(volume), max(volume) + 1)
        times = [datetime.fromtimestamp(w * width, tz=UTC) for w in windows]
        niche = bot.timeline or "niche"
        png = self._render(
            times,
            [volume[w] for w in windows],
            [hits[w] for w in windows],
            title=f"{top.term!s} in {niche}",
        )
        return Image(
            data=png,
            mime="image/png",
            alt=f"Line chart: posts in {niche} per {width / 3600:g} h, and those mentioning "
            f"{top.term} ({top.count} during its burst, {top.ratio:.1f}x its usual rate).",
        )

    def _render(
        self, times: list[datetime], volume: list[int], hits: list[int], *, title: str
    ) -> bytes:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.dates import date2num
        from matplotlib.figure import Figure

        fig = Figure(figsize=(self.width_in, self.height_in), dpi=self.dpi)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        x = date2num(times)  # days since matplotlib's epoch, shown as dates below
        ax.xaxis_date()
        ax.plot(x, volume, color="0.6", linewidth=1, label="all posts")
        ax.plot(x, hits, color="tab:red", linewidth=2, label="the term")
        ax.set_title(title[:60], fontsize=9)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, frameon=False)
        fig.autofmt_xdate()
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()
