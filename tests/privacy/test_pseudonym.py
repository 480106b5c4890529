from __future__ import annotations

import pytest

from vibeforge.errors import ConfigError
from vibeforge.privacy.pseudonym import pseudonymize, pseudonymizer

KEY = b"k" * 32


def test_pseudonyms_are_stable_keyed_and_distinct() -> None:
    a = pseudonymize("12345", key=KEY)
    assert a == pseudonymize("12345", key=KEY)
    assert a != pseudonymize("12346", key=KEY)
    assert a != pseudonymize("12345", key=b"j" * 32)
    assert a != pseudonymize("12345", key=KEY, platform="bluesky")
    assert a.startswith("u_") and len(a) == 34 and len(a) <= 64  # fits posts.author_id
    assert "12345" not in a


def test_pseudonymizer_checks_the_key_once() -> None:
    apply = pseudonymizer("a-long-enough-secret-key")
    assert apply("99") == pseudonymize("99", key="a-long-enough-secret-key")
    with pytest.raises(ConfigError, match="VIBEFORGE_PSEUDONYM_KEY"):
        pseudonymizer(None)
    with pytest.raises(ConfigError, match="shorter than 16 bytes"):
        pseudonymizer("short")
    with pytest.raises(ValueError, match="non-empty"):
        apply("")
