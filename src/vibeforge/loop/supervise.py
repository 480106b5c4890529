"""Running rounds until stopped, riding out outages of the platform.

A round that fails because the platform cannot be reached (`PlatformUnavailable`: network
errors, or 5xx after the client's own bounded retries) is not an error of the loop: every step
is idempotent, so the round simply runs again after a back-off that grows exponentially (with
jitter, capped) while the outage lasts and resets after the first good round. Anything else
propagates: a bug or a bad configuration should stop the loop loudly.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass

from vibeforge.errors import StoreUnavailableError
from vibeforge.loop.cycle import RoundReport, Stopped
from vibeforge.loop.executors import Executor
from vibeforge.platforms.base import PlatformUnavailable

log = logging.getLogger(__name__)

TRANSIENT: tuple[type[Exception], ...] = (PlatformUnavailable, StoreUnavailableError)


@dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    initial_s: float = 5.0
    factor: float = 2.0
    cap_s: float = 300.0
    jitter: float = 0.2  # ± fraction of each delay, so many loops do not retry in lockstep

    def __post_init__(self) -> None:
        if self.initial_s <= 0 or self.cap_s < self.initial_s:
            raise ValueError("backoff needs 0 < initial_s <= cap_s (e.g. 5 and 300 seconds)")
        if self.factor < 1:
            raise ValueError(f"backoff factor ({self.factor}) must be >= 1; 2 doubles each time")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"backoff jitter ({self.jitter}) must be within [0, 1)")

    def delay(self, failures: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after the `failures`-th failure in a row (1-based)."""
        base = min(self.cap_s, self.initial_s * self.factor ** max(failures - 1, 0))
        r = (rng or random).uniform(-self.jitter, self.jitter)
        return min(self.cap_s, base * (1 + r))


@dataclass(slots=True)
class LoopStats:
    rounds: int = 0
    outages: int = 0  # failed rounds, in all
    stopped: str | None = None  # why the loop ended early (the kill switch)


def run_loop(
    executor: Executor,
    *,
    rounds: int = 0,
    interval_s: float = 60.0,
    stop: threading.Event | None = None,
    backoff: Backoff | None = None,
    on_round: Callable[[int, RoundReport], None] | None = None,
    on_outage: Callable[[Exception, float, int], None] | None = None,
) -> LoopStats:
    """Run `rounds` good rounds (0: until `stop` is set or the kill switch is on)."""
    stop = stop or threading.Event()
    backoff = backoff or Backoff()
    stats = LoopStats()
    failures = 0
    while not stop.is_set() and (rounds == 0 or stats.rounds < rounds):
        try:
            report = executor.run_round()
        except Stopped as exc:
            stats.stopped = str(exc)
            break
        except TRANSIENT as exc:
            failures += 1
            stats.outages += 1
            wait = backoff.delay(failures)
            log.warning("round failed (%s); retrying in %.1f s (%d in a row)", exc, wait, failures)
            if on_outage is not None:
                on_outage(exc, wait, failures)
            stop.wait(wait)
            continue
        failures = 0
        stats.rounds += 1
        if on_round is not None:
            on_round(stats.rounds, report)
        if rounds and stats.rounds >= rounds:
            break
        stop.wait(interval_s)
    return stats
