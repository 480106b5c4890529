"""The adapter bank: one resident base model, many named LoRA adapters, an LRU of residents.

`bank.generate([(bot, prompt_ids), ...])` runs every bot's rows in one mixed-adapter batch.
Adapters come from the versioned AdapterStore on demand (the newest good version, falling back
past a corrupt one); at most `capacity` stay resident, the least recently used leave first.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vibeforge.models.adapters import AdapterStore, LoadedAdapter
from vibeforge.models.generate import Generation, SamplingParams, Scores, generate, score
from vibeforge.models.lora import LoraSpec, LoraWeights, init_lora

if TYPE_CHECKING:
    from vibeforge.domain import AdapterVersion
    from vibeforge.models.base import Base

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class BankConfig:
    capacity: int = 64  # adapters kept resident at once (≈ 7 MB each for SmolLM2-135M, r=16)

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError(f"capacity ({self.capacity}) must be >= 1; 64 fits easily in RAM")


@dataclass(slots=True)
class _Resident:
    weights: LoraWeights
    version: AdapterVersion | None  # None: created in memory, not saved yet


class AdapterBank:
    """Named adapters over one base model, loaded from `store` and kept in an LRU."""

    def __init__(self, base: Base, store: AdapterStore, config: BankConfig | None = None) -> None:
        self.base = base
        self.store = store
        self.config = config or BankConfig()
        self._lru: OrderedDict[str, _Resident] = OrderedDict()
        self.loads = 0  # adapters read from disk (an LRU miss)
        self._references: dict[tuple[str, int], LoraWeights] = {}  # frozen, by (bot, version)

    def resident(self) -> list[str]:
        """Names of the resident adapters, least recently used first."""
        return list(self._lru)

    def get(self, bot: str) -> LoraWeights:
        """The bot's adapter: resident, or its newest good version loaded from disk."""
        entry = self._lru.get(bot)
        if entry is None:
            loaded: LoadedAdapter = self.store.load_good(bot)
            for reason in loaded.skipped:
                log.warning("bot %s: %s; using v%d", bot, reason, loaded.version.version)
            entry = _Resident(loaded.weights, loaded.version)
            self.loads += 1
            self._put(bot, entry)
        self._lru.move_to_end(bot)
        return entry.weights

    def version(self, bot: str) -> AdapterVersion | None:
        """The version of the resident adapter of `bot` (None if unsaved or not resident)."""
        entry = self._lru.get(bot)
        return entry.version if entry else None

    def reference_version(self, bot: str) -> AdapterVersion | None:
        """The version RL keeps `bot` close to: the newest ancestor of its resident adapter that
        RL did not write (its SFT or spawn version), following `parent`; None when the adapter
        is unsaved or its lineage has no such version (RL then stays close to the base)."""
        from vibeforge.errors import NotFoundError

        self.get(bot)
        version = self.version(bot)
        while version is not None and version.kind == "rl":
            if version.parent is None:
                return None
            try:
                version = self.store.record(bot, version.parent)
            except (NotFoundError, OSError, ValueError):
                return None
        return version

    def reference(self, bot: str) -> LoraWeights | None:
        """The frozen weights of `reference_version(bot)` (None: the base model). Read once per
        version and kept apart from the LRU; a version that cannot be read (pruned, corrupt)
        falls back to the base model with a warning."""
        from vibeforge.errors import VibeforgeError

        version = self.reference_version(bot)
        if version is None:
            return None
        key = (bot, version.version)
        if key not in self._references:
            try:
                weights = self.store.load(bot, version.version).weights
            except (VibeforgeError, OSError) as exc:
                log.warning(
                    "bot %s: RL reference v%d unreadable (%s); using the base model",
                    bot,
                    version.version,
                    exc,
                )
                return None
            for old in [k for k in self._references if k[0] == bot]:
                del self._references[old]
            self._references[key] = weights.requires_grad_(False)
        return self._references[key]

    def create(self, bot: str, *, spec: LoraSpec | None = None, seed: int = 0) -> LoraWeights:
        """A fresh adapter (it starts equal to the base model), resident but not yet saved."""
        weights = init_lora(self.base.model, spec or LoraSpec(), seed=seed)
        self._put(bot, _Resident(weights, None))
        return weights

    def get_or_create(self, bot: str, *, spec: LoraSpec | None = None) -> LoraWeights:
        from vibeforge.errors import NotFoundError

        try:
            return self.get(bot)
        except NotFoundError:
            return self.create(bot, spec=spec)

    def save(self, bot: str, weights: LoraWeights, **record: Any) -> AdapterVersion:
        """Save `weights` as the bot's next version and make it the resident one."""
        version = self.store.save(bot, weights, base_model=self.base.name, **record)
        self._put(bot, _Resident(weights, version))
        return version

    def evict(self, bot: str) -> None:
        self._lru.pop(bot, None)

    def _put(self, bot: str, entry: _Resident) -> None:
        self._lru[bot] = entry
        self._lru.move_to_end(bot)
        while len(self._lru) > self.config.capacity:
            gone, _ = self._lru.popitem(last=False)
            log.debug("adapter %s leaves the bank (capacity %d)", gone, self.config.capacity)

    def _rows(self, bots: Sequence[str | LoraWeights | None]) -> list[LoraWeights | None]:
        # resolve each distinct bot once, so a batch larger than the LRU still works
        names = [b for b in bots if isinstance(b, str)]
        distinct = {b: self.get(b) for b in dict.fromkeys(names)}
        return [distinct[b] if isinstance(b, str) else b for b in bots]

    def generate(
        self,
        requests: Sequence[tuple[str | None, Sequence[int]]],
        params: SamplingParams | None = None,
    ) -> list[Generation]:
        """One mixed batch: (bot or None for the base model, prompt ids) per row."""
        bots = [bot for bot, _ in requests]
        return generate(
            self.base,
            prompts=[p for _, p in requests],
            adapters=self._rows(bots),
            params=params,
        )

    def score(
        self,
        requests: Sequence[tuple[str | LoraWeights | None, Sequence[int], Sequence[int]]],
        *,
        temperature: float = 1.0,
    ) -> Scores:
        """Log-probs of (bot, or explicit weights, or None for the base model; prompt ids,
        completion ids) rows; autograd if enabled."""
        return score(
            self.base,
            prompts=[p for _, p, _ in requests],
            completions=[c for _, _, c in requests],
            adapters=self._rows([b for b, _, _ in requests]),
            temperature=temperature,
        )
