"""Images on the X face (spec 2.167): `POST /2/media/upload` (the one-shot upload, JSON with the
image base64-encoded or multipart/form-data with its bytes), `POST /2/media/metadata` (alt
text), the `media.media_ids` of `POST /2/tweets` (checked here) and the image bytes themselves
at the media objects' `url` (`GET /media/<media_key>.<ext>`, no token, as X's image host).

Errors are the spec's problems: a malformed body, a category other than `tweet_image`, a type
other than JPEG/PNG/GIF/WebP or an image over 5 MB is a 400 `invalid-request` naming the field;
so is a post's media id that is unknown, expired or another account's ("Your media IDs are
invalid.", as X answers). Metadata for an unknown media id is a 404 `resource-not-found`.
"""

from __future__ import annotations

import base64
import binascii
import re
from email.message import Message
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from vibeforge.sandbox.ids import snowflake
from vibeforge.sandbox.limits import Principal
from vibeforge.sandbox.media import (
    EXTENSIONS,
    MAX_ALT_TEXT,
    MAX_IMAGE_BYTES,
    MAX_MEDIA_PER_POST,
    MEDIA_EXPIRES_S,
    PHOTO_KEY_PREFIX,
    dimensions,
    media_by_id,
    sniff,
)
from vibeforge.sandbox.problems import PROBLEMS, ApiError, forbidden, invalid
from vibeforge.sandbox.xhttp import Ctx, Handler, body_json, parse_id, reject_unknown, route

CATEGORIES = (
    "tweet_image",
    "tweet_video",
    "tweet_gif",
    "dm_image",
    "dm_video",
    "dm_gif",
    "subtitles",
)
UPLOAD_FIELDS = frozenset({"media", "media_category", "additional_owners"})
POST_MEDIA_FIELDS = frozenset(
    {
        "media_ids",
        "call_to_actions",
        "description",
        "embeddable",
        "preview_media_id",
        "tagged_user_ids",
        "title",
    }
)
METADATA_FIELDS = frozenset(
    {
        "allow_download_status",
        "alt_text",
        "audience_policy",
        "content_expiration",
        "domain_restrictions",
        "found_media_origin",
        "geo_restrictions",
        "management_info",
        "preview_image",
        "sensitive_media_warning",
        "shared_info",
        "sticker_info",
        "upload_source",
    }
)
_MEDIA_ID = re.compile(r"[0-9]{1,19}")
_FILE = re.compile(rf"{PHOTO_KEY_PREFIX}([0-9]{{1,19}})\.([a-z]{{3,4}})")


def media_not_found(media_id: str) -> ApiError:
    return ApiError(
        404,
        "Not Found Error",
        f"Could not find media with id: [{media_id}].",
        type_=PROBLEMS + "resource-not-found",
        extra={"resource_type": "media", "resource_id": media_id, "parameter": "id"},
    )


def _multipart(content_type: str, raw: bytes) -> dict[str, bytes]:
    """The fields of a multipart/form-data body (name -> bytes), split exactly on the
    boundary: a file part keeps every byte."""
    header = Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise invalid("multipart/form-data body without a boundary")
    fields: dict[str, bytes] = {}
    for chunk in raw.split(b"--" + boundary.encode("latin-1"))[1:]:
        if chunk.startswith(b"--"):
            break
        head, sep, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            raise invalid("malformed multipart/form-data part")
        part = Message()
        for line in head.decode("latin-1").split("\r\n"):
            key, colon, value = line.partition(":")
            if colon:
                part[key.strip()] = value.strip()
        field = part.get_param("name", header="content-disposition")
        if not isinstance(field, str):
            raise invalid("multipart/form-data part without a name")
        fields[field] = content.removesuffix(b"\r\n")
    return fields


