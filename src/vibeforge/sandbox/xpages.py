"""Answers that list posts or users: the SQL window of a timeline (`since_id`, `until_id`,
`start_time`, `end_time`, `pagination_token`), newest first, and the body X gives a page of
them (`data`, `includes`, `meta` with `result_count`, `newest_id`, `oldest_id`, `next_token`,
partial `errors`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request

from vibeforge.sandbox.engine import X_POST_COLUMNS, PostRow, post_row
from vibeforge.sandbox.limits import Principal
from vibeforge.sandbox.problems import resource_missing
from vibeforge.sandbox.reactions import member_of
from vibeforge.sandbox.render import includes, render_posts, render_users
from vibeforge.sandbox.vocab import Ask, ask
from vibeforge.sandbox.xhttp import (
    MAX_ID,
    Ctx,
    decode_token,
    encode_token,
    max_results,
    parse_id,
    parse_time,
)

_BATCH = 500  # posts read at a time when a page is filtered in Python


def window(query: Any) -> tuple[list[str], list[Any]]:
    """SQL conditions (and their arguments) for the time window and page a request names."""
    sql: list[str] = []
    params: list[Any] = []
    for name, op in (("since_id", ">"), ("until_id", "<")):
        if query.get(name) is not None:
            sql.append(f"AND id {op} ?")
            params.append(parse_id(query.get(name), name))
    for name, op in (("start_time", ">="), ("end_time", "<")):
        if query.get(name) is not None:
            sql.append(f"AND created_ms {op} ?")
            params.append(parse_time(query[name], name))
    if query.get("pagination_token") is not None:
        sql.append("AND id < ?")
        params.append(decode_token(query["pagination_token"]))
    return sql, params


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
    keep: Callable[[list[PostRow]], list[PostRow]] | None = None,
) -> dict[str, Any]:
    """A page of the visible, undeleted posts matching `where` (and, when given, kept by
    `keep`, which filters a batch), newest first. Reposts are posts here, as on X (column
    `repost_of`; `where` leaves them out with `repost_of IS NULL`)."""
    q = request.query_params
    n = max_results(q, lo=lo, hi=hi, default=default)
    wanted = ask(q, returns="posts")
    more_sql, more_params = window(q)
    cond = " ".join([f"deleted = 0 AND created_ms <= ? AND {where}", *more_sql])
    params: list[Any] = [ctx.world.now_ms(), *args, *more_params]
    if keep is None:
        rows = _newest(ctx, cond, params, before=MAX_ID, limit=n + 1)
        return posts_body(ctx, principal, rows[:n], ask=wanted, more=len(rows) > n)
    # filtered in Python: read on in batches until a page (and one more) is kept
    kept: list[PostRow] = []
    before = MAX_ID  # no id reaches it (X ids are below 2**63 - 1)
    while len(kept) <= n:
        batch = _newest(ctx, cond, params, before=before, limit=_BATCH)
        kept += keep(batch)
        if len(batch) < _BATCH:
            break
        before = batch[-1].id
    return posts_body(ctx, principal, kept[:n], ask=wanted, more=len(kept) > n)


def _newest(ctx: Ctx, cond: str, params: list[Any], *, before: int, limit: int) -> list[PostRow]:
    """The `limit` newest posts and reposts below id `before` that meet `cond`.

    Each kind is read apart, newest first from its own index (`x_originals`,
    `x_repost_posts`), and the two merged: SQLite pushes no `IN (subquery)` condition (a
    List's members, a home's followees) into a compound view such as `x_posts`, which would
    scan every post for each page."""
    originals, reposts = (
        f"SELECT {X_POST_COLUMNS} FROM {view} WHERE {cond} AND id < ? ORDER BY id DESC LIMIT ?"
        for view in ("x_originals", "x_repost_posts")
    )
    sql = (
        f"SELECT * FROM ({originals}) UNION ALL SELECT * FROM ({reposts}) ORDER BY id DESC LIMIT ?"
    )
    each = [*params, before, limit]
    return [post_row(r) for r in ctx.world.store.all(sql, [*each, *each, limit])]


def posts_body(
    ctx: Ctx,
    principal: Principal,
    rows: list[PostRow],
    *,
    ask: Ask,
    more: bool,
    errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The body of a page of posts (newest first); `more`: a `next_token` after the last."""
    errors = [] if errors is None else errors
    body: dict[str, Any] = {}
    if rows:
        body["data"] = render_posts(
            ctx.world,
            rows,
            ask=ask,
            viewer=principal.user_id,
            errors=errors,
            reactions=ctx.reactions,
        )
        extra = includes(
            ctx.world,
            rows,
            ask=ask,
            viewer=principal.user_id,
            errors=errors,
            reactions=ctx.reactions,
        )
        if extra:
            body["includes"] = extra
    meta: dict[str, Any] = {"result_count": len(rows)}
    if rows:
        meta["newest_id"], meta["oldest_id"] = str(rows[0].id), str(rows[-1].id)
    if more and rows:
        meta["next_token"] = encode_token(rows[-1].id)
    body["meta"] = meta
    if errors:
        body["errors"] = errors
    return body


def lookup_posts(
    ctx: Ctx, request: Request, principal: Principal, ids: list[int]
) -> dict[str, Any]:
    """Posts (reposts too) by id in the order asked; unknown, deleted or future ones as
    partial errors."""
    wanted = ask(request.query_params, returns="posts")
    marks = ",".join("?" * len(ids))
    rows = ctx.world.store.all(
        f"SELECT {X_POST_COLUMNS} FROM x_posts WHERE id IN ({marks}) AND "
        "deleted = 0 AND created_ms <= ?",
        [*ids, ctx.world.now_ms()],
    )
    by_id = {r[0]: post_row(r) for r in rows}
    found = [by_id[i] for i in dict.fromkeys(ids) if i in by_id]
    errors = [resource_missing("tweet", str(i)) for i in dict.fromkeys(ids) if i not in by_id]
    body: dict[str, Any] = {}
    if found:
        body["data"] = render_posts(
            ctx.world,
            found,
            ask=wanted,
            viewer=principal.user_id,
            errors=errors,
            reactions=ctx.reactions,
        )
        extra = includes(
            ctx.world,
            found,
            ask=wanted,
            viewer=principal.user_id,
            errors=errors,
            reactions=ctx.reactions,
        )
        if extra:
            body["includes"] = extra
    if errors:
        body["errors"] = errors
    return body


def users_body(
    ctx: Ctx, user_ids: list[int], *, ask: Ask, next_token: str | None
) -> dict[str, Any]:
    """The body of a page of users (`data`, `meta.result_count`, `meta.next_token`)."""
    body: dict[str, Any] = {}
    users = render_users(ctx.world, user_ids, ask=ask, reactions=ctx.reactions)
    if users:
        body["data"] = users
    meta: dict[str, Any] = {"result_count": len(users)}
    if next_token is not None and users:
        meta["next_token"] = next_token
    body["meta"] = meta
    return body


def known_user(ctx: Ctx, user_id: int) -> bool:
    """An account of the world, or one of its audience members."""
    member = member_of(user_id)
    if member is not None:
        audience = ctx.world.audience
        return audience is not None and member < audience.activity.shape[0]
    return ctx.world.store.one("SELECT 1 FROM users WHERE id = ?", (user_id,)) is not None
