"""Author pseudonyms: a keyed HMAC of the platform's author id.

The key comes from settings (`Settings.secrets.pseudonym_key`, i.e. the environment or the
secrets file) and is never stored with the data: without it, pseudonyms cannot be linked back
to accounts by hashing candidate ids. The same key gives the same pseudonym across runs, so a
niche's authors stay distinct and stable; rotating the key unlinks all history.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from vibeforge.errors import ConfigError

MIN_KEY_BYTES = 16
PREFIX = "u_"  # marks a pseudonym, so it is never mistaken for a platform id
_KEY_HINT = (
    "set VIBEFORGE_PSEUDONYM_KEY (or pseudonym_key in the secrets file) to a random secret, e.g. "
    "the output of `python -c 'import secrets; print(secrets.token_hex(32))'`"
)


def _key_bytes(key: bytes | str | None) -> bytes:
    if key is None:
        raise ConfigError(f"no pseudonym key: {_KEY_HINT}")
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if len(raw) < MIN_KEY_BYTES:
        raise ConfigError(f"the pseudonym key is shorter than {MIN_KEY_BYTES} bytes: {_KEY_HINT}")
    return raw


def pseudonymize(author_id: str, *, key: bytes | str, platform: str = "x") -> str:
    """`u_` + 32 hex characters (128 bits) of HMAC-SHA256(key, platform:author_id)."""
    if not isinstance(author_id, str) or not author_id:
        raise ValueError("author_id must be a non-empty string")
    message = f"{platform}:{author_id}".encode()
    digest = hmac.new(_key_bytes(key), message, hashlib.sha256).hexdigest()
    return PREFIX + digest[:32]


@dataclass(frozen=True, slots=True)
class Pseudonymizer:
    """`pseudonymize` bound to a checked key and a platform: what ingest applies to authors."""

    key: bytes = field(repr=False)
    platform: str = "x"

    def __call__(self, author_id: str) -> str:
        return pseudonymize(author_id, key=self.key, platform=self.platform)


def key_fingerprint(key: bytes | str | None) -> str:
    """16 hex characters that tell keys apart without revealing them: an HMAC of a constant.
    Stored with the data, so a run under another key is caught before it mixes pseudonyms."""
    digest = hmac.new(_key_bytes(key), b"vibeforge/pseudonym-key-fingerprint/v1", hashlib.sha256)
    return digest.hexdigest()[:16]


def pseudonymizer(key: bytes | str | None, *, platform: str = "x") -> Pseudonymizer:
    """A Pseudonymizer with the key checked once (ConfigError with the fix otherwise)."""
    return Pseudonymizer(_key_bytes(key), platform=platform)
