"""Images the X face stores: what an upload is (type sniffed from its bytes, as X does; size
from its header), where it lives (table `x_media`; `x_post_media` links posts to it) and the
media objects reads return (`includes.media`).

X's simple upload takes images only: JPEG, PNG, GIF or WebP, at most 5 MB; a media id can be
attached for 24 hours after its upload (`expires_after_secs`), by the account that uploaded it,
to at most 4 images a post. Ages run on the platform clock, as everything else here.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from vibeforge.sandbox.store import SandboxStore

MAX_IMAGE_BYTES = 5 * 1024 * 1024  # X's limit for an image through the upload endpoint
MEDIA_EXPIRES_S = 86_400  # a media id can be attached for 24 h after its upload
MAX_MEDIA_PER_POST = 4
MAX_ALT_TEXT = 1000  # characters, X's limit for alt text
PHOTO_KEY_PREFIX = "3_"  # X's media keys: <type>_<media id>; 3 is a photo
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}
# the address media `url`s start with: the request's own base URL, set per request by the route
BASE_URL: ContextVar[str] = ContextVar("sandbox_base_url", default="http://127.0.0.1")


def sniff(data: bytes) -> str | None:
    """The image MIME type of `data` by its magic bytes, or None if it is none X takes."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def dimensions(data: bytes, mime: str) -> tuple[int, int] | None:
    """(width, height) from the image's header, or None when the header does not say."""
    try:
        if mime == "image/png" and data[12:16] == b"IHDR":
            w, h = struct.unpack(">II", data[16:24])
            return int(w), int(h)
        if mime == "image/gif":
            w, h = struct.unpack("<HH", data[6:10])
            return int(w), int(h)
        if mime == "image/webp":
            return _webp(data)
        if mime == "image/jpeg":
            return _jpeg(data)
    except struct.error:
        return None
    return None


def _webp(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X":
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return w, h
    if chunk == b"VP8L" and data[20:21] == b"\x2f":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    return None


def _jpeg(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length
            i += 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # start of frame
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return int(w), int(h)
        i += 2 + length
    return None


@dataclass(frozen=True, slots=True)
class StoredMedia:
    id: int
    owner_id: int
    mime: str
    size: int
    width: int | None
    height: int | None
    alt_text: str | None
    created_ms: int

    @property
    def media_key(self) -> str:
        return f"{PHOTO_KEY_PREFIX}{self.id}"


_COLUMNS = "id, owner_id, mime, size, width, height, alt_text, created_ms"


def _row(r: Any) -> StoredMedia:
    return StoredMedia(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7])


def media_by_id(store: SandboxStore, media_id: int) -> StoredMedia | None:
    row = store.one(f"SELECT {_COLUMNS} FROM x_media WHERE id = ?", (media_id,))
    return None if row is None else _row(row)


def media_of_posts(store: SandboxStore, post_ids: Sequence[int]) -> dict[int, list[StoredMedia]]:
    """post id -> its media in attachment order (posts without media are left out)."""
    if not post_ids:
        return {}
    marks = ",".join("?" * len(post_ids))
    cols = ", ".join(f"m.{c.strip()}" for c in _COLUMNS.split(","))
    rows = store.all(
        f"SELECT pm.post_id, {cols} FROM x_post_media pm JOIN x_media m ON m.id = pm.media_id "
        f"WHERE pm.post_id IN ({marks}) ORDER BY pm.post_id, pm.position",
        list(post_ids),
    )
    out: dict[int, list[StoredMedia]] = {}
    for r in rows:
        out.setdefault(int(r[0]), []).append(_row(r[1:]))
    return out


def posts_with_media(store: SandboxStore, post_ids: Sequence[int]) -> set[int]:
    """The posts among `post_ids` that carry an image, on either face: X media attached, or
    an XRPC record embedding images (both faces' posts are one table: an image is an image to
    the audience and to `has:media`, whichever API posted it)."""
    if not post_ids:
        return set()
    marks = ",".join("?" * len(post_ids))
    ids = list(post_ids)
    rows = store.all(
        f"SELECT DISTINCT post_id FROM x_post_media WHERE post_id IN ({marks}) "
        f"UNION SELECT post_id FROM at_records WHERE post_id IN ({marks}) "
        "AND json_extract(record, '$.embed.\"$type\"') = 'app.bsky.embed.images'",
        ids + ids,
    )
    return {int(r[0]) for r in rows}


def media_object(m: StoredMedia, fields: frozenset[str]) -> dict[str, Any]:
    """The spec's Media object: `media_key` and `type` always, the rest when asked."""
    obj: dict[str, Any] = {"media_key": m.media_key, "type": "photo"}
    if "url" in fields:
        obj["url"] = f"{BASE_URL.get().rstrip('/')}/media/{m.media_key}.{EXTENSIONS[m.mime]}"
    if "width" in fields and m.width is not None:
        obj["width"] = m.width
    if "height" in fields and m.height is not None:
        obj["height"] = m.height
    if "alt_text" in fields and m.alt_text:
        obj["alt_text"] = m.alt_text
    return obj
