"""A tiny sandbox world (two niches, hashing embedder) served on loopback, shared per module."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from vibeforge.sandbox.server import RunningSandbox, start_sandbox


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    home: Path = tmp_path_factory.mktemp("sandbox")
    with start_sandbox(home=home, world="tiny", seed=0, speed=0) as sb:
        yield sb


@pytest.fixture(scope="module")
def http(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.base_url, timeout=30) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def make_png(width: int, height: int, *, seed: int = 0) -> bytes:
    """A valid RGB PNG of the given size (rows of one grey level, varied by `seed`)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    rows = b"".join(b"\x00" + bytes([(seed + y) % 256]) * 3 * width for y in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def png() -> Callable[..., bytes]:
    """`make_png`: small valid PNGs for upload tests."""
    return make_png
