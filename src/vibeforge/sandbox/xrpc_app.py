"""The XRPC face's `app.bsky` reads: profiles (one, or up to 25 at a time), author feeds, the home
timeline, list feeds, the niches' feed generators, posts by URI, likers, reposters and quotes,
lists.

Feeds are newest first; their cursor is the base-36 id of the last post shown. A sandbox list is
an `app.bsky.graph.list` of the `sandbox.test` account whose record key is the TID of its id; a
niche's feed generator is `at://<sandbox.test's DID>/app.bsky.feed.generator/<niche>` (listed by
`app.bsky.feed.getActorFeeds`), and serves every post of the niche's accounts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request

from vibeforge.sandbox.atids import GENERATOR, LIST, at_uri, parse_at_uri, tid, tid_value
from vibeforge.sandbox.engine import POST_COLUMNS, post_row
from vibeforge.sandbox.world import SYSTEM_USER_ID
from vibeforge.sandbox.xrpc import (
    Caller,
    Handler,
    XrpcCtx,
    bad,
    limit_param,
    offset_cursor,
    param,
    xrpc_adder,
)
from vibeforge.sandbox.xrpc_views import member_profile

MAX_URIS = 25  # app.bsky.feed.getPosts
MAX_ACTORS = 25  # app.bsky.actor.getProfiles
# the lexicon's at-identifier: a DID or a handle (a domain name)
_AT_IDENTIFIER = re.compile(
    r"did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]"
    r"|([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
)


def _post_cursor(request: Request) -> int | None:
    raw = request.query_params.get("cursor")
    if not raw:
        return None
    try:
        value = int(raw, 36)
    except ValueError:
        raise bad("Malformed cursor") from None
    if not raw.isascii() or not 0 < value < 1 << 63:
        raise bad("Malformed cursor")
    return value


def _base36(n: int) -> str:
    digits, out = "0123456789abcdefghijklmnopqrstuvwxyz", ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


def add_app_routes(app: FastAPI, ctx: XrpcCtx) -> None:
    """The app.bsky reads."""
    world, views, ids = ctx.world, ctx.views, ctx.ids
    add = xrpc_adder(app, ctx)

    def blob_base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def feed(request: Request, where: str, args: tuple[Any, ...]) -> dict[str, Any]:
        limit = limit_param(request)
        cursor = _post_cursor(request)
        sql = f"SELECT {POST_COLUMNS} FROM posts WHERE deleted = 0 AND created_ms <= ? AND {where}"
        params: list[Any] = [world.now_ms(), *args]
        if cursor is not None:
            sql += " AND id < ?"
            params.append(cursor)
        rows = [
            post_row(r)
            for r in world.store.all(f"{sql} ORDER BY id DESC LIMIT ?", [*params, limit + 1])
        ]
        more, rows = len(rows) > limit, rows[:limit]
        body: dict[str, Any] = {
            "feed": [{"post": v} for v in views.post_views(rows, blob_base=blob_base(request))]
        }
        if more:
            body["cursor"] = _base36(rows[-1].id)
        return body

    def actor(request: Request) -> Any:
        person = ids.resolve(param(request, "actor"))
        if person is None:
            raise bad("Profile not found")
        return person

    async def get_profile(request: Request, caller: Caller) -> tuple[int, Any]:
        return 200, views.profile(actor(request), detailed=True)

    async def get_profiles(request: Request, caller: Caller) -> tuple[int, Any]:
        # as the AppView: detailed views (follower counts) in the order asked, and actors it
        # does not know left out rather than refused
        actors = request.query_params.getlist("actors")
        if not actors:
            raise bad('Error: Params must have the property "actors"')
        if len(actors) > MAX_ACTORS:
            raise bad(f"Error: actors must not have more than {MAX_ACTORS} elements")
        for i, name in enumerate(actors):
            if len(name) > 2048 or not _AT_IDENTIFIER.fullmatch(name):
                raise bad(f"Error: actors/{i} must be a valid did or a handle")
        found = {p.uid: p for p in map(ids.resolve, actors) if p is not None}
        return 200, {"profiles": [views.profile(p, detailed=True) for p in found.values()]}

    async def author_feed(request: Request, caller: Caller) -> tuple[int, Any]:
        person = actor(request)
        kind = request.query_params.get("filter") or "posts_with_replies"
        if kind not in ("posts_with_replies", "posts_no_replies", "posts_and_author_threads"):
            raise bad(f"Invalid filter: {kind}")
        where = "author_id = ?" + (" AND reply_to IS NULL" if kind == "posts_no_replies" else "")
        return 200, feed(request, where, (person.uid,))

    async def timeline(request: Request, caller: Caller) -> tuple[int, Any]:
        me = caller.require()
        return 200, feed(
            request,
            "(author_id = ? OR author_id IN "
            "(SELECT followee_id FROM follows WHERE follower_id = ?))",
            (me.uid, me.uid),
        )

    def list_id(request: Request) -> tuple[int, str, int]:
        uri = param(request, "list")
        parsed = parse_at_uri(uri)
        value = tid_value(parsed.rkey) if parsed and parsed.collection == LIST else None
        owner = ids.resolve(parsed.authority) if parsed else None
        row = (
            world.store.one("SELECT id, name, owner_id FROM lists WHERE id = ?", (value,))
            if value is not None
            else None
        )
        if row is None or owner is None or owner.uid != row[2]:
            raise bad(f"List not found: {uri}")
        return row[0], row[1], row[2]

    async def list_feed(request: Request, caller: Caller) -> tuple[int, Any]:
        lid, _, _ = list_id(request)
        return 200, feed(
            request, "author_id IN (SELECT user_id FROM list_members WHERE list_id = ?)", (lid,)
        )

    def niche_of(request: Request) -> str:
        uri = param(request, "feed")
        parsed = parse_at_uri(uri)
        owner = ids.resolve(parsed.authority) if parsed else None
        niche = parsed.rkey.replace("-", "_") if parsed else ""
        if (
            parsed is None
            or parsed.collection != GENERATOR
            or owner is None
            or owner.uid != SYSTEM_USER_ID
            or niche not in world.spec.niches
        ):
            raise bad(f"could not find feed: {uri}", "UnknownFeed")
        return niche

    async def get_feed(request: Request, caller: Caller) -> tuple[int, Any]:
        niche = niche_of(request)
        return 200, feed(request, "author_id IN (SELECT id FROM users WHERE niche = ?)", (niche,))

    async def actor_feeds(request: Request, caller: Caller) -> tuple[int, Any]:
        person = actor(request)
        gens = (
            [views.generator_view(i, n, SYSTEM_USER_ID) for i, n in enumerate(world.spec.niches)]
            if person.uid == SYSTEM_USER_ID
            else []
        )
        return 200, {"feeds": gens}

    async def get_posts(request: Request, caller: Caller) -> tuple[int, Any]:
        uris = request.query_params.getlist("uris")
        if not uris:
            raise bad('Error: Params must have the property "uris"')
        if len(uris) > MAX_URIS:
            raise bad(f"Error: uris must not have more than {MAX_URIS} elements")
        rows = [r for r in (views.find_post(u) for u in dict.fromkeys(uris)) if r is not None]
        return 200, {"posts": views.post_views(rows, blob_base=blob_base(request))}

    def engagement(kind: str, key: str, shape: Callable[[Any, int, int, Any], Any]) -> Handler:
        async def handler(request: Request, caller: Caller) -> tuple[int, Any]:
            uri = param(request, "uri")
            limit, start = limit_param(request), offset_cursor(request)
            row = views.find_post(uri)
            members = views.engagers(row, kind) if row is not None else []
            page = members[start : start + limit]
            body: dict[str, Any] = {
                "uri": uri,
                key: [
                    shape(row, m, len(members) - 1 - (start + i), len(members))
                    for i, m in enumerate(page)
                ],
            }
            if start + limit < len(members):
                body["cursor"] = str(start + limit)
            return 200, body

        return handler

    def like(row: Any, member: int, index: int, count: int) -> dict[str, Any]:
        when = views.engaged_at(row, index, count)
        return {"actor": member_profile(member), "createdAt": when, "indexedAt": when}

    def reposter(row: Any, member: int, index: int, count: int) -> dict[str, Any]:
        return member_profile(member)

    async def get_quotes(request: Request, caller: Caller) -> tuple[int, Any]:
        uri = param(request, "uri")
        row = views.find_post(uri)
        if row is None:
            return 200, {"uri": uri, "posts": []}
        body = feed(request, "quote_of = ?", (row.id,))
        out: dict[str, Any] = {"uri": uri, "posts": [item["post"] for item in body["feed"]]}
        if "cursor" in body:
            out["cursor"] = body["cursor"]
        return 200, out

    def list_count(lid: int) -> int:
        return world.store.count("SELECT COUNT(*) FROM list_members WHERE list_id = ?", (lid,))

    async def get_list(request: Request, caller: Caller) -> tuple[int, Any]:
        lid, name, owner = list_id(request)
        limit = limit_param(request)
        start = offset_cursor(request)
        rows = world.store.all(
            "SELECT user_id FROM list_members WHERE list_id = ? AND user_id >= ? "
            "ORDER BY user_id LIMIT ?",
            (lid, start, limit + 1),
        )
        members = [r[0] for r in rows]
        view = views.list_view(lid, name, owner, list_count(lid))
        creator = view["creator"]["did"]
        body: dict[str, Any] = {
            "list": view,
            "items": [
                {
                    "uri": at_uri(
                        creator, "app.bsky.graph.listitem", tid(lid << 24 | uid % (1 << 24))
                    ),
                    "subject": views.profile_of(uid),
                }
                for uid in members[:limit]
            ],
        }
        if len(members) > limit:
            body["cursor"] = str(members[limit])
        return 200, body

    async def get_lists(request: Request, caller: Caller) -> tuple[int, Any]:
        person = actor(request)
        limit = limit_param(request)
        rows = world.store.all(
            "SELECT id, name FROM lists WHERE owner_id = ? ORDER BY id LIMIT ?",
            (person.uid, limit),
        )
        return 200, {
            "lists": [views.list_view(r[0], r[1], person.uid, list_count(r[0])) for r in rows]
        }

    add("app.bsky.actor.getProfile", "GET", get_profile)
    add("app.bsky.actor.getProfiles", "GET", get_profiles)
    add("app.bsky.feed.getAuthorFeed", "GET", author_feed)
    add("app.bsky.feed.getTimeline", "GET", timeline, auth="access")
    add("app.bsky.feed.getListFeed", "GET", list_feed)
    add("app.bsky.feed.getFeed", "GET", get_feed)
    add("app.bsky.feed.getActorFeeds", "GET", actor_feeds)
    add("app.bsky.feed.getPosts", "GET", get_posts)
    add("app.bsky.feed.getLikes", "GET", engagement("like", "likes", like))
    add("app.bsky.feed.getRepostedBy", "GET", engagement("repost", "repostedBy", reposter))
    add("app.bsky.feed.getQuotes", "GET", get_quotes)
    add("app.bsky.graph.getList", "GET", get_list)
    add("app.bsky.graph.getLists", "GET", get_lists)
