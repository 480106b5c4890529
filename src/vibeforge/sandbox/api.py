"""The X API v2 routes (`/2/...`) and the HTTP plumbing shared with the admin routes:
authentication, rate-limit headers on every response, and errors in X's shapes."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from vibeforge.sandbox.clock import parse_iso
from vibeforge.sandbox.engine import POST_COLUMNS, World, post_row
from vibeforge.sandbox.limits import Authenticator, Principal, RateLimiter
from vibeforge.sandbox.problems import (
    ApiError,
    app_only_forbidden,
    forbidden,
    invalid,
    not_found,
    resource_missing,
    too_many_requests,
)
from vibeforge.sandbox.render import (
    expansions,
    render_posts,
    render_users,
    tweet_fields,
    user_fields,
)
from vibeforge.sandbox.text import MAX_WEIGHTED_LENGTH, weighted_length

log = logging.getLogger(__name__)
Handler = Callable[[Request, Principal], Awaitable[tuple[int, Any]]]


class Ctx:
    """What every route needs: the world, the authenticator and the limiter."""

    def __init__(self, world: World, auth: Authenticator, limiter: RateLimiter) -> None:
        self.world, self.auth, self.limiter = world, auth, limiter


def route(
    ctx: Ctx,
    endpoint: str | None,
    handler: Handler,
    *,
    roles: tuple[str, ...] = ("user", "app", "admin"),
) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        headers: dict[str, str] = {}
        try:
            # who may call comes first: a refused token or role never counts against a limit
            # (an app token that tries to post gets 403 every time, not 403 then 429)
            principal = ctx.auth.principal(request.headers.get("authorization"))
            if principal.role not in roles:
                if principal.role == "app" and "user" in roles:
                    raise app_only_forbidden()
                raise forbidden("this token may not use this endpoint")
            if endpoint is not None:
                allowed, headers = ctx.limiter.hit(principal, endpoint)
                if not allowed:
                    raise too_many_requests()
            status, body = await handler(request, principal)
        except ApiError as exc:
            status, body = exc.status, exc.body()
        except Exception:  # the server keeps serving; the client gets X's 500 shape
            log.exception("sandbox route %s failed", request.url.path)
            status, body = (
                500,
                {
                    "title": "Internal Server Error",
                    "detail": "Internal Server Error",
                    "type": "about:blank",
                    "status": 500,
                },
            )
        if status == 204:
            return Response(status_code=204, headers=headers)
        return JSONResponse(body, status_code=status, headers=headers)

    return run


MAX_ID = 2**63 - 1  # X's ids are unsigned 64-bit in form but fit a signed one (SQLite's INTEGER)
_ID = re.compile(r"[0-9]{1,19}")  # ASCII digits only: str.isdigit() also accepts '²'
_TOKEN = re.compile(r"[0-9a-z]{1,13}")  # base 36 of an id below 2**63


def parse_id(value: str | None, name: str) -> int:
    if value is None or not _ID.fullmatch(value) or int(value) > MAX_ID:
        raise invalid(
            f"The `{name}` query parameter value [{value}] is not valid",
            parameter=name,
            value=value,
        )
    return int(value)


def parse_time(value: str, name: str) -> int:
    try:
        return parse_iso(value)
    except ValueError:
        raise invalid(
            f"The `{name}` query parameter value [{value}] is not a valid RFC 3339 time",
            parameter=name,
            value=value,
        ) from None


def max_results(query: Any, *, lo: int, hi: int, default: int) -> int:
    raw = query.get("max_results")
    if raw is None:
        return default
    if not _ID.fullmatch(raw) or not lo <= int(raw) <= hi:
        raise invalid(
            f"The `max_results` query parameter value [{raw}] is not between {lo} and {hi}",
            parameter="max_results",
            value=raw,
        )
    return int(raw)


def encode_token(post_id: int) -> str:
    digits, n = "0123456789abcdefghijklmnopqrstuvwxyz", post_id
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


def decode_token(token: str) -> int:
    if not _TOKEN.fullmatch(token) or int(token, 36) > MAX_ID:
        raise invalid(
            f"The `pagination_token` query parameter value [{token[:40]}] is not valid",
            parameter="pagination_token",
            value=token[:40],
        )
    return int(token, 36)


def body_json(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid(f"Request body is not valid JSON: {exc}") from None
    except RecursionError:  # nesting deeper than the parser's stack
        raise invalid("Request body nests too deeply") from None
    if not isinstance(data, dict):
        raise invalid("Request body must be a JSON object")
    return data


def posts_page(
    ctx: Ctx,
    request: Request,
    principal: Principal,
    *,
    where: str,
    args: tuple[Any, ...],
    lo: int,
    hi: int,
    default: int,
) -> dict[str, Any]:
    q = request.query_params
    n = max_results(q, lo=lo, hi=hi, default=default)
    fields, exp = tweet_fields(q), expansions(q)
    ufields = user_fields(q)
    sql = [f"SELECT {POST_COLUMNS} FROM posts WHERE deleted = 0 AND created_ms <= ? AND {where}"]
    params: list[Any] = [ctx.world.now_ms(), *args]
    for name, op in (("since_id", ">"), ("until_id", "<")):
        if q.get(name) is not None:
            sql.append(f"AND id {op} ?")
            params.append(parse_id(q.get(name), name))
    for name, op in (("start_time", ">="), ("end_time", "<")):
        if q.get(name) is not None:
            sql.append(f"AND created_ms {op} ?")
            params.append(parse_time(q[name], name))
    if q.get("pagination_token"):
        sql.append("AND id < ?")
        params.append(decode_token(q["pagination_token"]))
    sql.append("ORDER BY id DESC LIMIT ?")
    params.append(n + 1)
    rows = [post_row(r) for r in ctx.world.store.all(" ".join(sql), params)]
    more, rows = len(rows) > n, rows[:n]
    errors: list[dict[str, Any]] = []
    body: dict[str, Any] = {}
    if rows:
        body["data"] = render_posts(
            ctx.world, rows, fields=fields, viewer=principal.user_id, errors=errors
        )
        if "author_id" in exp:
            body["includes"] = {
                "users": render_users(ctx.world, [p.author_id for p in rows], fields=ufields)
            }
    meta: dict[str, Any] = {"result_count": len(rows)}
    if rows:
        meta["newest_id"], meta["oldest_id"] = str(rows[0].id), str(rows[-1].id)
    if more:
        meta["next_token"] = encode_token(rows[-1].id)
    body["meta"] = meta
    if errors:
        body["errors"] = errors
    return body


def lookup_posts(
    ctx: Ctx, request: Request, principal: Principal, ids: list[int]
) -> dict[str, Any]:
    q = request.query_params
    fields, exp, ufields = tweet_fields(q), expansions(q), user_fields(q)
    marks = ",".join("?" * len(ids))
    rows = ctx.world.store.all(
        f"SELECT {POST_COLUMNS} FROM posts WHERE id IN ({marks}) AND "
        "deleted = 0 AND created_ms <= ?",
        [*ids, ctx.world.now_ms()],
    )
    by_id = {r[0]: post_row(r) for r in rows}
    found = [by_id[i] for i in dict.fromkeys(ids) if i in by_id]
    errors = [resource_missing("tweet", str(i)) for i in dict.fromkeys(ids) if i not in by_id]
    body: dict[str, Any] = {}
    if found:
        body["data"] = render_posts(
            ctx.world, found, fields=fields, viewer=principal.user_id, errors=errors
        )
        if "author_id" in exp:
            body["includes"] = {
                "users": render_users(ctx.world, [p.author_id for p in found], fields=ufields)
            }
    if errors:
        body["errors"] = errors
    return body


def add_x_routes(app: FastAPI, ctx: Ctx) -> None:
    world = ctx.world

    def add(path: str, method: str, endpoint: str, handler: Handler, **kw: Any) -> None:
        app.add_api_route(
            path, route(ctx, endpoint, handler, **kw), methods=[method], include_in_schema=False
        )

    async def create_tweet(request: Request, p: Principal) -> tuple[int, Any]:
        data = body_json(await request.body())
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            raise invalid("`text` must be a non-empty string", parameter="text", value=text)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise invalid("`text` is not valid Unicode (lone surrogate)") from None
        if weighted_length(text) > MAX_WEIGHTED_LENGTH:
            raise invalid(
                f"`text` is {weighted_length(text)} weighted characters; the limit is "
                f"{MAX_WEIGHTED_LENGTH}",
                parameter="text",
                value=text[:40],
            )
        reply = data.get("reply") or {}
        if not isinstance(reply, dict):
            raise invalid("`reply` must be an object with in_reply_to_tweet_id")
        reply_to = quote_of = None
        if reply.get("in_reply_to_tweet_id") is not None:
            reply_to = parse_id(str(reply["in_reply_to_tweet_id"]), "reply.in_reply_to_tweet_id")
            if not world.store.one("SELECT 1 FROM posts WHERE id = ? AND deleted = 0", (reply_to,)):
                raise forbidden(
                    "You attempted to reply to a Tweet that is deleted or not visible to you."
                )
        if data.get("quote_tweet_id") is not None:
            quote_of = parse_id(str(data["quote_tweet_id"]), "quote_tweet_id")
            if not world.store.one("SELECT 1 FROM posts WHERE id = ? AND deleted = 0", (quote_of,)):
                raise invalid(
                    f"quote_tweet_id [{quote_of}] does not exist",
                    parameter="quote_tweet_id",
                    value=quote_of,
                )
        assert p.user_id is not None
        if world.recent_duplicate(author_id=p.user_id, text=text):
            raise forbidden("You are not allowed to create a Tweet with duplicate content.")
        row = world.insert_post(
            author_id=p.user_id,
            text=text,
            reply_to=reply_to,
            quote_of=quote_of,
            made_with_ai=bool(data.get("made_with_ai")),
        )
        return 201, {
            "data": {"id": str(row.id), "text": row.text, "edit_history_tweet_ids": [str(row.id)]}
        }

    async def delete_tweet(request: Request, p: Principal) -> tuple[int, Any]:
        pid = parse_id(request.path_params["id"], "id")
        row = world.store.one("SELECT author_id FROM posts WHERE id = ? AND deleted = 0", (pid,))
        if row is None:
            raise not_found(f"Could not find tweet with id: [{pid}].")
        if row[0] != p.user_id:
            raise forbidden("You are not allowed to delete a Tweet you did not create.")
        world.delete_post(pid)
        return 200, {"data": {"deleted": True}}

    async def get_tweets(request: Request, p: Principal) -> tuple[int, Any]:
        raw = request.query_params.get("ids")
        if not raw:
            raise invalid("The `ids` query parameter can not be empty", parameter="ids", value="")
        parts = raw.split(",")
        if len(parts) > 100:
            raise invalid(
                f"`ids` holds {len(parts)} ids; at most 100", parameter="ids", value=len(parts)
            )
        return 200, lookup_posts(ctx, request, p, [parse_id(x.strip(), "ids") for x in parts])

    async def get_tweet(request: Request, p: Principal) -> tuple[int, Any]:
        body = lookup_posts(ctx, request, p, [parse_id(request.path_params["id"], "id")])
        if "data" in body:
            body["data"] = body["data"][0]
        return 200, body

    def user_lookup(where: str, value: Any, label: str, parameter: str) -> Callable[..., Any]:
        async def handler(request: Request, p: Principal) -> tuple[int, Any]:
            key = value(request, p)
            row = world.store.one(f"SELECT id FROM users WHERE {where} = ?", (key,))
            if row is None:
                return 200, {"errors": [resource_missing("user", str(key), parameter)]}
            users = render_users(world, [row[0]], fields=user_fields(request.query_params))
            return 200, {"data": users[0]}

        return handler

    def me(request: Request, p: Principal) -> int:
        if p.user_id is None:
            raise app_only_forbidden()
        return p.user_id

    def username(request: Request, p: Principal) -> str:
        return str(request.path_params["username"])

    def user_id(request: Request, p: Principal) -> int:
        return parse_id(request.path_params["id"], "id")

    async def user_tweets(request: Request, p: Principal) -> tuple[int, Any]:
        uid = user_id(request, p)
        if not world.store.one("SELECT 1 FROM users WHERE id = ?", (uid,)):
            return 200, {
                "errors": [resource_missing("user", str(uid))],
                "meta": {"result_count": 0},
            }
        where = "author_id = ?"
        for item in filter(None, (request.query_params.get("exclude") or "").split(",")):
            if item not in ("replies", "retweets"):
                raise invalid(
                    f"The `exclude` query parameter value [{item}] is not one of "
                    "[replies, retweets]",
                    parameter="exclude",
                    value=item,
                )
            if item == "replies":  # the sandbox has no retweets to exclude
                where += " AND reply_to IS NULL"
        return 200, posts_page(ctx, request, p, where=where, args=(uid,), lo=5, hi=100, default=10)

    async def home(request: Request, p: Principal) -> tuple[int, Any]:
        uid = user_id(request, p)
        if uid != p.user_id:
            raise forbidden("You can only read the home timeline of the authenticated user.")
        return 200, posts_page(
            ctx,
            request,
            p,
            where="(author_id = ? OR author_id IN (SELECT followee_id FROM "
            "follows WHERE follower_id = ?))",
            args=(uid, uid),
            lo=1,
            hi=100,
            default=100,
        )

    def list_id(request: Request) -> int:
        lid = parse_id(request.path_params["id"], "id")
        if not world.store.one("SELECT 1 FROM lists WHERE id = ?", (lid,)):
            raise not_found(f"Could not find list with id: [{lid}].")
        return lid

    async def list_tweets(request: Request, p: Principal) -> tuple[int, Any]:
        lid = list_id(request)
        return 200, posts_page(
            ctx,
            request,
            p,
            where="author_id IN (SELECT user_id FROM list_members WHERE list_id = ?)",
            args=(lid,),
            lo=1,
            hi=100,
            default=100,
        )

    async def list_members(request: Request, p: Principal) -> tuple[int, Any]:
        lid = list_id(request)
        q = request.query_params
        n = max_results(q, lo=1, hi=100, default=100)
        start = decode_token(q["pagination_token"]) if q.get("pagination_token") else 0
        rows = world.store.all(
            "SELECT user_id FROM list_members WHERE list_id = ? AND user_id >= ? "
            "ORDER BY user_id LIMIT ?",
            (lid, start, n + 1),
        )
        ids = [r[0] for r in rows]
        body: dict[str, Any] = {"meta": {"result_count": min(n, len(ids))}}
        if ids:
            body["data"] = render_users(world, ids[:n], fields=user_fields(q))
        if len(ids) > n:
            body["meta"]["next_token"] = encode_token(ids[n])
        return 200, body

    add("/2/tweets", "POST", "POST /2/tweets", create_tweet, roles=("user",))
    add("/2/tweets", "GET", "GET /2/tweets", get_tweets)
    add("/2/tweets/{id}", "GET", "GET /2/tweets/:id", get_tweet)
    add("/2/tweets/{id}", "DELETE", "DELETE /2/tweets/:id", delete_tweet, roles=("user",))
    add(
        "/2/users/me",
        "GET",
        "GET /2/users/me",
        user_lookup("id", me, "user", "id"),
        roles=("user",),
    )
    add(
        "/2/users/by/username/{username}",
        "GET",
        "GET /2/users/by/username/:username",
        user_lookup("username", username, "user", "username"),
    )
    add("/2/users/{id}", "GET", "GET /2/users/:id", user_lookup("id", user_id, "user", "id"))
    add("/2/users/{id}/tweets", "GET", "GET /2/users/:id/tweets", user_tweets)
    add(
        "/2/users/{id}/timelines/reverse_chronological",
        "GET",
        "GET /2/users/:id/timelines/reverse_chronological",
        home,
        roles=("user",),
    )
    add("/2/lists/{id}/tweets", "GET", "GET /2/lists/:id/tweets", list_tweets)
    add("/2/lists/{id}/members", "GET", "GET /2/lists/:id/members", list_members)
    # the /2/posts spelling X introduced alongside /2/tweets
    add("/2/posts", "POST", "POST /2/tweets", create_tweet, roles=("user",))
    add("/2/posts", "GET", "GET /2/tweets", get_tweets)
    add("/2/posts/{id}", "GET", "GET /2/tweets/:id", get_tweet)
    add("/2/posts/{id}", "DELETE", "DELETE /2/tweets/:id", delete_tweet, roles=("user",))
