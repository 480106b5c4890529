"""Likes and reposts by accounts through the API (X API v2, spec 2.167): POST
/2/users/:id/likes and /retweets with `{"tweet_id"}`, DELETE /2/users/:id/likes/:tweet_id and
/retweets/:source_tweet_id. Only the authenticated account may act as itself. They count in the
post's public metrics and lists of likers and reposters (reactions.py); a repost is also a post
of its own, in the reposter's timeline and everywhere posts are read (reposts.py). As on X,
liking or reposting a repost acts on the post it reposts."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request

from vibeforge.sandbox import reposts
from vibeforge.sandbox.limits import Principal
from vibeforge.sandbox.problems import forbidden, invalid, not_found
from vibeforge.sandbox.xhttp import Ctx, Handler, body_json, parse_id, reject_unknown, route


def add_action_routes(app: FastAPI, ctx: Ctx) -> None:
    world = ctx.world

    def add(path: str, method: str, endpoint: str, handler: Handler) -> None:
        app.add_api_route(
            path,
            route(ctx, endpoint, handler, roles=("user",), params=frozenset()),
            methods=[method],
            include_in_schema=False,
        )

    def acting(request: Request, p: Principal) -> int:
        uid = parse_id(request.path_params["id"], "id")
        if uid != p.user_id:
            raise forbidden(
                "You are not permitted to perform this action on behalf of another user."
            )
        return uid

    def source(post_id: int) -> int:
        """The post an id names: a repost's id names the post it reposts, as on X."""
        found = reposts.source_of(world.store, post_id)
        return post_id if found is None else found[1]

    def target(post_id: int) -> int:
        post_id = source(post_id)
        row = world.store.one(
            "SELECT 1 FROM posts WHERE id = ? AND deleted = 0 AND created_ms <= ?",
            (post_id, world.now_ms()),
        )
        if row is None:
            raise not_found(f"Could not find tweet with id: [{post_id}].")
        return post_id

    async def tweet_id(request: Request) -> int:
        data = body_json(await request.body())
        reject_unknown(data, {"tweet_id"})
        value = data.get("tweet_id")
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise invalid("`tweet_id` must be a post id", parameter="tweet_id", value=value)
        return parse_id(str(value), "tweet_id")

    def act(kind: str, key: str, undo: bool) -> Handler:
        async def handler(request: Request, p: Principal) -> tuple[int, Any]:
            uid = acting(request, p)
            if undo:
                pid = source(parse_id(request.path_params["tweet_id"], "tweet_id"))
                ctx.reactions.remove(user_id=uid, post_id=pid, kind=kind)
                return 200, {"data": {key: False}}
            pid = target(await tweet_id(request))
            ctx.reactions.add(user_id=uid, post_id=pid, kind=kind)
            data: dict[str, Any] = {key: True}
            if kind == "repost":
                data["rest_id"] = str(pid)
            return 200, {"data": data}

        return handler

    add("/2/users/{id}/likes", "POST", "POST /2/users/:id/likes", act("like", "liked", False))
    add(
        "/2/users/{id}/likes/{tweet_id}",
        "DELETE",
        "DELETE /2/users/:id/likes/:tweet_id",
        act("like", "liked", True),
    )
    add(
        "/2/users/{id}/retweets",
        "POST",
        "POST /2/users/:id/retweets",
        act("repost", "retweeted", False),
    )
    add(
        "/2/users/{id}/retweets/{tweet_id}",
        "DELETE",
        "DELETE /2/users/:id/retweets/:source_tweet_id",
        act("repost", "retweeted", True),
    )