async def _upload_fields(request: Request) -> tuple[bytes, str, str | None]:
    """(image bytes, media_category, additional_owners) of either body form."""
    kind = request.headers.get("content-type", "")
    raw = await request.body()
    if kind.lower().startswith("multipart/form-data"):
        parts = _multipart(kind, raw)
        text = {k: v.decode("utf-8", "replace") for k, v in parts.items() if k != "media"}
        given: dict[str, Any] = {**text, **({"media": parts["media"]} if "media" in parts else {})}
    else:
        given = body_json(raw)
    reject_unknown(given, UPLOAD_FIELDS)
    category = given.get("media_category")
    if category not in CATEGORIES:
        raise invalid(
            f"`media_category` must be one of [{', '.join(CATEGORIES)}]",
            parameter="media_category",
            value=str(category)[:40],
        )
    if category != "tweet_image":
        raise invalid(
            "the one-shot upload takes images (`tweet_image`); use the chunked upload for "
            "video and GIFs",
            parameter="media_category",
            value=category,
        )
    media = given.get("media")
    if isinstance(media, str):  # JSON: base64
        try:
            media = base64.b64decode(media, validate=True)
        except (binascii.Error, ValueError):
            raise invalid(
                "`media` must be the file base64-encoded", parameter="media", value=media[:40]
            ) from None
    if not isinstance(media, bytes) or not media:
        raise invalid("`media` must hold the image file", parameter="media", value="")
    owners = given.get("additional_owners")
    if owners is not None and not isinstance(owners, str):
        raise invalid("`additional_owners` must be a string", parameter="additional_owners")
    return media, str(category), owners


def add_media_routes(app: FastAPI, ctx: Ctx) -> None:
    world = ctx.world

    def add(path: str, endpoint: str, handler: Handler) -> None:
        app.add_api_route(
            path,
            route(ctx, endpoint, handler, roles=("user",), params=frozenset()),
            methods=["POST"],
            include_in_schema=False,
        )

    async def upload(request: Request, p: Principal) -> tuple[int, Any]:
        data, _, owners = await _upload_fields(request)
        if len(data) > MAX_IMAGE_BYTES:
            raise invalid(
                f"the image is {len(data)} bytes; the limit is {MAX_IMAGE_BYTES} (5 MB)",
                parameter="media",
                value=len(data),
            )
        mime = sniff(data)
        if mime is None:
            raise invalid(
                "unsupported media type: images must be JPEG, PNG, GIF or WebP",
                parameter="media",
                value=data[:8].hex(),
            )
        extra = [parse_id(x.strip(), "additional_owners") for x in (owners or "").split(",") if x]
        size = dimensions(data, mime)
        w, h = size if size is not None else (None, None)
        with world.lock:
            now = world.now_ms()
            media_id = snowflake(now, 0)
            with world.store.tx() as c:
                while c.execute("SELECT 1 FROM x_media WHERE id = ?", (media_id,)).fetchone():
                    media_id += 1
                c.execute(
                    "INSERT INTO x_media (id, owner_id, mime, size, width, height, alt_text, "
                    "created_ms, data, additional_owners) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)",
                    (
                        media_id,
                        p.user_id,
                        mime,
                        len(data),
                        w,
                        h,
                        now,
                        data,
                        ",".join(map(str, extra)),
                    ),
                )
        image: dict[str, Any] = {"image_type": mime}
        if size is not None:
            image |= {"w": w, "h": h}
        return 200, {
            "data": {
                "id": str(media_id),
                "media_key": f"{PHOTO_KEY_PREFIX}{media_id}",
                "size": len(data),
                "expires_after_secs": MEDIA_EXPIRES_S,
                "image": image,
            }
        }

    async def metadata(request: Request, p: Principal) -> tuple[int, Any]:
        data = body_json(await request.body())
        reject_unknown(data, {"id", "metadata"})
        raw_id = data.get("id")
        if not isinstance(raw_id, str) or not _MEDIA_ID.fullmatch(raw_id):
            raise invalid("`id` must be a media id", parameter="id", value=str(raw_id)[:40])
        meta = data.get("metadata") or {}
        if not isinstance(meta, dict):
            raise invalid("`metadata` must be an object", parameter="metadata")
        bad = sorted(set(meta) - METADATA_FIELDS)
        if bad:
            raise invalid(f"Unknown metadata: [{bad[0][:40]}]", parameter="metadata." + bad[0][:40])
        alt = meta.get("alt_text")
        text: str | None = None
        if alt is not None:
            if not isinstance(alt, dict) or not isinstance(alt.get("text"), str):
                raise invalid('`metadata.alt_text` must be {"text": ...}', parameter="alt_text")
            text = alt["text"]
            if len(text) > MAX_ALT_TEXT:
                raise invalid(
                    f"alt text is {len(text)} characters; the limit is {MAX_ALT_TEXT}",
                    parameter="metadata.alt_text.text",
                    value=text[:40],
                )
        found = media_by_id(world.store, int(raw_id))
        if found is None:
            raise media_not_found(raw_id)
        if found.owner_id != p.user_id:
            raise forbidden("You are not permitted to change the metadata of this media.")
        associated: dict[str, Any] = {}
        if text is not None:
            with world.store.tx() as c:
                c.execute("UPDATE x_media SET alt_text = ? WHERE id = ?", (text, found.id))
            associated["alt_text"] = {"text": text}
        return 200, {"data": {"id": raw_id, "associated_metadata": associated}}

    async def image_file(request: Request) -> Response:
        found = _FILE.fullmatch(str(request.path_params["name"]))
        row = (
            world.store.one("SELECT mime, data FROM x_media WHERE id = ?", (int(found[1]),))
            if found and int(found[1]) < 2**63
            else None
        )
        if row is None or found is None or EXTENSIONS[row[0]] != found[2]:
            return Response(status_code=404)
        return Response(
            content=bytes(row[1]),
            media_type=row[0],
            headers={"cache-control": "public, max-age=86400"},
        )

    add("/2/media/upload", "POST /2/media/upload", upload)
    add("/2/media/metadata", "POST /2/media/metadata", metadata)
    app.add_api_route("/media/{name}", image_file, methods=["GET"], include_in_schema=False)


