"""Post ids have one order: numeric ids by value after every other id, the rest as strings.

The timeline cursor (store), the X client's since_id filter and sort, ingest's newest id and
SFT's tie-break all use `post_id_key`; the store used to compare mixed ids as strings, so a
cursor could stay behind a numeric id ingest had taken as newest.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

import pytest

from vibeforge.domain import Timeline, TimelineKind, post_id_key, post_id_newer
from vibeforge.store import make_engine, session_scope, upgrade
from vibeforge.store import queries as q

MIXED = ["10", "abd", "7", "9", "²", "0", "abc", "007", "1234567890123456789012"]
ORDERED = ["abc", "abd", "²", "0", "007", "7", "9", "10", "1234567890123456789012"]


def test_the_order_is_numeric_by_value_after_the_rest_and_total() -> None:
    assert sorted(MIXED, key=post_id_key) == ORDERED
    for a, b in itertools.permutations(MIXED, 2):  # total: exactly one of the two is newer
        assert post_id_newer(a, b) != post_id_newer(b, a)
    assert max(["abc", "0"], key=post_id_key) == "0"  # a numeric id is newer than any other


@pytest.fixture
def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    eng = make_engine(f"sqlite:///{tmp_path / 'ids.db'}")
    upgrade(eng)
    with session_scope(eng) as s:
        q.create_timeline(s, timeline=Timeline(name="t", kind=TimelineKind.LIST, source="1"))
    yield eng
    eng.dispose()


@pytest.mark.parametrize("first, offered", list(itertools.permutations(["abc", "12", "9", "x"], 2)))
def test_the_timeline_cursor_advances_only_to_a_newer_id(engine, first, offered) -> None:  # type: ignore[no-untyped-def]
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with session_scope(engine) as s:
        q.set_timeline_cursor(s, name="t", since_id=first, polled_at=now)
        q.set_timeline_cursor(s, name="t", since_id=offered, polled_at=now)
    with session_scope(engine) as s:
        cursor = q.get_timeline(s, name="t").since_id
    assert cursor == max(first, offered, key=post_id_key)
