"""The adapter bank: one resident base model, many named LoRA adapters, paged through an LRU.

`bank.generate([(bot, prompt_ids), ...])` runs every bot's rows in mixed-adapter batches (at most
`max_batch_rows` rows each), on the base model or its bfloat16 twin (`sampling_precision`,
models.precision); `bank.score` always runs on the float32 base. Adapters come from the
versioned AdapterStore on demand (the newest good version, falling back past a corrupt one): a
page-in. At most `capacity` stay resident, the least recently used leave first, so a thousand
registered bots cost the memory of `capacity`.

Precision. Adapters are saved and kept resident in `precision` (float16 by default: 3.7 MB for a
rank-16 SmolLM2-135M adapter instead of 7.3 MB); each batch casts them to the base model's dtype.
Training needs float32: `trainable(bot)` upcasts the resident adapter in place of the resident
entry (the trainer and the bank share that object, so the next sample uses the updated weights),
`save` rounds trained weights in place to `precision` (so what stays resident is bit for bit
what is on disk, and paging a bot out and back in changes nothing), and `release(bot)` drops
the resident copy back to `precision` when the trainer lets the bot go.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vibeforge.models.adapters import AdapterStore, LoadedAdapter
from vibeforge.models.generate import Generation, SamplingParams, Scores, generate, score
from vibeforge.models.lora import LoraSpec, LoraWeights, init_lora

if TYPE_CHECKING:
    import torch

    from vibeforge.domain import AdapterVersion
    from vibeforge.models.base import Base

log = logging.getLogger(__name__)
PRECISIONS = ("float16", "bfloat16", "float32")


@dataclass(frozen=True, slots=True, kw_only=True)
class BankConfig:
    capacity: int = 64  # adapters resident at once (≈ 3.7 MB each at float16, SmolLM2-135M r=16)
    precision: str = "float16"  # adapters on disk and resident outside training (float32 trains)
    max_batch_rows: int = 64  # rows per generation batch (bounds the KV cache of a big round)
    # the base model's precision for generation (models.precision): "auto" samples in bfloat16
    # where the CPU has native bfloat16; scoring and training stay float32
    sampling_precision: str = "float32"

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError(f"capacity ({self.capacity}) must be >= 1; 64 fits easily in RAM")
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"precision {self.precision!r} is not one of {', '.join(PRECISIONS)}; "
                "float16 halves the memory and disk of float32 and trains the same"
            )
        if self.max_batch_rows < 1:
            raise ValueError(f"max_batch_rows ({self.max_batch_rows}) must be >= 1; try 64")
        from vibeforge.models.precision import resolve_sampling

        resolve_sampling(self.sampling_precision)  # an unknown name fails here

    @property
    def dtype(self) -> torch.dtype:
        import torch

        return getattr(torch, self.precision)


@dataclass(slots=True)
class _Resident:
    weights: LoraWeights
    version: AdapterVersion | None  # None: created in memory, not saved yet
    training: bool = False  # upcast for a trainer (trainable): saving keeps this object


@dataclass(frozen=True, slots=True, kw_only=True)
class PageStats:
    """What paging has cost so far."""

    resident: int  # adapters resident now
    resident_bytes: int  # their tensors' bytes
    page_ins: int  # adapters read from disk (an LRU miss)
    page_in_s: float  # time spent reading and verifying them
    evictions: int  # adapters that left the resident set

    def as_json(self) -> dict[str, Any]:
        return {
            "resident": self.resident,
            "resident_mb": round(self.resident_bytes / 2**20, 1),
            "page_ins": self.page_ins,
            "page_in_s": round(self.page_in_s, 3),
            "page_in_ms_each": round(1000 * self.page_in_s / self.page_ins, 2)
            if self.page_ins
            else None,
            "evictions": self.evictions,
        }


class AdapterBank:
    """Named adapters over one base model, loaded from `store` and kept in an LRU."""

    def __init__(self, base: Base, store: AdapterStore, config: BankConfig | None = None) -> None:
        self.base = base
        self.store = store
        self.config = config or BankConfig()
        self._lru: OrderedDict[str, _Resident] = OrderedDict()
        self.loads = 0  # adapters read from disk (an LRU miss)
        self.page_in_s = 0.0  # time those reads took
        self.evictions = 0
        # RL's frozen references by (bot, version), an LRU of the same capacity
        self._references: OrderedDict[tuple[str, int], LoraWeights] = OrderedDict()
        self._sampler: Base | None = None

    def sampler(self) -> Base:
        """The model generation runs on: the base itself, or its bfloat16 twin (built once)."""
        from vibeforge.models.precision import sampling_twin

        if self._sampler is None:
            self._sampler = sampling_twin(self.base, self.config.sampling_precision)
        return self._sampler

    def resident(self) -> list[str]:
        """Names of the resident adapters, least recently used first."""
        return list(self._lru)

    def stats(self) -> PageStats:
        return PageStats(
            resident=len(self._lru),
            resident_bytes=sum(e.weights.nbytes() for e in self._lru.values()),
            page_ins=self.loads,
            page_in_s=self.page_in_s,
            evictions=self.evictions,
        )

    def get(self, bot: str) -> LoraWeights:
        """The bot's adapter: resident, or its newest good version paged in from disk."""
        entry = self._lru.get(bot)
        if entry is None:
            t0 = time.perf_counter()
            loaded: LoadedAdapter = self.store.load_good(bot)
            for reason in loaded.skipped:
                log.warning("bot %s: %s; using v%d", bot, reason, loaded.version.version)
            entry = _Resident(loaded.weights.to(self.config.dtype), loaded.version)
            self.page_in_s += time.perf_counter() - t0
            self.loads += 1
            self._put(bot, entry)
        self._lru.move_to_end(bot)
        return entry.weights

    def trainable(self, bot: str) -> LoraWeights:
        """The bot's resident adapter in float32 for a trainer, which updates it in place: the
        bank keeps this same object resident (generation samples from the updated weights)
        until `release(bot)`."""
        import torch

        self.get(bot)
        entry = self._lru[bot]
        if entry.weights.dtype != torch.float32:
            entry.weights = entry.weights.clone(torch.float32)
        entry.training = True
        return entry.weights

    def release(self, bot: str) -> None:
        """The trainer is done with `bot`: its resident copy goes back to `precision`."""
        entry = self._lru.get(bot)
        if entry is not None and entry.training:
            entry.weights = entry.weights.clone(self.config.dtype)
            entry.training = False

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
                weights = self.store.load(bot, version.version).weights.to(self.config.dtype)
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
            while len(self._references) > self.config.capacity:
                self._references.popitem(last=False)
        self._references.move_to_end(key)
        return self._references[key]

    def create(self, bot: str, *, spec: LoraSpec | None = None, seed: int = 0) -> LoraWeights:
        """A fresh adapter (it starts equal to the base model), resident but not yet saved."""
        weights = init_lora(self.base.model, spec or LoraSpec(), seed=seed).to(self.config.dtype)
        self._put(bot, _Resident(weights, None))
        return weights

    def get_or_create(self, bot: str, *, spec: LoraSpec | None = None) -> LoraWeights:
        from vibeforge.errors import NotFoundError

        try:
            return self.get(bot)
        except NotFoundError:
            return self.create(bot, spec=spec)

    def save(self, bot: str, weights: LoraWeights, **record: Any) -> AdapterVersion:
        """Save `weights` in `precision` as the bot's next version and make it the resident one.

        `weights` are rounded in place to what was saved. A trainer's object (`trainable`)
        stays resident as it is; any other is kept resident in `precision`."""
        dtype = self.config.dtype
        version = self.store.save(bot, weights, base_model=self.base.name, dtype=dtype, **record)
        weights.round_(dtype)
        entry = self._lru.get(bot)
        if entry is not None and entry.training and entry.weights is weights:
            entry.version = version
            self._lru.move_to_end(bot)
        else:
            self._put(bot, _Resident(weights.to(dtype), version))
        return version

    def evict(self, bot: str) -> None:
        if self._lru.pop(bot, None) is not None:
            self.evictions += 1

    def _put(self, bot: str, entry: _Resident) -> None:
        self._lru[bot] = entry
        self._lru.move_to_end(bot)
        while len(self._lru) > self.config.capacity:
            gone, _ = self._lru.popitem(last=False)
            self.evictions += 1
            log.debug("adapter %s leaves the bank (capacity %d)", gone, self.config.capacity)

    def _rows(self, bots: Sequence[str | LoraWeights | None]) -> list[LoraWeights | None]:
        # resolve each distinct bot once, so a batch larger than the LRU still works
        names = [b for b in bots if isinstance(b, str)]
        distinct = {b: self.get(b) for b in dict.fromkeys(names)}
        return [distinct[b] if isinstance(b, str) else b for b in bots]

    def generate(
        self,
        requests: Sequence[tuple[str | LoraWeights | None, Sequence[int]]],
        params: SamplingParams | None = None,
    ) -> list[Generation]:
        """(bot, or explicit weights, or None for the base model; prompt ids) per row, in
        mixed batches of at most `max_batch_rows` rows (a seeded call gives each batch its own
        seed, derived from the call's)."""
        from dataclasses import replace

        params = params or SamplingParams()
        size = self.config.max_batch_rows
        out: list[Generation] = []
        for i, start in enumerate(range(0, len(requests), size)):
            part = requests[start : start + size]
            seeded = params
            if params.seed is not None and i:  # apart from any other call's seed
                seeded = replace(params, seed=params.seed + (i << 32))
            out.extend(
                generate(
                    self.sampler(),
                    prompts=[p for _, p in part],
                    adapters=self._rows([b for b, _ in part]),
                    params=seeded,
                )
            )
        return out

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
