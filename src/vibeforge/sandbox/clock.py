"""Platform time: a simulated clock that runs `speed` times faster than the wall and can jump.

Platform time is what `created_at`, ids and engagement ages are measured in. `speed=0` freezes
it (tests advance it by hand); the admin route `POST /admin/clock/advance` jumps it forward.
It never goes backwards, across restarts too (the store keeps the last time handed out).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


def to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def iso(ms: int) -> str:
    """X's timestamp format: `2026-01-02T03:04:05.000Z`."""
    return to_datetime(ms).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_iso(value: str) -> int:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


class SimClock:
    """Milliseconds of platform time: `start_ms + speed * wall_elapsed + jumps`."""

    def __init__(self, *, start_ms: int, speed: float = 1.0) -> None:
        if speed < 0:
            raise ValueError(f"speed ({speed}) must be >= 0; use 0 to freeze the clock")
        self._lock = threading.Lock()
        self._base_ms = start_ms
        self._wall0 = time.monotonic()
        self.speed = speed

    def now_ms(self) -> int:
        with self._lock:
            return self._base_ms + int(self.speed * (time.monotonic() - self._wall0) * 1000)

    def advance(self, seconds: float) -> int:
        if seconds < 0:
            raise ValueError(f"cannot move the clock back ({seconds} s); pass seconds >= 0")
        with self._lock:
            self._base_ms += int(seconds * 1000)
        return self.now_ms()

    def set_speed(self, speed: float) -> None:
        if speed < 0:
            raise ValueError(f"speed ({speed}) must be >= 0; use 0 to freeze the clock")
        now = self.now_ms()
        with self._lock:
            self._base_ms, self._wall0, self.speed = now, time.monotonic(), speed
