"""A tiny real base model shared by the models tests (built from a config, no download)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny():  # type: ignore[no-untyped-def]
    from vibeforge.models.testing import tiny_base

    return tiny_base(seed=0)
