"""normalise_text: untrusted platform text as the store keeps it."""

from __future__ import annotations

import unicodedata

import pytest

from vibeforge.privacy import normalise_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a\x00b", "ab"),  # NUL: PostgreSQL refuses it in text
        ("\x00\x01\x08\x0e\x1b\x7f\x80\x84\x86\x9f", ""),  # C0, DEL, C1
        ("tab\tand\nnewline", "tab\tand\nnewline"),  # kept
        ("crlf\r\nlone\rcr", "crlf\nlone\ncr"),  # one line-break convention
        ("vt\x0bff\x0cfs\x1cus\x1fnel\x85end", "vt ff fs us nel end"),  # whitespace controls
        ("lone \ud800 surrogate \udfff", "lone \ufffd surrogate \ufffd"),
        ("émoji 🛫 zwj 👩‍✈️ rtl \u200f ls\u2028", "émoji 🛫 zwj 👩‍✈️ rtl \u200f ls\u2028"),  # not Cc
        ("", ""),
    ],
)
def test_normalise_text(raw: str, expected: str) -> None:
    assert normalise_text(raw) == expected
    assert normalise_text(expected) == expected  # idempotent


def test_every_control_character_but_tab_and_newline_is_gone() -> None:
    every = "".join(chr(i) for i in range(0x110000) if not 0xD800 <= i <= 0xDFFF)
    out = normalise_text(every + "\ud83d")
    assert {ch for ch in out if unicodedata.category(ch) == "Cc"} == {"\t", "\n"}
    assert out.encode("utf-8")  # storable as UTF-8: no lone surrogate left
