"""The HTTP plumbing of the sandbox's X face (shared with the admin routes): authentication,
role, rate limit and query-parameter checks in that order, rate-limit headers on every answer,
errors as `application/problem+json` in X's shapes, and the parsers of ids, times, page sizes
and pagination tokens."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from vibeforge.sandbox.clock import parse_iso
from vibeforge.sandbox.engine import World
from vibeforge.sandbox.limits import Authenticator, Principal, RateLimiter
from vibeforge.sandbox.media import BASE_URL
from vibeforge.sandbox.problems import (
    PROBLEM_JSON,
    ApiError,
    app_only_forbidden,
    forbidden,
    invalid,
    too_many_requests,
)
from vibeforge.sandbox.reactions import Reactions
from vibeforge.sandbox.vocab import check_params

log = logging.getLogger(__name__)
Handler = Callable[[Request, Principal], Awaitable[tuple[int, Any]]]


class Ctx:
    """What every route needs: the world, the authenticator, the limiter, who reacted."""

    def __init__(self, world: World, auth: Authenticator, limiter: RateLimiter) -> None:
        self.world, self.auth, self.limiter = world, auth, limiter
        self.reactions = Reactions(world)


def route(
    ctx: Ctx,
    endpoint: str | None,
    handler: Handler,
    *,
    roles: tuple[str, ...] = ("user", "app", "admin"),
    params: frozenset[str] | None = None,
) -> Callable[[Request], Awaitable[Response]]:
    """The ASGI endpoint of `handler`; `params` (when given) are the query parameters the
    operation takes: any other, a repeated one or an empty value is a 400."""

    async def run(request: Request) -> Response:
        headers: dict[str, str] = {}
        BASE_URL.set(str(request.base_url))  # media `url`s point back at this server
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
            if params is not None:
                check_params(request.query_params, params)
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
        media = PROBLEM_JSON if status >= 400 else "application/json"
        return JSONResponse(body, status_code=status, headers=headers, media_type=media)

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


def reject_unknown(given: dict[str, Any], allowed: set[str] | frozenset[str]) -> None:
    """X's 400 for a request body field the endpoint does not take (the first, by name)."""
    unknown = sorted(set(given) - allowed)
    if unknown:
        name = unknown[0][:40]
        raise invalid(
            f"Unknown field in the request body: [{name}]",
            parameter=name,
            value=str(given[unknown[0]])[:40],
        )
