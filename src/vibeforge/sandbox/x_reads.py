"""The read side analytics need (X API v2, spec 2.167): who liked and who reposted a post, its
quote posts, recent search, mentions, followers and following, and what an account liked.

Likers and reposters are the audience members behind the post's counts (reactions.py) and the
accounts that liked or reposted it through the API, newest first, as many as the counts shown.
Followers are the members and accounts that follow an account; a member follows the humans its
world gave it. Lists of users page by a cursor (`pagination_token`) that stays valid as new
reactions arrive.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from fastapi import FastAPI, Request

from vibeforge.sandbox.engine import POST_COLUMNS, PostRow, post_row
from vibeforge.sandbox.limits import Principal
from vibeforge.sandbox.media import posts_with_media
from vibeforge.sandbox.problems import invalid, resource_missing
from vibeforge.sandbox.reactions import Reaction, member_of, member_user_id, order_key
from vibeforge.sandbox.search import doc, parse
from vibeforge.sandbox.vocab import PAGING, POST_OBJECT_PARAMS, USER_OBJECT_PARAMS, WINDOW, ask
from vibeforge.sandbox.world import DAY_MS
from vibeforge.sandbox.xhttp import (
    Ctx,
    Handler,
    decode_token,
    encode_token,
    max_results,
    parse_id,
    parse_time,
    route,
)
from vibeforge.sandbox.xpages import known_user, posts_body, posts_page, users_body

RECENT_DAYS = 7  # recent search covers the last seven days
_CURSOR = re.compile(r"([0-9a-z]{1,13})\.([0-9a-z]{1,13})")


def cursor_token(r: Reaction) -> str:
    return f"{encode_token(r.at_ms)}.{encode_token(r.user_id)}"


def parse_cursor(token: str) -> tuple[int, int]:
    match = _CURSOR.fullmatch(token)
    if match is None:
        raise invalid(
            f"The `pagination_token` query parameter value [{token[:40]}] is not valid",
            parameter="pagination_token",
            value=token[:40],
        )
    return decode_token(match.group(1)), decode_token(match.group(2))


def reaction_page(
    items: list[Reaction], query: Any, *, n: int
) -> tuple[list[Reaction], str | None]:
    """A page of newest-first reactions from the cursor on, and the cursor of the next."""
    token = query.get("pagination_token")
    if token is not None:
        at, uid = parse_cursor(token)
        last = order_key(Reaction(uid, at))
        items = [r for r in items if order_key(r) <= last]
    page = items[:n]
    return page, cursor_token(items[n]) if len(items) > n else None


def add_read_routes(app: FastAPI, ctx: Ctx) -> None:
    world = ctx.world

    def add(path: str, endpoint: str, handler: Handler, **kw: Any) -> None:
        app.add_api_route(
            path, route(ctx, endpoint, handler, **kw), methods=["GET"], include_in_schema=False
        )

    def visible_post(request: Request) -> tuple[int, bool]:
        pid = parse_id(request.path_params["id"], "id")
        row = world.store.one(
            "SELECT 1 FROM posts WHERE id = ? AND deleted = 0 AND created_ms <= ?",
            (pid, world.now_ms()),
        )
        return pid, row is not None

    def engaged(kind: str) -> Handler:
        async def handler(request: Request, p: Principal) -> tuple[int, Any]:
            q = request.query_params
            n = max_results(q, lo=1, hi=100, default=100)
            wanted = ask(q, returns="users")
            pid, found = visible_post(request)
            if not found:
                return 200, {
                    "errors": [resource_missing("tweet", str(pid))],
                    "meta": {"result_count": 0},
                }
            page, after = reaction_page(ctx.reactions.everyone(pid, kind), q, n=n)
            return 200, users_body(ctx, [r.user_id for r in page], ask=wanted, next_token=after)

        return handler

    async def quotes(request: Request, p: Principal) -> tuple[int, Any]:
        pid, found = visible_post(request)
        if not found:
            return 200, {
                "errors": [resource_missing("tweet", str(pid))],
                "meta": {"result_count": 0},
            }
        where = "quote_of = ?"
        raw = request.query_params.get("exclude")
        for item in [] if raw is None else raw.split(","):
            if item not in ("replies", "retweets"):
                raise invalid(
                    f"The `exclude` query parameter value [{item[:40]}] is not one of "
                    "[replies, retweets]",
                    parameter="exclude",
                    value=item[:40],
                )
            if item == "replies":
                where += " AND reply_to IS NULL"
        return 200, posts_page(ctx, request, p, where=where, args=(pid,), lo=10, hi=100, default=10)

    def usernames(ids: set[int]) -> dict[int, str]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = world.store.all(f"SELECT id, username FROM users WHERE id IN ({marks})", list(ids))
        return {int(r[0]): str(r[1]) for r in rows}

    def parents_of(rows: list[PostRow]) -> dict[int, int]:
        """{replied-to or reposted post: its author} of a batch of posts."""
        wanted = [i for r in rows for i in (r.reply_to, r.repost_of) if i]
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        found = world.store.all(f"SELECT id, author_id FROM posts WHERE id IN ({marks})", wanted)
        return {int(r[0]): int(r[1]) for r in found}

    async def search(request: Request, p: Principal) -> tuple[int, Any]:
        q = request.query_params
        raw = q.get("query")
        if raw is None:
            raise invalid("The `query` query parameter is missing", parameter="query", value="")
        query = parse(raw)
        for a, b in (("start_time", "since_id"), ("end_time", "until_id")):
            if a in q and b in q:
                raise invalid(f"At most one of `{a}`, `{b}` may be provided", parameter=a)
        if "next_token" in q and "pagination_token" in q:
            raise invalid(
                "At most one of `pagination_token`, `next_token` may be provided",
                parameter="next_token",
            )
        sort = q.get("sort_order")
        if sort is not None and sort not in ("recency", "relevancy"):
            raise invalid(
                f"The `sort_order` query parameter value [{sort[:40]}] is not one of "
                "[recency, relevancy]",
                parameter="sort_order",
                value=sort[:40],
            )
        earliest = world.now_ms() - RECENT_DAYS * DAY_MS
        if "start_time" in q and parse_time(q["start_time"], "start_time") < earliest:
            raise invalid(
                f"Invalid 'start_time':'{q['start_time'][:40]}'. 'start_time' must be on or "
                f"after the last {RECENT_DAYS} days",
                parameter="start_time",
                value=q["start_time"][:40],
            )
        where, args = "created_ms >= ?", list[Any]([earliest])
        if query.authors is not None:
            ids = world.store.all(
                f"SELECT id FROM users WHERE username IN ({','.join('?' * len(query.authors))})",
                sorted(query.authors),
            )
            where += f" AND author_id IN ({','.join('?' * len(ids)) or 'NULL'})"
            args += [int(r[0]) for r in ids]
        for word in sorted(query.words):
            if word.isascii():  # SQLite's LIKE folds the case of ASCII letters only
                where += " AND text LIKE ? ESCAPE '\\'"
                args.append(
                    "%" + word.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "%"
                )

        def keep(rows: list[PostRow]) -> list[PostRow]:
            parents = parents_of(rows)
            names = usernames({r.author_id for r in rows} | set(parents.values()))
            pictured = posts_with_media(world.store, [r.id for r in rows]) if query.media else set()
            out = []
            for r in rows:
                parent = parents.get(r.reply_to) if r.reply_to else None
                source = parents.get(r.repost_of) if r.repost_of else None
                d = doc(
                    text=r.text,
                    author=names.get(r.author_id, ""),
                    reply_to_author=names.get(parent) if parent is not None else None,
                    reply_to=r.reply_to,
                    quote_of=r.quote_of,
                    post_id=r.id,
                    media=r.id in pictured,
                    repost_of=r.repost_of,
                    repost_of_author=names.get(source) if source is not None else None,
                )
                if query.match(d):
                    out.append(r)
            return out

        return 200, search_page(request, p, where=where, args=tuple(args), keep=keep)

    def search_page(
        request: Request, p: Principal, *, where: str, args: tuple[Any, ...], keep: Any
    ) -> dict[str, Any]:
        # next_token is the spec's other name for pagination_token here
        q = request.query_params
        if "next_token" in q:
            nt = q["next_token"]
            decode_token(nt)  # checked like a pagination token
            where += " AND id < ?"
            args = (*args, int(nt, 36))
        return posts_page(
            ctx, request, p, where=where, args=args, lo=10, hi=100, default=10, keep=keep
        )

    async def mentions(request: Request, p: Principal) -> tuple[int, Any]:
        uid = parse_id(request.path_params["id"], "id")
        if not known_user(ctx, uid):
            return 200, {
                "errors": [resource_missing("user", str(uid))],
                "meta": {"result_count": 0},
            }
        name = usernames({uid}).get(uid)
        if name is None:  # an audience member: nobody mentions them
            return 200, {"meta": {"result_count": 0}}
        pattern = re.compile(rf"(?<!\w)@{re.escape(name)}(?!\w)", re.IGNORECASE)

        def keep(rows: list[PostRow]) -> list[PostRow]:
            return [r for r in rows if pattern.search(r.text)]

        return 200, posts_page(
            ctx,
            request,
            p,
            where="text LIKE ?",
            args=(f"%@{name}%",),
            lo=5,
            hi=100,
            default=10,
            keep=keep,
        )

    def follow_page(request: Request, ids: list[int]) -> dict[str, Any]:
        q = request.query_params
        n = max_results(q, lo=1, hi=1000, default=100)
        wanted = ask(q, returns="users")
        token = q.get("pagination_token")
        start = decode_token(token) if token is not None else 0
        ids = sorted(i for i in ids if i >= start)
        after = encode_token(ids[n]) if len(ids) > n else None
        return users_body(ctx, ids[:n], ask=wanted, next_token=after)

    async def followers(request: Request, p: Principal) -> tuple[int, Any]:
        uid = parse_id(request.path_params["id"], "id")
        if not known_user(ctx, uid):
            return 200, {
                "errors": [resource_missing("user", str(uid))],
                "meta": {"result_count": 0},
            }
        if member_of(uid) is not None:
            return 200, follow_page(request, [])
        members = (
            np.flatnonzero(world.followers_mask(uid)).tolist() if world.audience is not None else []
        )
        accounts = world.store.all("SELECT follower_id FROM follows WHERE followee_id = ?", (uid,))
        ids = [member_user_id(int(m)) for m in members] + [int(r[0]) for r in accounts]
        return 200, follow_page(request, ids)

    async def following(request: Request, p: Principal) -> tuple[int, Any]:
        uid = parse_id(request.path_params["id"], "id")
        if not known_user(ctx, uid):
            return 200, {
                "errors": [resource_missing("user", str(uid))],
                "meta": {"result_count": 0},
            }
        member = member_of(uid)
        rows = (
            world.store.all("SELECT user_id FROM member_follows WHERE member = ?", (member,))
            if member is not None
            else world.store.all("SELECT followee_id FROM follows WHERE follower_id = ?", (uid,))
        )
        return 200, follow_page(request, [int(r[0]) for r in rows])

    async def liked_posts(request: Request, p: Principal) -> tuple[int, Any]:
        uid = parse_id(request.path_params["id"], "id")
        if not known_user(ctx, uid):
            return 200, {
                "errors": [resource_missing("user", str(uid))],
                "meta": {"result_count": 0},
            }
        q = request.query_params
        n = max_results(q, lo=5, hi=100, default=100)
        wanted = ask(q, returns="posts")
        liked = ctx.reactions.liked_by(uid, now_ms=world.now_ms())
        live = {
            int(r[0])
            for r in world.store.all(
                f"SELECT id FROM posts WHERE deleted = 0 AND id IN "
                f"({','.join('?' * len(liked)) or 'NULL'})",
                [r.user_id for r in liked],
            )
        }
        page, after = reaction_page([r for r in liked if r.user_id in live], q, n=n)
        rows = {
            int(r[0]): post_row(r)
            for r in world.store.all(
                f"SELECT {POST_COLUMNS} FROM posts WHERE id IN "
                f"({','.join('?' * len(page)) or 'NULL'})",
                [r.user_id for r in page],
            )
        }
        body = posts_body(ctx, p, [rows[r.user_id] for r in page], ask=wanted, more=False)
        body["meta"].pop("newest_id", None)
        body["meta"].pop("oldest_id", None)
        if after is not None:
            body["meta"]["next_token"] = after
        return 200, body

    users = USER_OBJECT_PARAMS | PAGING
    posts = POST_OBJECT_PARAMS
    add(
        "/2/tweets/{id}/liking_users",
        "GET /2/tweets/:id/liking_users",
        engaged("like"),
        roles=("user",),
        params=users,
    )
    add(
        "/2/tweets/{id}/retweeted_by",
        "GET /2/tweets/:id/retweeted_by",
        engaged("repost"),
        params=users,
    )
    add(
        "/2/tweets/{id}/quote_tweets",
        "GET /2/tweets/:id/quote_tweets",
        quotes,
        params=posts | PAGING | {"exclude"},
    )
    add(
        "/2/tweets/search/recent",
        "GET /2/tweets/search/recent",
        search,
        params=posts | PAGING | WINDOW | {"query", "next_token", "sort_order"},
    )
    add(
        "/2/users/{id}/mentions",
        "GET /2/users/:id/mentions",
        mentions,
        params=posts | PAGING | WINDOW,
    )
    add("/2/users/{id}/followers", "GET /2/users/:id/followers", followers, params=users)
    add("/2/users/{id}/following", "GET /2/users/:id/following", following, params=users)
    add(
        "/2/users/{id}/liked_tweets",
        "GET /2/users/:id/liked_tweets",
        liked_posts,
        roles=("user",),
        params=posts | PAGING,
    )
