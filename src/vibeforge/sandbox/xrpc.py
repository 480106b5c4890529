"""The sandbox's XRPC face (AT Protocol, as Bluesky's PDS and AppView serve it) under `/xrpc/`:
the same world, audience and clock as the X face, served a second way.

Plumbing here (errors in Bluesky's `{"error", "message"}` shape, session JWTs, rate limits,
parameters) and the `com.atproto.server` / `com.atproto.identity` / `com.atproto.repo` methods;
the `app.bsky` reads are in `xrpc_app.py`. An account's app password is its sandbox user token
(`vibeforge sandbox token HANDLE`), so every account the X face knows can log in here too.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from vibeforge.sandbox.atids import (
    ACCESS_SCOPE,
    ACCESS_TTL_S,
    POST,
    PROFILE,
    REFRESH_SCOPE,
    REFRESH_TTL_S,
    TID_RE,
    TokenProblem,
    at_uri,
    blob_cid,
    record_cid,
    sign_jwt,
    tid,
    verify_jwt,
)
from vibeforge.sandbox.engine import AtRecord, RecordExists, World
from vibeforge.sandbox.xrpc_limits import Verdict, XrpcLimiter, XrpcLimits
from vibeforge.sandbox.xrpc_views import BOT_LABEL, SELF_LABELS, Identities, Person, Views

log = logging.getLogger(__name__)
MAX_GRAPHEMES = 300  # app.bsky.feed.post text
MAX_TEXT_BYTES = 3000
MAX_BLOB_BYTES = 1_000_000  # Bluesky's image blob limit
MAX_IMAGES = 4
_RKEY = re.compile(r"[A-Za-z0-9._:~-]{1,512}")


class XrpcError(Exception):
    """An XRPC error answer: HTTP status, error name, message (and rate-limit headers)."""

    def __init__(
        self, status: int, error: str, message: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message
        self.headers = headers or {}

    def body(self) -> dict[str, str]:
        return {"error": self.error, "message": self.message}


def bad(message: str, error: str = "InvalidRequest") -> XrpcError:
    return XrpcError(400, error, message)


def auth_required(message: str = "Authentication Required") -> XrpcError:
    return XrpcError(401, "AuthenticationRequired", message)


def rate_limited(verdict: Verdict) -> XrpcError:
    return XrpcError(429, "RateLimitExceeded", "Rate Limit Exceeded", headers=verdict.headers)


@dataclass(frozen=True, slots=True)
class Caller:
    person: Person | None  # None: anonymous
    scope: str | None

    def require(self) -> Person:
        if self.person is None:
            raise auth_required()
        return self.person


class XrpcCtx:
    """What every XRPC route needs: the world, its identities and views, the limiter."""

    def __init__(self, world: World, limits: XrpcLimits | None = None) -> None:
        self.world = world
        self.ids = Identities(world)
        self.views = Views(world, self.ids)
        self.limiter = XrpcLimiter(limits or XrpcLimits())

    def secret(self) -> bytes:
        """The JWT signing key, made once per world (a reseed signs everyone out)."""
        with self.world.lock:
            value = self.world.store.get_meta("at_jwt_secret")
            if value is None:
                value = secrets.token_hex(32)
                self.world.store.set_meta("at_jwt_secret", value)
        return bytes.fromhex(value)

    def tokens(self, person: Person) -> dict[str, Any]:
        secret = self.secret()
        return {
            "did": person.did,
            "handle": person.handle,
            "accessJwt": sign_jwt(secret, did=person.did, scope=ACCESS_SCOPE, ttl_s=ACCESS_TTL_S),
            "refreshJwt": sign_jwt(
                secret, did=person.did, scope=REFRESH_SCOPE, ttl_s=REFRESH_TTL_S
            ),
            "active": True,
        }


Handler = Callable[[Request, Caller], Awaitable[tuple[int, Any]]]


def _caller(ctx: XrpcCtx, request: Request, auth: str) -> Caller:
    header = request.headers.get("authorization")
    if not header:
        if auth in ("access", "refresh"):
            raise auth_required()
        return Caller(None, None)
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise bad("Unexpected authorization type", "InvalidToken")
    try:
        payload = verify_jwt(ctx.secret(), token.strip())
    except TokenProblem as exc:
        raise bad(str(exc), exc.error) from None
    wanted = REFRESH_SCOPE if auth == "refresh" else ACCESS_SCOPE
    if payload.get("scope") != wanted:
        raise bad("Bad token scope", "InvalidToken")
    person = ctx.ids.resolve(str(payload.get("sub", "")))
    if person is None:
        raise bad("Token subject has no account", "InvalidToken")
    return Caller(person, payload["scope"])


def xrpc_route(
    ctx: XrpcCtx, handler: Handler, *, auth: str = "optional", points: str | None = None
) -> Callable[[Request], Awaitable[Response]]:
    """One method: auth ("none", "optional", "access", "refresh"), the per-caller request limit,
    the per-account write points (`points`: create, update or delete), then the handler."""

    async def run(request: Request) -> Response:
        headers: dict[str, str] = {}
        try:
            caller = _caller(ctx, request, auth) if auth != "none" else Caller(None, None)
            who = caller.person.did if caller.person else "anonymous"
            verdict = ctx.limiter.request(who)
            headers = verdict.headers
            if not verdict.allowed:
                raise rate_limited(verdict)
            if points is not None:
                verdict = ctx.limiter.points(caller.require().did, points)
                headers = verdict.headers
                if not verdict.allowed:
                    raise rate_limited(verdict)
            status, body = await handler(request, caller)
        except XrpcError as exc:
            status, body = exc.status, exc.body()
            headers = {**headers, **exc.headers}
        except Exception:  # the server keeps serving; the client gets the XRPC 500 shape
            log.exception("sandbox XRPC %s failed", request.url.path)
            status, body = 500, {"error": "InternalServerError", "message": "Internal Server Error"}
        if isinstance(body, Response):
            body.headers.update(headers)
            return body
        return JSONResponse(body, status_code=status, headers=headers)

    return run


# -- parameters ------------------------------------------------------------------------------
def param(request: Request, name: str) -> str:
    value = request.query_params.get(name)
    if value is None or not value.strip():
        raise bad(f'Error: Params must have the property "{name}"')
    return value


def limit_param(request: Request, *, default: int = 50, hi: int = 100) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= hi:
        raise bad(f"Error: limit must be an integer between 1 and {hi}")
    return int(raw)


def offset_cursor(request: Request) -> int:
    raw = request.query_params.get("cursor")
    if raw is None or raw == "":
        return 0
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise bad("Malformed cursor")
    return int(raw)


async def json_body(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise bad("Request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise bad("Input must be an object")
    return data


def _string(data: dict[str, Any], name: str, where: str = "Input") -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise bad(f'{where} must have the property "{name}"')
    return value


# -- records ---------------------------------------------------------------------------------
def graphemes(text: str) -> int:
    """Grapheme clusters, near enough: code points that are not combining marks, joiners or
    variation selectors."""
    return sum(1 for ch in text if not unicodedata.combining(ch) and ch not in "\u200d\ufe0f\ufe0e")


def _strong_ref(value: Any, where: str) -> dict[str, str]:
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("uri"), str)
        or not isinstance(value.get("cid"), str)
    ):
        raise bad(f"Invalid app.bsky.feed.post record: {where} must be a strong ref (uri, cid)")
    return {"uri": value["uri"], "cid": value["cid"]}


def _self_labelled(record: dict[str, Any]) -> bool:
    labels = record.get("labels")
    return (
        isinstance(labels, dict)
        and labels.get("$type") == SELF_LABELS
        and any(
            isinstance(v, dict) and v.get("val") == BOT_LABEL for v in labels.get("values") or []
        )
    )


def check_post(ctx: XrpcCtx, person: Person, record: Any) -> tuple[int | None, int | None, bool]:
    """Validate an app.bsky.feed.post record; returns (reply-to id, quoted id, labelled bot)."""
    where = "Invalid app.bsky.feed.post record"
    if not isinstance(record, dict) or record.get("$type") != POST:
        raise bad(f"{where}: Record/$type must be {POST}")
    text = record.get("text")
    if not isinstance(text, str):
        raise bad(f"{where}: Record/text must be a string")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise bad(f"{where}: Record/text is not valid Unicode") from None
    if graphemes(text) > MAX_GRAPHEMES or size > MAX_TEXT_BYTES:
        raise bad(f"{where}: Record/text must not be longer than {MAX_GRAPHEMES} graphemes")
    created = record.get("createdAt")
    if not isinstance(created, str) or not re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", created):
        raise bad(f"{where}: Record/createdAt must be a valid datetime")
    for i, facet in enumerate(record.get("facets") or []):
        index = facet.get("index") if isinstance(facet, dict) else None
        start = index.get("byteStart") if isinstance(index, dict) else None
        end = index.get("byteEnd") if isinstance(index, dict) else None
        if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end <= size:
            raise bad(f"{where}: Record/facets/{i}/index must be a byte range inside the text")
        features = facet.get("features")
        if not isinstance(features, list) or not features:
            raise bad(f"{where}: Record/facets/{i}/features must be a non-empty array")
    reply_to = quote_of = None
    if record.get("reply") is not None:
        reply = record["reply"]
        if not isinstance(reply, dict):
            raise bad(f"{where}: Record/reply must be an object")
        root = _strong_ref(reply.get("root"), "Record/reply/root")
        parent = _strong_ref(reply.get("parent"), "Record/reply/parent")
        for name, ref in (("root", root), ("parent", parent)):
            row = ctx.views.find_post(ref["uri"])
            if row is None or ctx.views.record(row)[1] != ref["cid"]:
                raise bad(f"Reply {name} not found: {ref['uri']} (cid {ref['cid']})")
            if name == "parent":
                reply_to = row.id
    embed = record.get("embed")
    if embed is not None:
        kind = embed.get("$type") if isinstance(embed, dict) else None
        if kind == "app.bsky.embed.images":
            images = embed.get("images")
            if not isinstance(images, list) or not 1 <= len(images) <= MAX_IMAGES:
                raise bad(f"{where}: Record/embed/images must hold 1 to {MAX_IMAGES} images")
            for i, image in enumerate(images):
                blob = image.get("image") if isinstance(image, dict) else None
                link = (blob.get("ref") or {}).get("$link") if isinstance(blob, dict) else None
                if not isinstance(image.get("alt"), str) or not isinstance(link, str):
                    raise bad(f"{where}: Record/embed/images/{i} needs an image blob and alt text")
                if not ctx.world.store.one(
                    "SELECT 1 FROM at_blobs WHERE cid = ? AND author_id = ?", (link, person.uid)
                ):
                    raise bad(f"Could not find blob: {link}", "BlobNotFound")
        elif kind == "app.bsky.embed.record":
            ref = _strong_ref(embed.get("record"), "Record/embed/record")
            row = ctx.views.find_post(ref["uri"])
            if row is None or ctx.views.record(row)[1] != ref["cid"]:
                raise bad(f"Quoted post not found: {ref['uri']} (cid {ref['cid']})")
            quote_of = row.id
        else:
            raise bad(f"{where}: the sandbox serves images and record embeds, not {kind!r}")
    profile = ctx.views.profile_record(person.uid)
    bot = _self_labelled(record) or (profile is not None and _self_labelled(profile[0]))
    return reply_to, quote_of, bot


def _repo(ctx: XrpcCtx, data: dict[str, Any], caller: Caller) -> Person:
    """The repo a write names: it must be the caller's own."""
    me = caller.require()
    repo = _string(data, "repo")
    person = ctx.ids.resolve(repo)
    if person is None:
        raise bad(f"Could not find repo: {repo}")
    if person.uid != me.uid:
        raise auth_required("You may only write to your own repository")
    return me


