"""The dashboard token: who may change state, and how a browser proves it without CSRF risk.

Reading is open (the server binds to loopback by default). Every POST/PUT/PATCH/DELETE needs
the token, either as `Authorization: Bearer <token>` (scripts) or as the session cookie that
`POST /login` sets after checking the token (browsers). Cookie-authenticated form posts must
also carry the CSRF field (an HMAC of the token, rendered into each form), and a cross-origin
`Origin` header is refused; the cookie is HttpOnly and SameSite=Strict. Nothing here ever
renders the token itself.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import parse_qs

from fastapi import HTTPException, Request

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
COOKIE = "vibeforge_session"
CSRF_FIELD = "csrf"
OPEN_POSTS = frozenset({"/login"})  # checks the token itself


def new_token() -> str:
    """A random dashboard token for a run without a configured one."""
    return secrets.token_urlsafe(24)


class TokenAuth:
    """Derives the session cookie and CSRF values from the token; compares in constant time."""

    def __init__(self, token: str) -> None:
        if len(token) < 8:
            raise ValueError(
                "the dashboard token must be at least 8 characters; "
                "set VIBEFORGE_DASHBOARD_TOKEN to a longer random string"
            )
        self._token = token.encode("utf-8")
        self.session_value = self._derive("session")
        self.csrf_value = self._derive("csrf")

    def _derive(self, purpose: str) -> str:
        return hmac.new(self._token, purpose.encode(), hashlib.sha256).hexdigest()

    def token_ok(self, candidate: str | None) -> bool:
        return candidate is not None and hmac.compare_digest(candidate.encode("utf-8"), self._token)

    def bearer_ok(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        return scheme.lower() == "bearer" and self.token_ok(value.strip())

    def session_ok(self, request: Request) -> bool:
        cookie = request.cookies.get(COOKIE)
        return cookie is not None and hmac.compare_digest(cookie, self.session_value)

    def csrf_ok(self, value: str | None) -> bool:
        return value is not None and hmac.compare_digest(value, self.csrf_value)


def same_origin(request: Request) -> bool:
    """False when the browser says the request came from another origin (or hides it)."""
    if request.headers.get("sec-fetch-site", "same-origin") not in {"same-origin", "none"}:
        return False
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin in {f"http://{host}", f"https://{host}"}


async def form_fields(request: Request) -> dict[str, str]:
    """A url-encoded form body as a dict of first values (no multipart needed here)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind != "application/x-www-form-urlencoded":
        return {}
    body = (await request.body()).decode("utf-8", errors="replace")
    return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}


async def require_write(request: Request) -> str:
    """Dependency of every state-changing route; returns "bearer" or "session".

    The middleware has already turned away requests with neither credential (401); this adds
    the CSRF and origin checks that a cookie needs.
    """
    auth: TokenAuth = request.app.state.auth
    if auth.bearer_ok(request):
        return "bearer"
    if not auth.session_ok(request):
        raise HTTPException(401, "the dashboard token is required", {"WWW-Authenticate": "Bearer"})
    if not same_origin(request):
        raise HTTPException(403, "cross-origin form posts are refused")
    fields = await form_fields(request)
    if not auth.csrf_ok(fields.get(CSRF_FIELD) or request.headers.get("x-csrf-token")):
        raise HTTPException(403, "missing or wrong CSRF field; reload the page and try again")
    return "session"


def safe_next(target: str | None) -> str:
    """A local path to go back to after login (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
