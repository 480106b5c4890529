"""The call and cost ledger: what each bot spent on API calls today, and daily budgets.

X prices reads and writes per resource (pay-per-use, 2026). Defaults below are X's published
prices; every figure is configurable. Bluesky is free: its lines (kinds `bsky_read`,
`bsky_write`) cost nothing and count items read and rate-limit points spent. A call is checked
against the budgets before it is sent (with its largest possible cost) and recorded after (with
its actual cost). Persistence is the caller's: pass `on_record` to write entries to the store,
and `initial` to load today's totals after a restart, so a budget survives a crash.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from vibeforge.domain import ApiCall
from vibeforge.platforms.base import BudgetExceeded

GLOBAL = "*"  # the ledger key for calls not made on behalf of a bot (shared timeline polls)


@dataclass(frozen=True, slots=True, kw_only=True)
class Prices:
    post_read: float = 0.005  # USD per post returned
    user_read: float = 0.010  # USD per user returned
    post_create: float = 0.015  # USD per post created
    post_create_with_url: float = 0.20  # USD per post created that contains a URL
    # X's price list has no line for uploading media (the post that carries it is priced);
    # kept as a kind so uploads are counted, and priced if X ever prices them
    media_upload: float = 0.0  # USD per image uploaded (POST /2/media/upload)
    media_metadata: float = 0.005  # USD per request ("Media Metadata": alt text)
    # Bluesky charges nothing; its ledger lines count what its rate limits count instead:
    bsky_read: float = 0.0  # USD per record or account read (units: items returned)
    bsky_write: float = 0.0  # USD per rate-limit point (units: create 3, update 2, delete 1)

    def __post_init__(self) -> None:
        for name in (
            "post_read",
            "user_read",
            "post_create",
            "post_create_with_url",
            "media_upload",
            "media_metadata",
            "bsky_read",
            "bsky_write",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"price {name} ({getattr(self, name)}) must be >= 0")

    def cost(self, kind: str, units: int) -> float:
        try:
            return float(getattr(self, kind)) * units
        except AttributeError:
            raise ValueError(f"unknown call kind {kind!r}") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class Budgets:
    per_bot_usd: float | None = None  # daily, per bot; None = unlimited
    total_usd: float | None = None  # daily, all bots together

    def __post_init__(self) -> None:
        for name in ("per_bot_usd", "total_usd"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"budget {name} ({value}) must be >= 0 or None (unlimited)")


class CallLedger:
    """Thread-safe per-day, per-bot counts and costs, with budgets checked before each call."""

    def __init__(
        self,
        *,
        prices: Prices | None = None,
        budgets: Budgets | None = None,
        initial: Iterable[ApiCall] = (),
        on_record: Callable[[ApiCall], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.prices = prices or Prices()
        self.budgets = budgets or Budgets()
        self._on_record = on_record
        self._clock = clock
        self._lock = threading.Lock()
        self._spent: dict[tuple[date, str], float] = defaultdict(float)
        self._entries: list[ApiCall] = []
        for entry in initial:
            self._spent[(entry.day, entry.bot)] += entry.cost_usd

    def _today(self) -> date:
        return self._clock().astimezone(UTC).date()

    def spent(self, *, bot: str | None = None, day: date | None = None) -> float:
        day = day or self._today()
        with self._lock:
            if bot is not None:
                return self._spent[(day, bot)]
            return sum(v for (d, _), v in self._spent.items() if d == day)

    def check(self, *, bot: str, kind: str, units: int) -> None:
        """Raise BudgetExceeded if a call costing up to `units` would break a budget."""
        cost = self.prices.cost(kind, units)
        day = self._today()
        per_bot, total = self.budgets.per_bot_usd, self.budgets.total_usd
        if per_bot is not None and bot != GLOBAL:
            spent = self.spent(bot=bot, day=day)
            if spent + cost > per_bot + 1e-12:
                raise BudgetExceeded(
                    f"bot {bot!r} would spend ${spent + cost:.3f} today on API calls, over its "
                    f"daily budget of ${per_bot:.2f}; raise budgets.per_bot_usd or wait until "
                    "tomorrow (UTC)"
                )
        if total is not None:
            spent = self.spent(day=day)
            if spent + cost > total + 1e-12:
                raise BudgetExceeded(
                    f"all bots would spend ${spent + cost:.3f} today on API calls, over the "
                    f"daily budget of ${total:.2f}; raise budgets.total_usd or wait until tomorrow"
                )

    def record(self, *, bot: str, kind: str, units: int, endpoint: str) -> ApiCall:
        entry = ApiCall(
            day=self._today(),
            bot=bot,
            kind=kind,
            endpoint=endpoint,
            calls=1,
            units=units,
            cost_usd=self.prices.cost(kind, units),
        )
        with self._lock:
            self._spent[(entry.day, bot)] += entry.cost_usd
            self._entries.append(entry)
        if self._on_record is not None:
            self._on_record(entry)
        return entry

    def entries(self) -> list[ApiCall]:
        with self._lock:
            return list(self._entries)
