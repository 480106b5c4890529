"""Images a bot may attach to its posts: the `ImageSource` protocol, `NoImages` (the default:
text only) and `TrendChart`, a small PNG of the bot's niche trend.

`TrendChart` reads the posts of the bot's niche (a callable gives them: its timeline as the
store keeps it), finds the strongest bursting term (`trends.detect_bursts`) and plots that
term's posts per window against the niche's volume; no burst, no image. The store's texts are
scrubbed: the scrubber's placeholders (`<person>`, `@user`, ...) are taken out before terms are
counted, and a term that still looks like a handle or a placeholder is never shown, so the
chart holds counts of ordinary words only. Rendered with matplotlib's Agg canvas on a `Figure`
of its own (no pyplot, no global backend), so it runs headless and in threads.

Sources are registered by name (`register_image_source`), the way the loop's configuration
names them (`loop.images`): `none` and `trend-chart`.
"""

from __future__ import annotations

import io
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from vibeforge.analytics.text import terms
from vibeforge.analytics.trends import Burst, BurstConfig, detect_bursts
from vibeforge.domain import Bot, Image, Post
from vibeforge.privacy.patterns import postable

PostsFor = Callable[[Bot], Sequence[Post]]  # the niche's recent posts (scrubbed), for a bot


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

    posts_for: PostsFor
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
        # no placeholder becomes a term: "<person>" is a name the scrubber took out, and a
        # burst of it would put "person" on the chart as if it were news
        posts = [replace(p, text=postable(p.text)) for p in self.posts_for(bot)]
        top = next(filter(_showable, detect_bursts(posts, config=self.config)), None)
        if top is None:
            return None
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


def _showable(burst: Burst) -> bool:
    """A term the chart may name: nothing of a handle or a placeholder. `postable` took the
    placeholders out and `terms` drops @mentions; this check still stands if either changes."""
    return not any(c in burst.term for c in "@<>")


ImageSourceFactory = Callable[[PostsFor], ImageSource]  # builds a source from the niche's posts
_SOURCES: dict[str, ImageSourceFactory] = {}


def register_image_source(name: str, factory: ImageSourceFactory) -> None:
    """Make a source choosable by `name` in the loop's configuration (`loop.images`)."""
    _SOURCES[name] = factory


def image_source_names() -> list[str]:
    return sorted(_SOURCES)


def make_image_source(name: str, *, posts_for: PostsFor) -> ImageSource:
    """The source registered as `name`; ValueError naming the known ones for any other."""
    factory = _SOURCES.get(name)
    if factory is None:
        raise ValueError(
            f"unknown image source {name!r}: use one of {', '.join(image_source_names())}"
        )
    return factory(posts_for)


register_image_source("none", lambda posts_for: NoImages())
register_image_source("trend-chart", lambda posts_for: TrendChart(posts_for=posts_for))
