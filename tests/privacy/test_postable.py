"""Scrubbed text made postable: bots neither learn nor post the scrubber's placeholders."""

from __future__ import annotations

import pytest

from vibeforge.privacy.patterns import PLACEHOLDERS, postable


@pytest.mark.parametrize(
    ("scrubbed", "expected"),
    [
        ("@user @user thanks for nothing!", "thanks for nothing!"),
        ("@user: @user, delayed again", "delayed again"),
        ("love the new phone <url>", "love the new phone"),
        ("thanks <person> , see you at <location>!", "thanks, see you at!"),
        ("ask @user about it (@user)", "ask about it"),
        ("@user (@user) @user", ""),
        ("no placeholders here", "no placeholders here"),
    ],
)
def test_placeholders_are_dropped(scrubbed: str, expected: str) -> None:
    out = postable(scrubbed)
    assert out == expected
    assert not any(p in out for p in PLACEHOLDERS.values())


def test_generated_control_characters_never_reach_a_post() -> None:
    """A model can sample a NUL or other control bytes; PostgreSQL refuses them in text."""
    text = postable("t \x16\ud800[ ok\x00 done\x7f")
    assert text == "t \ufffd[ ok done"
    assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in text)
    assert postable("gate\x16closed") == "gate closed"  # a control between words separates them
