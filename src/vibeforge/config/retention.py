"""How much old state to keep on disk: vibeforge.yaml's `retention:` section.

    retention:
      adapters:
        keep_last: 5          # the newest readable versions of each bot
        keep_daily_days: 30   # the newest version of each UTC day, for the last 30 days (0: none)
        prune_after_save: true   # the loop prunes a bot's adapters after each version it saves

Versions a publication or an elder's dataset names are always kept (models.retention has the
rules). It lives on the ground floor, beside `Settings`, so a bad value fails when settings load,
naming the field and the fix; built directly it raises pydantic's `ValidationError`.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True, config=ConfigDict(extra="forbid"))
class AdapterRetention:
    keep_last: int = Field(default=5, ge=1)  # >= 1: the newest good version always stays
    keep_daily_days: int = Field(default=30, ge=0)  # days with one version kept each (0: none)
    prune_after_save: bool = True  # the loop prunes after saving a version (vibeforge run)


@dataclass(frozen=True, slots=True, kw_only=True, config=ConfigDict(extra="forbid"))
class RetentionConfig:
    adapters: AdapterRetention = Field(default_factory=AdapterRetention)
