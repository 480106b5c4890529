"""The X API v2 routes (`/2/...`): posting, post and user lookups, timelines and lists here;
the read side (likers, reposters, quotes, search, mentions, follows) in x_reads.py, likes and
reposts by accounts in x_actions.py, images in x_media.py. Each route names the query
parameters its operation takes in X's spec (2.167); the plumbing is xhttp.py's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from vibeforge.sandbox import reposts
from vibeforge.sandbox.limits import Principal
from vibeforge.sandbox.problems import (
    PROBLEM_JSON,
    app_only_forbidden,
    forbidden,
    invalid,
    not_found,
    resource_missing,
)
from vibeforge.sandbox.render import member_id_of, render_users
from vibeforge.sandbox.text import MAX_WEIGHTED_LENGTH, weighted_length
from vibeforge.sandbox.vocab import (
    PAGING,
    POST_OBJECT_PARAMS,
    USER_OBJECT_PARAMS,
    WINDOW,
    ask,
)
from vibeforge.sandbox.x_actions import add_action_routes
from vibeforge.sandbox.x_media import add_media_routes, post_media_ids
from vibeforge.sandbox.x_reads import add_read_routes
from vibeforge.sandbox.xhttp import (
    MAX_ID,
    Ctx,
    Handler,
    body_json,
    decode_token,
    encode_token,
    max_results,
    parse_id,
    route,
)
from vibeforge.sandbox.xpages import known_user, lookup_posts, posts_page, users_body

__all__ = ["MAX_ID", "Ctx", "add_x_routes", "body_json", "parse_id", "route"]


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
        media_ids = (
            post_media_ids(ctx, data["media"], p.user_id)
            if data.get("media") is not None and p.user_id is not None
            else []
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
            if media_ids:  # the spec: media is "mutually exclusive from Quote Tweet Id"
                raise invalid(
                    "`media` and `quote_tweet_id` are mutually exclusive",
                    parameter="quote_tweet_id",
                    value=str(data["quote_tweet_id"])[:40],
                )
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
            media_ids=media_ids,
        )
        return 201, {
            "data": {
                "id": str(row.id),
                "text": row.text,
                "edit_history_post_ids": [str(row.id)],
                "edit_history_tweet_ids": [str(row.id)],
            }
        }

    async def delete_tweet(request: Request, p: Principal) -> tuple[int, Any]:
        pid = parse_id(request.path_params["id"], "id")
        row = world.store.one("SELECT author_id FROM posts WHERE id = ? AND deleted = 0", (pid,))
        if row is None and (found := reposts.source_of(world.store, pid)) is not None:
            # deleting one's repost undoes it, as X's statuses/destroy did
            if found[0] != p.user_id:
                raise forbidden("You are not allowed to delete a Tweet you did not create.")
            ctx.reactions.remove(user_id=found[0], post_id=found[1], kind="repost")
            return 200, {"data": {"deleted": True}}
        if row is None:
            raise not_found(f"Could not find tweet with id: [{pid}].")
        if row[0] != p.user_id:
            raise forbidden("You are not allowed to delete a Tweet you did not create.")
        world.delete_post(pid)
        return 200, {"data": {"deleted": True}}

    async def get_tweets(request: Request, p: Principal) -> tuple[int, Any]:
        raw = request.query_params.get("ids")
        if raw is None:
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

    def account_id(username: str) -> int | None:
        member = member_id_of(username)
        if member is not None:
            return member if known_user(ctx, member) else None
        row = world.store.one("SELECT id FROM users WHERE username = ?", (username,))
        return None if row is None else int(row[0])

    def one_user(uid: int | None, key: str, parameter: str, request: Request) -> dict[str, Any]:
        if uid is None or not known_user(ctx, uid):
            return {"errors": [resource_missing("user", key, parameter)]}
        wanted = ask(request.query_params, returns="users")
        users = render_users(world, [uid], ask=wanted, reactions=ctx.reactions)
        return {"data": users[0]}

    async def me(request: Request, p: Principal) -> tuple[int, Any]:
        if p.user_id is None:
            raise app_only_forbidden()
        return 200, one_user(p.user_id, str(p.user_id), "id", request)

    async def by_username(request: Request, p: Principal) -> tuple[int, Any]:
        name = str(request.path_params["username"])
        return 200, one_user(account_id(name), name, "username", request)

    async def by_id(request: Request, p: Principal) -> tuple[int, Any]:
        uid = parse_id(request.path_params["id"], "id")
        return 200, one_user(uid, str(uid), "id", request)

    def many_users(parameter: str, resolve: Callable[[str], int | None]) -> Handler:
        async def handler(request: Request, p: Principal) -> tuple[int, Any]:
            raw = request.query_params.get(parameter)
            if raw is None:
                raise invalid(
                    f"The `{parameter}` query parameter can not be empty",
                    parameter=parameter,
                    value="",
                )
            keys = raw.split(",")
            if len(keys) > 100:
                raise invalid(
                    f"`{parameter}` holds {len(keys)} values; at most 100",
                    parameter=parameter,
                    value=len(keys),
                )
            wanted = ask(request.query_params, returns="users")
            found: list[int] = []
            errors = []
            for key in dict.fromkeys(keys):
                uid = resolve(key)
                if uid is None or not known_user(ctx, uid):
                    errors.append(resource_missing("user", key, parameter))
                else:
                    found.append(uid)
            body: dict[str, Any] = {}
            if found:
                body["data"] = render_users(world, found, ask=wanted, reactions=ctx.reactions)
            if errors:
                body["errors"] = errors
            return 200, body

        return handler

    def user_id(request: Request) -> int:
        return parse_id(request.path_params["id"], "id")

    async def user_tweets(request: Request, p: Principal) -> tuple[int, Any]:
        uid = user_id(request)
        if not known_user(ctx, uid):
            return 200, {
                "errors": [resource_missing("user", str(uid))],
                "meta": {"result_count": 0},
            }
        where = "author_id = ?" + exclude(request.query_params)
        return 200, posts_page(ctx, request, p, where=where, args=(uid,), lo=5, hi=100, default=10)

    async def home(request: Request, p: Principal) -> tuple[int, Any]:
        uid = user_id(request)
        if uid != p.user_id:
            raise forbidden("You can only read the home timeline of the authenticated user.")
        return 200, posts_page(
            ctx,
            request,
            p,
            where="(author_id = ? OR author_id IN (SELECT followee_id FROM "
            "follows WHERE follower_id = ?))" + exclude(request.query_params),
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
        wanted = ask(q, returns="users")
        token = q.get("pagination_token")
        start = decode_token(token) if token is not None else 0
        rows = world.store.all(
            "SELECT user_id FROM list_members WHERE list_id = ? AND user_id >= ? "
            "ORDER BY user_id LIMIT ?",
            (lid, start, n + 1),
        )
        ids = [r[0] for r in rows]
        after = encode_token(ids[n]) if len(ids) > n else None
        return 200, users_body(ctx, ids[:n], ask=wanted, next_token=after)

    posts = POST_OBJECT_PARAMS
    users = USER_OBJECT_PARAMS
    timeline = posts | PAGING | WINDOW | {"exclude"}
    for base in ("/2/tweets", "/2/posts"):  # /2/posts: the spelling X introduced beside
        add(base, "POST", "POST /2/tweets", create_tweet, roles=("user",), params=frozenset())
        add(base, "GET", "GET /2/tweets", get_tweets, params=posts | {"ids"})
        add(base + "/{id}", "GET", "GET /2/tweets/:id", get_tweet, params=posts)
        add(
            base + "/{id}",
            "DELETE",
            "DELETE /2/tweets/:id",
            delete_tweet,
            roles=("user",),
            params=frozenset(),
        )
    add("/2/users/me", "GET", "GET /2/users/me", me, roles=("user",), params=users)
    add(
        "/2/users",
        "GET",
        "GET /2/users",
        many_users("ids", lambda k: parse_id(k, "ids")),
        params=users | {"ids"},
    )
    add(
        "/2/users/by",
        "GET",
        "GET /2/users/by",
        many_users("usernames", account_id),
        params=users | {"usernames"},
    )
    add(
        "/2/users/by/username/{username}",
        "GET",
        "GET /2/users/by/username/:username",
        by_username,
        params=users,
    )
    add("/2/users/{id}", "GET", "GET /2/users/:id", by_id, params=users)
    add("/2/users/{id}/tweets", "GET", "GET /2/users/:id/tweets", user_tweets, params=timeline)
    add(
        "/2/users/{id}/timelines/reverse_chronological",
        "GET",
        "GET /2/users/:id/timelines/reverse_chronological",
        home,
        roles=("user",),
        params=timeline,
    )
    add(
        "/2/lists/{id}/tweets", "GET", "GET /2/lists/:id/tweets", list_tweets, params=posts | PAGING
    )
    add(
        "/2/lists/{id}/members",
        "GET",
        "GET /2/lists/:id/members",
        list_members,
        params=users | PAGING,
    )
    add_read_routes(app, ctx)
    add_action_routes(app, ctx)
    add_media_routes(app, ctx)
    add_unknown_route(app)


def exclude(query: Any) -> str:
    """The SQL condition `exclude=replies,retweets` adds to a read of `x_posts`."""
    raw = query.get("exclude")
    if raw is None:
        return ""
    where = ""
    for item in dict.fromkeys(raw.split(",")):
        if item not in ("replies", "retweets"):
            raise invalid(
                f"The `exclude` query parameter value [{item[:40]}] is not one of "
                "[replies, retweets]",
                parameter="exclude",
                value=item[:40],
            )
        where += " AND reply_to IS NULL" if item == "replies" else " AND repost_of IS NULL"
    return where


def add_unknown_route(app: FastAPI) -> None:
    """Any other `/2/...` path or method: X's 404 problem, as `application/problem+json`."""

    async def unknown(request: Request) -> Response:
        error = not_found()
        return JSONResponse(error.body(), status_code=404, media_type=PROBLEM_JSON)

    app.add_api_route(
        "/2/{rest:path}",
        unknown,
        methods=["GET", "POST", "PUT", "DELETE", "PATCH"],
        include_in_schema=False,
    )
