"""A tiny sandbox world (two niches, hashing embedder) served on loopback, shared per module."""

from __future__ import annotations

from collections.abc import Iterator
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