def post_media_ids(ctx: Ctx, media: Any, user_id: int) -> list[int]:
    """The media ids `POST /2/tweets` names in `media`, checked: 1 to 4 distinct ids of images
    this account uploaded (or may use) less than 24 hours ago (platform time)."""
    if not isinstance(media, dict):
        raise invalid("`media` must be an object with media_ids", parameter="media")
    unknown = sorted(set(media) - POST_MEDIA_FIELDS)
    if unknown:
        raise invalid(f"Unknown field in `media`: [{unknown[0][:40]}]", parameter="media")
    ids = media.get("media_ids")
    if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_MEDIA_PER_POST:
        raise invalid(
            f"`media.media_ids` must list 1 to {MAX_MEDIA_PER_POST} media ids",
            parameter="media.media_ids",
            value=len(ids) if isinstance(ids, list) else ids,
        )
    if not all(isinstance(x, str) and _MEDIA_ID.fullmatch(x) for x in ids):
        raise invalid(
            "`media.media_ids` items must be media ids (strings of digits)",
            parameter="media.media_ids",
            value=ids,
        )
    if len(set(ids)) != len(ids):
        raise invalid("`media.media_ids` names a media id twice", parameter="media.media_ids")
    now = ctx.world.now_ms()
    out = []
    for raw in ids:
        found = media_by_id(ctx.world.store, int(raw)) if int(raw) < 2**63 else None
        owners = {found.owner_id} if found is not None else set()
        if found is not None:
            row = ctx.world.store.one(
                "SELECT additional_owners FROM x_media WHERE id = ?", (found.id,)
            )
            owners |= {int(x) for x in str(row[0] or "").split(",") if x} if row else set()
        if (
            found is None
            or user_id not in owners
            or now - found.created_ms > MEDIA_EXPIRES_S * 1000
        ):
            raise invalid("Your media IDs are invalid.", parameter="media.media_ids", value=raw)
        out.append(found.id)
    return out
