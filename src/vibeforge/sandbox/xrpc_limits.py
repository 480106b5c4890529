"""Bluesky's rate limits for the XRPC face, as its documentation states them.

- Writes to a repository cost points per account (DID): create 3, update 2, delete 1; at most
  5,000 points an hour and 35,000 a day.
- createSession: 30 per 5 minutes and 300 per day per identifier (handle).
- Everything: 3,000 requests per 5 minutes per caller (Bluesky counts per IP; the sandbox
  serves loopback, so it counts per account, or per anonymous caller).

Windows are fixed and run on wall-clock time, as the X face's do: clients sleep until
`ratelimit-reset` by their own clock. Answers carry the IETF draft headers Bluesky sends
(`ratelimit-limit`, `-remaining`, `-reset` in epoch seconds, `-policy` as `limit;w=seconds`).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

POINTS = {"create": 3, "update": 2, "delete": 1}


@dataclass(frozen=True, kw_only=True)
class XrpcLimits:
    points_per_hour: int = 5000
    points_per_day: int = 35_000
    sessions_per_5min: int = 30
    sessions_per_day: int = 300
    requests_per_5min: int = 3000

    def __post_init__(self) -> None:
        for name in (
            "points_per_hour",
            "points_per_day",
            "sessions_per_5min",
            "sessions_per_day",
            "requests_per_5min",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} ({getattr(self, name)}) must be >= 1")


@dataclass(slots=True)
class _Window:
    start: float
    used: int


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    headers: dict[str, str]


class XrpcLimiter:
    """Fixed windows keyed by (what, who, length); thread-safe."""

    def __init__(self, limits: XrpcLimits) -> None:
        self.limits = limits
        self._windows: dict[tuple[str, str, int], _Window] = {}
        self._lock = threading.Lock()

    def _take(self, checks: list[tuple[str, str, int, int]], cost: int) -> Verdict:
        """Charge `cost` to every (what, who, limit, window seconds) or to none of them; the
        headers describe the tightest window (or the one that refused)."""
        now = time.time()
        with self._lock:
            windows = []
            for what, who, limit, length in checks:
                key = (what, who, length)
                window = self._windows.get(key)
                if window is None or now >= window.start + length:
                    window = self._windows[key] = _Window(start=now, used=0)
                windows.append((window, limit, length))
            refused = [(w, lim, n) for w, lim, n in windows if w.used + cost > lim]
            if not refused:
                for w, _, _ in windows:
                    w.used += cost
            shown = refused[0] if refused else min(windows, key=lambda x: x[1] - x[0].used)
            window, limit, length = shown
            headers = {
                "ratelimit-limit": str(limit),
                "ratelimit-remaining": str(max(0, limit - window.used)),
                "ratelimit-reset": str(int(window.start + length + 0.999)),
                "ratelimit-policy": f"{limit};w={length}",
            }
        return Verdict(allowed=not refused, headers=headers)

    def request(self, who: str) -> Verdict:
        return self._take([("requests", who, self.limits.requests_per_5min, 300)], 1)

    def session(self, identifier: str) -> Verdict:
        who = identifier.lower()
        return self._take(
            [
                ("sessions", who, self.limits.sessions_per_5min, 300),
                ("sessions", who, self.limits.sessions_per_day, 86_400),
            ],
            1,
        )

    def points(self, did: str, action: str) -> Verdict:
        return self._take(
            [
                ("points", did, self.limits.points_per_hour, 3600),
                ("points", did, self.limits.points_per_day, 86_400),
            ],
            POINTS[action],
        )
