"""X's `withheld` object on a post marks it withheld (compliance removes it like a deletion)."""

from __future__ import annotations

from datetime import UTC, datetime

from vibeforge.platforms.x_parse import parse_post

NOW = datetime(2026, 9, 1, tzinfo=UTC)


def test_withheld_posts_are_marked() -> None:
    withheld = {"id": "1", "text": "t", "withheld": {"copyright": False, "country_codes": ["DE"]}}
    assert parse_post(withheld, observed_at=NOW).withheld
    assert not parse_post({"id": "2", "text": "t"}, observed_at=NOW).withheld
