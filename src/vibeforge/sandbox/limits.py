"""Authentication and per-account rate limits, as X does them.

Tokens: per-account user tokens shaped `<user_id>-<secret>` (sent as an OAuth 2.0 bearer, or as
`oauth_token` in an OAuth 1.0a header, whose signature the sandbox does not check), one app
token (reads only; posting answers 403) and one admin token (admin routes only).

Limits: a fixed window per (principal, endpoint), X's published 15-minute numbers by default.
Windows run on wall-clock time, not platform time, because clients (tweepy's
`wait_on_rate_limit`) sleep until `x-rate-limit-reset` by their own clock.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field

from vibeforge.sandbox.problems import unauthorized
from vibeforge.sandbox.store import SandboxStore

# endpoint -> (per user, per app) requests per window (X API v2, 15-minute windows)
PUBLISHED_LIMITS: dict[str, tuple[int, int]] = {
    "POST /2/tweets": (100, 0),
    "DELETE /2/tweets/:id": (50, 0),
    "GET /2/tweets": (900, 450),
    "GET /2/tweets/:id": (900, 450),
    "GET /2/users/by/username/:username": (900, 300),
    "GET /2/users/me": (75, 0),
    "GET /2/users/:id": (900, 300),
    "GET /2/users/:id/tweets": (900, 1500),
    "GET /2/users/:id/timelines/reverse_chronological": (180, 0),
    "GET /2/lists/:id/tweets": (900, 900),
    "GET /2/lists/:id/members": (900, 900),
    "GET /2/users": (900, 300),
    "GET /2/users/by": (900, 300),
    "GET /2/tweets/:id/liking_users": (75, 75),
    "GET /2/tweets/:id/retweeted_by": (75, 75),
    "GET /2/tweets/:id/quote_tweets": (75, 75),
    "GET /2/tweets/search/recent": (180, 450),
    "GET /2/users/:id/mentions": (180, 450),
    "GET /2/users/:id/followers": (15, 15),
    "GET /2/users/:id/following": (15, 15),
    "GET /2/users/:id/liked_tweets": (75, 75),
    "POST /2/users/:id/likes": (50, 0),
    "DELETE /2/users/:id/likes/:tweet_id": (50, 0),
    "POST /2/users/:id/retweets": (50, 0),
    "DELETE /2/users/:id/retweets/:source_tweet_id": (50, 0),
    "POST /2/media/upload": (500, 0),
    "POST /2/media/metadata": (500, 0),
}


@dataclass(frozen=True, kw_only=True)
class RateLimits:
    window_s: float = 900.0  # X's 15 minutes
    # endpoint -> (per user, per app); missing endpoints use PUBLISHED_LIMITS
    overrides: dict[str, tuple[int, int]] = field(default_factory=dict)
    scale: float = 1.0  # multiply every limit (e.g. 1000 for load tests)

    def __post_init__(self) -> None:
        if self.window_s <= 0:
            raise ValueError(f"window_s ({self.window_s}) must be > 0; X uses 900")
        if self.scale <= 0:
            raise ValueError(f"scale ({self.scale}) must be > 0; 1 keeps X's numbers")
        unknown = set(self.overrides) - set(PUBLISHED_LIMITS)
        if unknown:
            raise ValueError(f"unknown endpoints {sorted(unknown)}; use keys of PUBLISHED_LIMITS")

    def limit(self, endpoint: str, *, app: bool) -> int:
        user, app_limit = self.overrides.get(endpoint, PUBLISHED_LIMITS[endpoint])
        return max(1, int((app_limit if app else user) * self.scale))


@dataclass(frozen=True, slots=True)
class Principal:
    role: str  # user | app | admin
    user_id: int | None


@dataclass(slots=True)
class Window:
    start: float
    used: int


class RateLimiter:
    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self._windows: dict[tuple[str, str], Window] = {}
        self._lock = threading.Lock()

    def hit(self, principal: Principal, endpoint: str) -> tuple[bool, dict[str, str]]:
        """Count one request; returns (allowed, x-rate-limit-* headers)."""
        app = principal.role == "app"
        limit = self.limits.limit(endpoint, app=app)
        key = (f"{principal.role}:{principal.user_id}", endpoint)
        now = time.time()
        with self._lock:
            window = self._windows.get(key)
            if window is None or now >= window.start + self.limits.window_s:
                window = self._windows[key] = Window(start=now, used=0)
            allowed = window.used < limit
            if allowed:
                window.used += 1
            remaining = max(0, limit - window.used)
            reset = int(window.start + self.limits.window_s + 0.999)
        return allowed, {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(remaining),
            "x-rate-limit-reset": str(reset),
        }


_OAUTH1_TOKEN = re.compile(r'oauth_token="([^"]+)"')


class Authenticator:
    def __init__(self, store: SandboxStore) -> None:
        self.store = store
        self._cache: dict[str, Principal] = {}

    def principal(self, authorization: str | None) -> Principal:
        if not authorization:
            raise unauthorized()
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer":
            token = value.strip()
        elif scheme.lower() == "oauth":
            match = _OAUTH1_TOKEN.search(value)
            token = match.group(1) if match else ""
        else:
            raise unauthorized()
        if token in self._cache:
            return self._cache[token]
        row = self.store.one("SELECT role, user_id FROM tokens WHERE token = ?", (token,))
        if row is None:
            raise unauthorized()
        principal = Principal(role=row[0], user_id=row[1])
        self._cache[token] = principal
        return principal

    def forget(self) -> None:
        self._cache.clear()
