"""Image sources: none by default, and a trend chart rendered headless as a small PNG."""

from __future__ import annotations

import struct
import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from vibeforge.analytics.images import (
    ImageSource,
    NoImages,
    TrendChart,
    image_source_names,
    make_image_source,
)
from vibeforge.analytics.trends import BurstConfig
from vibeforge.domain import Bot, Post

T0 = datetime(2026, 3, 1, tzinfo=UTC)
BACKGROUND = ["flight delayed again", "great crew today", "lost luggage queue", "window seat"]


def timeline(*, burst: bool) -> list[Post]:
    posts = []
    for h in range(8):
        for k in range(10):
            text = BACKGROUND[(h + k) % len(BACKGROUND)]
            if burst and h >= 6 and k < 5:
                text = "pilot strike grounds everything #strike"
            at = T0 + timedelta(hours=h, minutes=5 * k)
            posts.append(Post(id=str(len(posts)), text=text, author_id="a", created_at=at))
    return posts


def png_chunks(data: bytes) -> dict[bytes, bytes]:
    """The chunks of a PNG by type (bodies of a repeated type joined), each CRC checked."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    out, i = {}, 8
    while i < len(data):
        (length,) = struct.unpack(">I", data[i : i + 4])
        kind, body = data[i + 4 : i + 8], data[i + 8 : i + 8 + length]
        (crc,) = struct.unpack(">I", data[i + 8 + length : i + 12 + length])
        assert zlib.crc32(kind + body) == crc
        out[kind] = out.get(kind, b"") + body  # IDAT may come in several chunks
        i += 12 + length
    return out


def test_no_images_is_the_default_source() -> None:
    source = NoImages()
    assert isinstance(source, ImageSource)
    assert source.image_for(Bot(name="b"), "anything") is None


def test_trend_chart_renders_the_niche_burst_as_a_valid_png() -> None:
    source = TrendChart(posts_for=lambda bot: timeline(burst=True), config=BurstConfig())
    assert isinstance(source, ImageSource)
    image = source.image_for(Bot(name="b", timeline="airlines"), "strike news")
    assert image is not None and image.mime == "image/png"
    chunks = png_chunks(image.data)
    width, height = struct.unpack(">II", chunks[b"IHDR"][:8])
    assert (width, height) == (400, 225)  # 4 x 2.25 inches at 100 dpi
    assert len(image.data) < 100_000  # small enough for any platform
    assert "#strike" in image.alt or "strike" in image.alt
    assert "airlines" in image.alt
    # the pixels are a drawing, not a blank canvas
    raw = zlib.decompress(chunks[b"IDAT"])
    assert len(set(raw)) > 10


def test_trend_chart_without_a_burst_gives_no_image() -> None:
    source = TrendChart(posts_for=lambda bot: timeline(burst=False))
    assert source.image_for(Bot(name="b"), "text") is None
    assert TrendChart(posts_for=lambda bot: []).image_for(Bot(name="b"), "text") is None


def test_trend_chart_checks_its_size() -> None:
    with pytest.raises(ValueError, match="dpi"):
        TrendChart(posts_for=lambda bot: [], dpi=5)


def test_sources_are_made_by_their_registered_name() -> None:
    assert image_source_names() == ["none", "trend-chart"]
    assert isinstance(make_image_source("none", posts_for=lambda bot: []), NoImages)
    chart = make_image_source("trend-chart", posts_for=lambda bot: timeline(burst=True))
    assert isinstance(chart, TrendChart) and chart.image_for(Bot(name="b"), "x") is not None
    with pytest.raises(ValueError, match="unknown image source 'pie': use one of none, trend"):
        make_image_source("pie", posts_for=lambda bot: [])


def test_trend_chart_never_names_a_placeholder_or_a_handle() -> None:
    """The store's texts are scrubbed: a burst of `<person>` (a name taken out) or of `@user`
    is the scrubber's doing, not news, and the chart names the real term that bursts."""
    posts = []
    for p in timeline(burst=True):
        text = p.text
        if text.startswith("pilot strike"):
            text = "<person> <person> and @user on <location> #strike"
        elif p.created_at >= T0 + timedelta(hours=6) and len(posts) % 3 == 0:
            text = f"{text} <person> <location> @user"
        posts.append(replace(p, text=text))
    image = TrendChart(posts_for=lambda bot: posts).image_for(Bot(name="b"), "text")
    assert image is not None
    assert "#strike" in image.alt
    for placeholder in ("person", "location", "user", "@", "<"):
        assert placeholder not in image.alt
