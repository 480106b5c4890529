"""Image sources: none by default, and a trend chart rendered headless as a small PNG."""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, datetime, timedelta

import pytest

from vibeforge.analytics.images import ImageSource, NoImages, TrendChart
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
