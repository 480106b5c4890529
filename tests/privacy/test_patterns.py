"""The regex pass: what it replaces, what it leaves alone, and how spans merge."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vibeforge.privacy.patterns import Span, map_back, merge, regex_spans, replace_spans
from vibeforge.privacy.scrub import Scrubber, ScrubConfig, ScrubInputError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@delta my bag is lost", "@user my bag is lost"),
        (".@united why?", ".@user why?"),
        ("hi @a_b and ＠Fullwidth!", "hi @user and @user!"),
        ("mail jane.doe+tw@mail.example.co.uk now", "mail <email> now"),
        ("see https://t.co/AbC123xyz.", "see <url>."),
        ("(details: http://example.com/a?b=1&c=2)", "(details: <url>)"),
        ("go to www.delta.com/help or smith-jones.net!", "go to <url> or <url>!"),
        ("call 555-201-7788 now", "call <phone> now"),
        ("call (555)201-7788x123", "call <phone>"),
        ("call +1-555-201-7788", "call <phone>"),
        ("ring 001-555-201-7788x12345 please", "ring <phone> please"),
        ("uk: +44(0)113 496 0123, or 0113 4960123", "uk: <phone>, or <phone>"),
        ("text 5552017788", "text <phone>"),
        ("local 555-0123 works", "local <phone> works"),
    ],
)
def test_regex_pass_replaces_structured_pii(
    regex_scrubber: Scrubber, text: str, expected: str
) -> None:
    assert regex_scrubber.scrub(text).text == expected


@pytest.mark.parametrize(
    "text",
    [
        "Flight DL1234 left gate B12 at 10:30 on 2026-11-22, 45 min late",
        "refund of $1,299.99 took 14 days; score 21-14; 3.5 stars",
        "version 1.2.3.4 ships in 2026 with 100 MB of RAM",
        "Node.js and ASP.NET are not websites",
        "post id 1859999999999999999 is too long for a phone",
        "#airlines #2026 rock",
    ],
)
def test_regex_pass_leaves_ordinary_text_alone(regex_scrubber: Scrubber, text: str) -> None:
    result = regex_scrubber.scrub(text)
    assert result.text == text
    assert not result.changed


def test_email_is_not_taken_for_a_handle_or_url(regex_scrubber: Scrubber) -> None:
    result = regex_scrubber.scrub("write to ops@delta.com today")
    assert result.text == "write to <email> today"
    assert dict(result.counts) == {"email": 1}


def test_counts_report_kinds_without_values(regex_scrubber: Scrubber) -> None:
    result = regex_scrubber.scrub("@a @b call 555-201-7788 https://x.co/1")
    assert dict(result.counts) == {"handle": 2, "phone": 1, "url": 1}
    assert result.kinds == ("handle", "phone", "url")
    assert "555" not in repr(result)


def test_scrubbing_is_idempotent_and_placeholders_are_not_pii(regex_scrubber: Scrubber) -> None:
    once = regex_scrubber.scrub("@jane see https://t.co/x and mail a@b.io").text
    twice = regex_scrubber.scrub(once)
    assert twice.text == once
    assert not twice.changed
    assert regex_scrubber.find(once) == []


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=120))
def test_scrub_is_idempotent_on_any_text(text: str) -> None:
    scrubber = Scrubber(ScrubConfig(ner=False))
    once = scrubber.scrub(text).text
    assert scrubber.scrub(once).text == once


def test_batch_output_is_aligned_with_input(regex_scrubber: Scrubber) -> None:
    texts = ["plain", "@x hi", "", "call 555-201-7788"]
    assert [r.text for r in regex_scrubber.scrub_many(texts)] == [
        "plain",
        "@user hi",
        "",
        "call <phone>",
    ]


def test_lone_surrogates_become_replacement_characters(regex_scrubber: Scrubber) -> None:
    result = regex_scrubber.scrub("bad \ud800 text @joe")
    assert result.text == "bad \ufffd text @user"
    result.text.encode("utf-8")  # storable


def test_bad_input_gets_a_clear_error(regex_scrubber: Scrubber) -> None:
    with pytest.raises(ScrubInputError, match="not one string"):
        regex_scrubber.scrub_many("a string")  # type: ignore[arg-type]
    with pytest.raises(ScrubInputError, match=r"text #1 is int"):
        regex_scrubber.scrub_many(["ok", 3])  # type: ignore[list-item]
    small = Scrubber(ScrubConfig(ner=False, max_chars=300))
    with pytest.raises(ScrubInputError, match=r"raise ScrubConfig\.max_chars"):
        small.scrub("x" * 301)


def test_config_validates_itself() -> None:
    with pytest.raises(ValueError, match="min_score"):
        ScrubConfig(min_score=1.5)
    with pytest.raises(ValueError, match="batch_size"):
        ScrubConfig(batch_size=0)
    with pytest.raises(ValueError, match="max_chars"):
        ScrubConfig(max_chars=10)
    assert ScrubConfig(ner=False).kinds == (
        *("email", "url", "handle", "phone"),
        *("iban", "card", "national_id", "ip", "address", "dob"),
    )
    assert ScrubConfig(locations=True).kinds[-2:] == ("person", "location")


def test_merge_unites_overlaps_and_keeps_the_strongest_kind() -> None:
    spans = [Span(0, 5, "person"), Span(3, 9, "url"), Span(12, 14, "phone")]
    assert merge(spans) == [Span(0, 9, "url"), Span(12, 14, "phone")]


def test_map_back_cuts_placeholders_out_of_later_spans() -> None:
    text = "mail a@b.io John Smith"
    first = merge(regex_spans(text))
    masked, _ = replace_spans(text, first)
    assert masked == "mail <email> John Smith"
    # a later pass claims "<email> John Smith" is one person: only the name survives
    later = [Span(masked.index("<email>"), len(masked), "person")]
    mapped = map_back(text, later, first)
    assert [text[s.start : s.end] for s in mapped] == ["John Smith"]


def test_real_tweets_lose_every_handle_and_link(
    regex_scrubber: Scrubber, real_tweets: list[str]
) -> None:
    sample = [t for t in real_tweets[:6000] if "@" in t or "http" in t]
    assert len(sample) > 500
    for result in regex_scrubber.scrub_many(sample):
        leftover = result.text.replace("@user", "")
        assert "http" not in leftover, result.text
        # a mention is "@name" not glued to a word before it (X's rule: "chk@gate" is none)
        assert re.search(r"(?<!\w)@\w", leftover) is None, result.text
