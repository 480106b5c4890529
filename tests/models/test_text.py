"""X-weighted character counting."""

from __future__ import annotations

from vibeforge.models.text import fits, weighted_length


def test_latin_counts_one_per_code_point() -> None:
    assert weighted_length("hello world") == 11
    assert weighted_length("café ñ") == 6


def test_cjk_and_emoji_count_two() -> None:
    assert weighted_length("世界") == 4
    assert weighted_length("ok 🎉") == 3 + 2


def test_urls_count_twenty_three_whatever_their_length() -> None:
    assert weighted_length("see https://example.com/a/very/long/path?x=1 now") == 4 + 23 + 4
    assert weighted_length("http://a.b") == 23


def test_nfc_normalisation_counts_composed_characters_once() -> None:
    assert weighted_length("e\u0301") == 1  # e + combining acute -> é


def test_limit_is_280() -> None:
    assert fits("a" * 280) and not fits("a" * 281)
    assert fits("世" * 140) and not fits("世" * 141)
