"""Platform time: a simulated clock that runs `speed` times faster than the wall and can jump.

Platform time is what `created_at`, ids and engagement ages are measured in. `speed=0` freezes
it (tests advance it by hand); the admin route `POST /admin/clock/advance` jumps it forward.
It never goes backwards, across restarts and crashes too: the store keeps the clock's anchor
(platform ms at a wall-clock epoch, and the speed), so a restart after a SIGKILL resumes at
least where the clock had run to, not at the last time a post was written.
"""

from __future__ import annotations

import math
import threading
import time
from datetime import UTC, datetime
from typing import Any

MAX_MS = 253_402_214_400_000  # 9999-12-31T00:00:00Z: the clock stops short of datetime's end
MAX_SPEED = 1_000_000.0  # platform seconds per wall second (a day in under 0.1 s)
MAX_JUMP_S = 100 * 365 * 86_400.0  # the longest single jump: a century


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


def _check_speed(speed: float) -> None:
    if not (math.isfinite(speed) and 0 <= speed <= MAX_SPEED):
        raise ValueError(
            f"speed ({speed}) must be a number in [0, {MAX_SPEED:g}]; use 0 to freeze the clock"
        )


class SimClock:
    """Milliseconds of platform time: `start_ms + speed * wall_elapsed + jumps`."""

    def __init__(self, *, start_ms: int, speed: float = 1.0) -> None:
        _check_speed(speed)
        self._lock = threading.Lock()
        self._base_ms = start_ms
        self._wall0 = time.monotonic()
        self._epoch0 = time.time()
        self.speed = speed

    def _now(self) -> int:
        ran = int(self.speed * (time.monotonic() - self._wall0) * 1000)
        return min(MAX_MS, self._base_ms + ran)

    def now_ms(self) -> int:
        with self._lock:
            return self._now()

    def advance(self, seconds: float) -> int:
        if not (math.isfinite(seconds) and 0 <= seconds <= MAX_JUMP_S):
            raise ValueError(
                f"cannot move the clock by {seconds} s; pass seconds in [0, {MAX_JUMP_S:g}]"
            )
        with self._lock:
            if self._now() + int(seconds * 1000) > MAX_MS:
                raise ValueError("that jump passes the year 9999; the clock cannot go there")
            self._base_ms += int(seconds * 1000)
        return self.now_ms()

    def set_speed(self, speed: float) -> None:
        _check_speed(speed)
        with self._lock:
            now = self._now()
            self._base_ms, self._wall0, self._epoch0, self.speed = (
                now,
                time.monotonic(),
                time.time(),
                speed,
            )

    def anchor(self) -> dict[str, Any]:
        """What a restart needs to resume no earlier than now: see `resume_ms`."""
        with self._lock:
            return {"ms": self._base_ms, "epoch": self._epoch0, "speed": self.speed}


def resume_ms(saved_ms: int, anchor: dict[str, Any] | None) -> int:
    """Where a clock restarts: the later of the saved time and where the anchored clock ran to.

    The anchor is written whenever the clock is (re)based, so after a crash the clock resumes
    where it would be now had it kept running; no time it handed out lies ahead of that.
    """
    if not anchor:
        return saved_ms
    elapsed = max(0.0, time.time() - float(anchor["epoch"]))
    ran_to = int(anchor["ms"]) + int(float(anchor["speed"]) * elapsed * 1000)
    return min(MAX_MS, max(saved_ms, ran_to))