def _commit() -> dict[str, str]:
    rev = tid(secrets.randbits(62))
    return {"cid": record_cid({"rev": rev}), "rev": rev}


Adder = Callable[..., None]


def xrpc_adder(app: FastAPI, ctx: XrpcCtx) -> Adder:
    """`add(nsid, method, handler, auth=..., points=...)`: serve one method under /xrpc/."""

    def add(nsid: str, method: str, handler: Handler, **kw: Any) -> None:
        app.add_api_route(
            f"/xrpc/{nsid}",
            xrpc_route(ctx, handler, **kw),
            methods=[method],
            include_in_schema=False,
        )

    return add


def add_unknown_method_route(app: FastAPI) -> None:
    """Any other /xrpc/ method: 501 MethodNotImplemented (register it after every method)."""

    async def unknown(request: Request) -> Response:
        return JSONResponse(
            {"error": "MethodNotImplemented", "message": "Method Not Implemented"},
            status_code=501,
        )

    app.add_api_route("/xrpc/{nsid}", unknown, methods=["GET", "POST"], include_in_schema=False)


def add_xrpc_routes(app: FastAPI, ctx: XrpcCtx) -> None:
    """The com.atproto methods (server, identity, repo, sync.getBlob)."""
    world, views = ctx.world, ctx.views
    add = xrpc_adder(app, ctx)

    # -- com.atproto.server / identity -----------------------------------------------------
    async def create_session(request: Request, caller: Caller) -> tuple[int, Any]:
        data = await json_body(request)
        identifier, password = _string(data, "identifier"), _string(data, "password")
        verdict = ctx.limiter.session(identifier)
        if not verdict.allowed:
            raise rate_limited(verdict)
        person = ctx.ids.resolve(identifier)
        ok = person is not None and world.store.one(
            "SELECT 1 FROM tokens WHERE token = ? AND role = 'user' AND user_id = ?",
            (password, person.uid),
        )
        if not ok or person is None:
            raise auth_required("Invalid identifier or password")
        return 200, ctx.tokens(person)

    async def refresh_session(request: Request, caller: Caller) -> tuple[int, Any]:
        return 200, ctx.tokens(caller.require())

    async def get_session(request: Request, caller: Caller) -> tuple[int, Any]:
        me = caller.require()
        return 200, {"did": me.did, "handle": me.handle, "active": True}

    async def resolve_handle(request: Request, caller: Caller) -> tuple[int, Any]:
        person = ctx.ids.resolve(param(request, "handle"))
        if person is None:
            raise bad("Unable to resolve handle")
        return 200, {"did": person.did}

    # -- com.atproto.repo ------------------------------------------------------------------
    async def create_record(request: Request, caller: Caller) -> tuple[int, Any]:
        data = await json_body(request)
        me = _repo(ctx, data, caller)
        collection = _string(data, "collection")
        record = data.get("record")
        rkey = data.get("rkey")
        if rkey is not None and (not isinstance(rkey, str) or not _RKEY.fullmatch(rkey)):
            raise bad("Invalid record key")
        if collection == PROFILE:
            if rkey not in (None, "self"):
                raise bad("Invalid record key: profiles live at rkey 'self'")
            if views.profile_record(me.uid) is not None:
                raise bad(f"Record already exists: {at_uri(me.did, PROFILE, 'self')}")
            return 200, _put_profile(me, record)
        if collection != POST:
            raise bad(f"the sandbox stores {POST} and {PROFILE} records, not {collection}")
        if rkey is not None and not TID_RE.fullmatch(rkey):
            raise bad(f"Invalid record key: {POST} keys are TIDs")
        reply_to, quote_of, bot = check_post(ctx, me, record)
        assert isinstance(record, dict)
        cid = record_cid(record)
        try:
            row = world.insert_post(
                author_id=me.uid,
                text=record["text"],
                reply_to=reply_to,
                quote_of=quote_of,
                made_with_ai=bot,
                # no key chosen: the TID of the post's id, like every other post's
                record=AtRecord(POST, rkey, json.dumps(record), cid),
            )
        except RecordExists:
            raise bad(f"Record already exists: {at_uri(me.did, POST, str(rkey))}") from None
        return 200, {
            "uri": views.uri(row),
            "cid": cid,
            "commit": _commit(),
            "validationStatus": "valid",
        }

    def _put_profile(me: Person, record: Any) -> dict[str, Any]:
        if not isinstance(record, dict) or record.get("$type") != PROFILE:
            raise bad(f"Invalid {PROFILE} record: Record/$type must be {PROFILE}")
        for name in ("displayName", "description"):
            if name in record and not isinstance(record[name], str):
                raise bad(f"Invalid {PROFILE} record: Record/{name} must be a string")
        cid = record_cid(record)
        with world.store.tx() as c:
            c.execute(
                "INSERT OR REPLACE INTO at_records VALUES (?, ?, 'self', NULL, ?, ?, ?)",
                (me.uid, PROFILE, json.dumps(record), cid, world.now_ms()),
            )
        return {
            "uri": at_uri(me.did, PROFILE, "self"),
            "cid": cid,
            "commit": _commit(),
            "validationStatus": "valid",
        }

    async def put_record(request: Request, caller: Caller) -> tuple[int, Any]:
        data = await json_body(request)
        me = _repo(ctx, data, caller)
        collection, rkey = _string(data, "collection"), _string(data, "rkey")
        if collection != PROFILE or rkey != "self":
            raise bad(f"the sandbox updates only {PROFILE}/self records with putRecord")
        swap = data.get("swapRecord")
        current = views.profile_record(me.uid)
        if swap is not None and (current is None or current[1] != swap):
            raise bad("Record was at " + (current[1] if current else "null"), "InvalidSwap")
        return 200, _put_profile(me, data.get("record"))

    async def delete_record(request: Request, caller: Caller) -> tuple[int, Any]:
        data = await json_body(request)
        me = _repo(ctx, data, caller)
        collection, rkey = _string(data, "collection"), _string(data, "rkey")
        swap = data.get("swapRecord")
        if collection == PROFILE:
            current = views.profile_record(me.uid) if rkey == "self" else None
            if swap is not None and (current is None or current[1] != swap):
                raise bad("Record was at " + (current[1] if current else "null"), "InvalidSwap")
            world.store.one(
                "DELETE FROM at_records WHERE author_id = ? AND collection = ? AND rkey = ?",
                (me.uid, PROFILE, rkey),
            )
            return 200, {"commit": _commit()}
        if collection != POST:
            raise bad(f"the sandbox stores {POST} and {PROFILE} records, not {collection}")
        row = views.find_post(at_uri(me.did, POST, rkey))
        if row is not None:
            if swap is not None and views.record(row)[1] != swap:
                raise bad(f"Record was at {views.record(row)[1]}", "InvalidSwap")
            world.delete_post(row.id)
        return 200, {"commit": _commit()}  # deleting what is not there succeeds, as on a PDS

    async def get_record(request: Request, caller: Caller) -> tuple[int, Any]:
        repo, collection = param(request, "repo"), param(request, "collection")
        rkey = param(request, "rkey")
        person = ctx.ids.resolve(repo)
        if person is None:
            raise bad(f"Could not find repo: {repo}")
        uri = at_uri(person.did, collection, rkey)
        found: tuple[dict[str, Any], str] | None = None
        if collection == POST:
            row = views.find_post(uri)
            if row is not None:
                record, cid, _ = views.record(row)
                found = (record, cid)
        elif collection == PROFILE and rkey == "self":
            found = views.profile_record(person.uid)
        wanted = request.query_params.get("cid")
        if found is None or (wanted and wanted != found[1]):
            raise bad(f"Could not locate record: {uri}", "RecordNotFound")
        return 200, {"uri": uri, "cid": found[1], "value": found[0]}

    async def upload_blob(request: Request, caller: Caller) -> tuple[int, Any]:
        me = caller.require()
        data = await request.body()
        if not data:
            raise bad("Request body must not be empty")
        if len(data) > MAX_BLOB_BYTES:
            raise bad(
                f"This file is too large. It is {len(data)} bytes but the maximum size is "
                f"{MAX_BLOB_BYTES} bytes",
                "BlobTooLarge",
            )
        mime = (request.headers.get("content-type") or "application/octet-stream").split(";")[0]
        cid = blob_cid(data)
        world.store.one(
            "INSERT OR IGNORE INTO at_blobs VALUES (?, ?, ?, ?, ?)",
            (cid, me.uid, mime, len(data), data),
        )
        return 200, {
            "blob": {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime, "size": len(data)}
        }

    async def get_blob(request: Request, caller: Caller) -> tuple[int, Any]:
        person = ctx.ids.resolve(param(request, "did"))
        cid = param(request, "cid")
        row = world.store.one(
            "SELECT mime, data FROM at_blobs WHERE cid = ? AND author_id = ?",
            (cid, person.uid if person else -1),
        )
        if row is None:
            raise bad("Blob not found", "BlobNotFound")
        return 200, Response(content=bytes(row[1]), media_type=row[0])

    add("com.atproto.server.createSession", "POST", create_session, auth="none")
    add("com.atproto.server.refreshSession", "POST", refresh_session, auth="refresh")
    add("com.atproto.server.getSession", "GET", get_session, auth="access")
    add("com.atproto.identity.resolveHandle", "GET", resolve_handle)
    add("com.atproto.repo.createRecord", "POST", create_record, auth="access", points="create")
    add("com.atproto.repo.putRecord", "POST", put_record, auth="access", points="update")
    add("com.atproto.repo.deleteRecord", "POST", delete_record, auth="access", points="delete")
    add("com.atproto.repo.getRecord", "GET", get_record)
    add("com.atproto.repo.uploadBlob", "POST", upload_blob, auth="access")
    add("com.atproto.sync.getBlob", "GET", get_blob)
