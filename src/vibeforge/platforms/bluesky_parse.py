"""Bluesky at the boundary: post ids, record keys from idempotency keys, facets from text, and the
atproto SDK's models parsed into `vibeforge.domain` objects once.

Post ids: an AT URI (`at://did:plc:…/app.bsky.feed.post/3k…`) is longer than the store's 64
characters, so a Bluesky post id is its `did/rkey` (the collection is always
`app.bsky.feed.post`); every method also takes full AT URIs. `domain.post_id_key` orders such ids
by their TID record key, which is time.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from atproto import models
from atproto_client.utils import facet_detection

from vibeforge.domain import Account, Metrics, Post
from vibeforge.platforms.base import InvalidRequest, PlatformError

POST = "app.bsky.feed.post"
PROFILE = "app.bsky.actor.profile"
BOT_LABEL = "bot"  # Bluesky's self-label for automated accounts (the app shows a robot badge)
B32_SORTABLE = "234567abcdefghijklmnopqrstuvwxyz"
_TID = re.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}")
_DID = re.compile(r"did:[a-z]+:[A-Za-z0-9._:%-]{1,2000}")
_AT_POST = re.compile(r"at://([^/\s]+)/app\.bsky\.feed\.post/([A-Za-z0-9._:~-]{1,512})")
_KEY = re.compile(r"(did:[a-z]+:[A-Za-z0-9._:%-]+)/([A-Za-z0-9._:~-]{1,512})")
# hashed record keys keep their TID's timestamp under 2**41 µs (January 1970): they sort before
# every real TID, so a cursor never jumps past real posts to one of ours
HASHED_TIMESTAMP_BITS = 41


def tid(n: int) -> str:
    return "".join(B32_SORTABLE[(n >> (5 * i)) & 31] for i in range(12, -1, -1))


def rkey_for(did: str, idempotency_key: str) -> str:
    """The record key of the post published under `idempotency_key` by `did`: TID-shaped (what
    the post lexicon's key type asks for) and the same on every retry, so a second create of
    the same post finds the first instead of adding one."""
    digest = hashlib.sha256(f"vibeforge:{did}:{idempotency_key}".encode()).digest()
    n = int.from_bytes(digest[:8], "big")
    timestamp = (n >> 10) & ((1 << HASHED_TIMESTAMP_BITS) - 1)
    return tid(timestamp << 10 | (n & 0x3FF))


def is_hashed(rkey: str) -> bool:
    """Whether a TID record key is one of `rkey_for`'s (no real time)."""
    return bool(_TID.fullmatch(rkey)) and int(rkey.translate(_DIGITS), 32) >> 10 < 1 << (
        HASHED_TIMESTAMP_BITS
    )


_DIGITS = str.maketrans(B32_SORTABLE, "0123456789abcdefghijklmnopqrstuv")


def post_key(uri: str) -> str:
    """`did/rkey` of a post's AT URI (what vibeforge stores as the post id)."""
    match = _AT_POST.fullmatch(uri)
    if match is None:
        raise PlatformError(f"malformed API JSON: {uri[:80]!r} is not a post's AT URI")
    return f"{match.group(1)}/{match.group(2)}"


def post_uri(post_id: str) -> str:
    """The AT URI of a post id (`did/rkey`, or already an AT URI); `InvalidRequest` otherwise."""
    if _AT_POST.fullmatch(post_id):
        return post_id
    match = _KEY.fullmatch(post_id) if isinstance(post_id, str) else None
    if match is None:
        raise InvalidRequest(
            f"invalid Bluesky post id {str(post_id)[:80]!r}: use 'did/rkey' or an at:// post URI"
        )
    return f"at://{match.group(1)}/{POST}/{match.group(2)}"


def split_key(post_id: str) -> tuple[str, str]:
    """(repo DID, rkey) of a post id."""
    match = _AT_POST.fullmatch(post_uri(post_id))
    assert match is not None
    return match.group(1), match.group(2)


def check_at_uri(value: str, collection: str, what: str) -> str:
    """An AT URI of `collection` (a list, a feed generator), or `InvalidRequest`."""
    pattern = rf"at://[^/\s]+/{re.escape(collection)}/[A-Za-z0-9._:~-]{{1,512}}"
    if not isinstance(value, str) or not re.fullmatch(pattern, value):
        raise InvalidRequest(
            f"invalid Bluesky {what} {str(value)[:80]!r}: use its at://…/{collection}/… URI"
        )
    return value


def facets(
    text: str, resolve: Callable[[str], str | None]
) -> list[models.AppBskyRichtextFacet.Main]:
    """Links, #tags and $cashtags found in the text, and @mentions whose handle `resolve`s to a
    DID, with UTF-8 byte offsets (what the app renders as rich text)."""
    found = facet_detection.detect_facets(text)
    for mention in facet_detection.detect_mentions(text):
        did = resolve(mention.handle)
        if did is None:
            continue
        found.append(
            models.AppBskyRichtextFacet.Main(
                features=[models.AppBskyRichtextFacet.Mention(did=did)],
                index=models.AppBskyRichtextFacet.ByteSlice(
                    byte_start=mention.byte_start, byte_end=mention.byte_end
                ),
            )
        )
    return sorted(found, key=lambda f: f.index.byte_start)


def bot_labels() -> models.ComAtprotoLabelDefs.SelfLabels:
    return models.ComAtprotoLabelDefs.SelfLabels(
        values=[models.ComAtprotoLabelDefs.SelfLabel(val=BOT_LABEL)]
    )


def has_bot_label(labels: Any) -> bool:
    """Self-labels on a record (`SelfLabels`) or label views on a view (a list)."""
    values = getattr(labels, "values", None) if not isinstance(labels, list) else labels
    return any(getattr(v, "val", None) == BOT_LABEL for v in values or [])


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _record_field(record: Any, name: str) -> Any:
    if isinstance(record, dict):
        return record.get(name)
    return getattr(record, name, None)


def quoted_uri(embed: Any) -> str | None:
    """The quoted post's URI of a record's embed (a record, or a record with media)."""
    if embed is None:
        return None
    record = _record_field(embed, "record")
    inner = _record_field(record, "record") if record is not None else None
    for ref in (inner, record):
        uri = _record_field(ref, "uri") if ref is not None else None
        if isinstance(uri, str) and _AT_POST.fullmatch(uri):
            return uri
    return None


def parse_post(view: Any, *, observed_at: datetime) -> Post:
    """A `PostView` as a domain `Post` (raw text: scrubbing is the ingest's)."""
    try:
        record = view.record
        text = _record_field(record, "text")
        if not isinstance(text, str):
            raise PlatformError("malformed API JSON: a post record without text")
        created = parse_time(
            _record_field(record, "created_at") or _record_field(record, "createdAt")
        )
        created = created or parse_time(view.indexed_at) or observed_at
        reply = _record_field(record, "reply")
        parent = _record_field(_record_field(reply, "parent"), "uri") if reply else None
        quote = quoted_uri(_record_field(record, "embed"))
        langs = _record_field(record, "langs") or []
        labelled = has_bot_label(_record_field(record, "labels")) or has_bot_label(
            view.author.labels
        )
        return Post(
            id=post_key(view.uri),
            text=text,
            author_id=view.author.did,
            created_at=created,
            platform="bluesky",
            in_reply_to_id=post_key(parent) if isinstance(parent, str) else None,
            quote_of_id=post_key(quote) if quote else None,
            lang=langs[0] if langs and isinstance(langs[0], str) else None,
            metrics=parse_metrics(view, observed_at=observed_at),
            made_with_ai=labelled,
        )
    except AttributeError as exc:
        raise PlatformError(f"malformed API JSON: a post view lacks {exc.name}") from None


def parse_metrics(view: Any, *, observed_at: datetime) -> Metrics:
    return Metrics(
        observed_at=observed_at,
        like_count=view.like_count or 0,
        repost_count=view.repost_count or 0,
        reply_count=view.reply_count or 0,
        quote_count=view.quote_count or 0,
        bookmark_count=getattr(view, "bookmark_count", None) or 0,
        impression_count=None,  # Bluesky shows no impressions
    )


def parse_account(profile: Any) -> Account:
    return Account(
        id=profile.did,
        handle=profile.handle,
        name=getattr(profile, "display_name", None) or "",
        followers_count=getattr(profile, "followers_count", None) or 0,
        following_count=getattr(profile, "follows_count", None) or 0,
        post_count=getattr(profile, "posts_count", None) or 0,
        created_at=parse_time(getattr(profile, "created_at", None)),
    )


def follower_counts(profiles: Iterable[Any]) -> dict[str, int | None]:
    """Each profile's follower count by DID (`ProfileViewDetailed`s of `getProfiles`); None
    where a view does not say (the count is optional in the lexicon)."""
    out: dict[str, int | None] = {}
    for profile in profiles:
        did, count = getattr(profile, "did", None), getattr(profile, "followers_count", None)
        if isinstance(did, str):
            out[did] = count if isinstance(count, int) and count >= 0 else None
    return out


def with_author_followers(posts: list[Post], followers: Mapping[str, int | None]) -> list[Post]:
    """`posts` with their authors' follower counts (by author DID); authors without a known
    count keep what they have (None: unknown)."""
    return [
        replace(p, author_followers=followers[p.author_id])
        if followers.get(p.author_id) is not None
        else p
        for p in posts
    ]


def is_did(value: str) -> bool:
    return bool(_DID.fullmatch(value))
