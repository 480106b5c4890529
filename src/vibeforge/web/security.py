"""The dashboard token: who may change state, and how a browser proves it without CSRF risk.

Reading is open (the server binds to loopback by default). Every POST/PUT/PATCH/DELETE needs
the token, either as `Authorization: Bearer <token>` (scripts) or as the session cookie that
`POST /login` sets after checking the token (browsers). Cookie-authenticated form posts must
also carry the CSRF field (an HMAC of the token, rendered into each form), and a cross-origin
`Origin` header is refused; the cookie is HttpOnly and SameSite=Strict. Nothing here ever
renders the token itself.

Wrong tokens are throttled per client address (`LoginThrottle`): after `max_failures` wrong
tokens within `window_s` (at `POST /login` or as a Bearer header), every token attempt from
that address gets 429 with `Retry-After` for a lockout that doubles with each lockout in a
row (up to `max_lockout_s`), even with the right token; a right token outside a lockout
resets the count. Behind a reverse proxy every client has the proxy's address.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
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


def bearer_attempt(request: Request) -> bool:
    """Whether the request offers a token as `Authorization: Bearer` (right or wrong)."""
    scheme, _, _ = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer"


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


@dataclass
class _Client:
    failures: deque[float]  # times of the wrong tokens since the last lockout
    lockouts: int = 0  # lockouts in a row (each doubles the next)
    locked_until: float = 0.0
    last_seen: float = 0.0


@dataclass(kw_only=True)
class LoginThrottle:
    """Wrong-token throttling per client address, on the server's monotonic clock.

    Memory is bounded: at most `max_clients` addresses are tracked, the least recently seen
    dropped first; an address quiet for `forget_s` (no wrong token, no lockout) is forgotten.
    """

    max_failures: int = 5
    window_s: float = 300.0
    lockout_s: float = 60.0  # the first lockout; each further one in a row doubles
    max_lockout_s: float = 3600.0
    forget_s: float = 3600.0
    max_clients: int = 4096
    clock: Callable[[], float] = time.monotonic
    _clients: OrderedDict[str, _Client] = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.max_failures < 1 or self.max_clients < 1:
            raise ValueError("max_failures and max_clients must be >= 1 (e.g. 5 and 4096)")
        if not 0 < self.lockout_s <= self.max_lockout_s or self.window_s <= 0:
            raise ValueError("the throttle needs window_s > 0 and 0 < lockout_s <= max_lockout_s")

    def retry_after(self, client: str) -> int | None:
        """Seconds (>= 1) until `client` may try a token again; None when it may now."""
        with self._lock:
            entry = self._live(client, self.clock())
            if entry is None:
                return None
            wait = entry.locked_until - self.clock()
            return max(1, math.ceil(wait)) if wait > 0 else None

    def failure(self, client: str) -> None:
        """A wrong token from `client`; the `max_failures`-th in the window locks it out."""
        now = self.clock()
        with self._lock:
            entry = self._live(client, now)
            if entry is None:
                entry = _Client(failures=deque(maxlen=self.max_failures))
                self._clients[client] = entry
                while len(self._clients) > self.max_clients:
                    self._clients.popitem(last=False)
            self._clients.move_to_end(client)
            entry.last_seen = now
            entry.failures.append(now)
            if (
                len(entry.failures) == self.max_failures
                and now - entry.failures[0] <= self.window_s
            ):
                backoff = self.lockout_s * 2.0 ** min(entry.lockouts, 32)
                entry.locked_until = now + min(self.max_lockout_s, backoff)
                entry.lockouts += 1
                entry.failures.clear()

    def success(self, client: str) -> None:
        """A right token from `client` outside a lockout: its count starts again."""
        with self._lock:
            entry = self._clients.get(client)
            if entry is not None and entry.locked_until <= self.clock():
                del self._clients[client]

    def tracked(self) -> int:
        with self._lock:
            return len(self._clients)

    def _live(self, client: str, now: float) -> _Client | None:
        entry = self._clients.get(client)
        if entry is not None and now - max(entry.last_seen, entry.locked_until) > self.forget_s:
            del self._clients[client]
            return None
        return entry


def lockout_message(wait: int) -> str:
    return f"too many wrong tokens from this address; try again in {wait} s"


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
