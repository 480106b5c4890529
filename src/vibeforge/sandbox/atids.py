"""AT Protocol identifiers for the sandbox's XRPC face: DIDs, handles, TIDs, AT URIs, CIDs and
session JWTs, all derived from the world's own rows so the X face and the XRPC face show one
world.

- DID: `did:plc:` + 24 base32 characters of a hash of the user id (stable across restarts).
- Handle: the username in lower case, `_` → `-` (domain labels allow no underscore), + `.test`
  (the TLD the AT Protocol's own development network uses).
- TID record keys: a post made without a chosen key has the TID spelling of its id (ids are
  time-ordered 63-bit numbers, so their TIDs sort by time as real TIDs do); a chosen key is kept
  in the `at_records` table.
- CIDs: CIDv1, dag-cbor, sha2-256 of the record's DAG-CBOR encoding (libipld); blobs: CIDv1 raw.
  Links inside a record (`{"$link": ...}`) are encoded as maps, not as CBOR tag 42, so a record
  with an image has a real CID that a PDS would compute differently.
- Session tokens: HS256 JWTs signed with a secret kept in the sandbox store.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

import libipld

B32_SORTABLE = "234567abcdefghijklmnopqrstuvwxyz"
TID_RE = re.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}")
HANDLE_SUFFIX = ".test"
POST = "app.bsky.feed.post"
PROFILE = "app.bsky.actor.profile"
LIST = "app.bsky.graph.list"
GENERATOR = "app.bsky.feed.generator"
ACCESS_SCOPE = "com.atproto.appPass"
REFRESH_SCOPE = "com.atproto.refresh"
ACCESS_TTL_S = 2 * 3600  # the PDS's access tokens live about two hours
REFRESH_TTL_S = 90 * 86400
SERVICE_DID = "did:web:sandbox.vibeforge.test"
_CID_DAG_CBOR = bytes([0x01, 0x71, 0x12, 0x20])  # CIDv1, dag-cbor, sha2-256, 32 bytes
_CID_RAW = bytes([0x01, 0x55, 0x12, 0x20])  # CIDv1, raw, sha2-256, 32 bytes


def tid(n: int) -> str:
    """The 13-character TID spelling of a 63-bit number (base32-sortable, high bits first)."""
    if not 0 <= n < 1 << 63:
        raise ValueError(f"a TID holds 63 bits; {n} does not fit")
    return "".join(B32_SORTABLE[(n >> (5 * i)) & 31] for i in range(12, -1, -1))


def tid_value(rkey: str) -> int | None:
    """The number a TID spells, or None when `rkey` is not TID-shaped."""
    if not TID_RE.fullmatch(rkey):
        return None
    n = 0
    for ch in rkey:
        n = n * 32 + B32_SORTABLE.index(ch)
    return n


def did_for(prefix: str, key: int) -> str:
    """A did:plc-shaped DID for user (`prefix` "user") or audience member ("member") `key`."""
    digest = hashlib.sha256(f"vibeforge-sandbox:{prefix}:{key}".encode()).digest()
    return "did:plc:" + base64.b32encode(digest).decode().lower()[:24]


def handle_for(username: str) -> str:
    label = username.lower().replace("_", "-").strip("-") or "user"
    return f"{label}{HANDLE_SUFFIX}"


def at_uri(did: str, collection: str, rkey: str) -> str:
    return f"at://{did}/{collection}/{rkey}"


@dataclass(frozen=True, slots=True)
class AtUri:
    authority: str  # a DID or a handle
    collection: str
    rkey: str


_AT_URI = re.compile(r"at://([^/\s]+)/([a-zA-Z0-9.-]+)/([A-Za-z0-9._:~-]{1,512})")


def parse_at_uri(value: str) -> AtUri | None:
    match = _AT_URI.fullmatch(value or "")
    return AtUri(*match.groups()) if match else None


def record_cid(record: dict[str, Any]) -> str:
    return str(
        libipld.encode_cid(_CID_DAG_CBOR + hashlib.sha256(libipld.encode_dag_cbor(record)).digest())
    )


def blob_cid(data: bytes) -> str:
    return str(libipld.encode_cid(_CID_RAW + hashlib.sha256(data).digest()))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_jwt(secret: bytes, *, did: str, scope: str, ttl_s: int, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    header = _b64(json.dumps({"typ": "at+jwt", "alg": "HS256"}).encode())
    payload = _b64(
        json.dumps(
            {
                "scope": scope,
                "sub": did,
                "aud": SERVICE_DID,
                "iat": issued,
                "exp": issued + ttl_s,
                "jti": secrets.token_hex(8),
            }
        ).encode()
    )
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


class TokenProblem(Exception):
    """Why a JWT was refused: "InvalidToken" or "ExpiredToken" (the XRPC error names)."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error


def verify_jwt(secret: bytes, token: str, *, now: float | None = None) -> dict[str, Any]:
    """The payload of a token this sandbox signed, or `TokenProblem`."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenProblem("InvalidToken", "Token could not be verified")
    try:
        expected = hmac.new(secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(parts[2])):
            raise TokenProblem("InvalidToken", "Token could not be verified")
        payload = json.loads(_unb64(parts[1]))
    except (ValueError, TypeError):
        raise TokenProblem("InvalidToken", "Token could not be verified") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("exp"), int):
        raise TokenProblem("InvalidToken", "Token could not be verified")
    if payload["exp"] <= (time.time() if now is None else now):
        raise TokenProblem("ExpiredToken", "Token has expired")
    return payload
