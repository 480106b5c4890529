"""Versioned adapters on disk: one folder per bot, one sub-folder per version.

    <root>/<bot>/v0003/adapter_model.safetensors   PEFT's tensor names (loads with PEFT too)
                       adapter_config.json         PEFT's LoRA config
                       vibeforge.json              bot, version, parent, kind, training window,
                                                   metrics (loss curve ...), sha256 of the tensors

The tensors are saved in the precision the caller asks for (the adapter bank: float16) and load
back in the precision they were saved in, bit for bit.

A version is written into a temporary folder and renamed into place, so a crash leaves either
the whole version or nothing. Loading checks the sha256 and the tensor shapes; a corrupt or
missing version raises AdapterCorruptError, and `load_good` falls back to the newest good one.

`prune` deletes the versions models.retention does not keep (a version is first renamed out of
sight, `.del-v0003-<random>`, then removed, so a reader never sees half a version), and the
leftovers of interrupted writes and deletes (`.tmp-*` older than an hour, `.del-*`).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vibeforge.atomic import fsync_dir, version_folder, version_numbers, write_version
from vibeforge.config import check_name
from vibeforge.config.retention import AdapterRetention
from vibeforge.domain import AdapterVersion
from vibeforge.errors import NotFoundError, VibeforgeError
from vibeforge.models.base import sha256_file
from vibeforge.models.lora import LoraSpec, LoraWeights
from vibeforge.models.retention import Verdict, VersionState, plan_retention

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)
TENSORS = "adapter_model.safetensors"
CONFIG = "adapter_config.json"
META = "vibeforge.json"
STALE_WRITE_S = 3600.0  # a `.tmp-*` folder this old is a write that died (a save takes seconds)


class AdapterCorruptError(VibeforgeError):
    """An adapter version on disk is missing files or does not match its checksum."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadedAdapter:
    version: AdapterVersion
    weights: LoraWeights
    skipped: tuple[str, ...] = field(default=())  # why newer versions were passed over


@dataclass(frozen=True, slots=True, kw_only=True)
class PruneReport:
    """What `AdapterStore.prune` kept and removed (or, in a dry run, would remove)."""

    bot: str
    kept: tuple[Verdict, ...]
    removed: tuple[Verdict, ...]
    leftovers: tuple[str, ...] = ()  # folders of interrupted writes or deletes, removed too
    bytes_freed: int = 0
    dry_run: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "bot": self.bot,
            "dry_run": self.dry_run,
            "kept": [v.as_json() for v in self.kept],
            "removed": [v.as_json() for v in self.removed],
            "leftovers": list(self.leftovers),
            "bytes_freed": self.bytes_freed,
        }


class AdapterStore:
    """Versioned LoRA adapters under one root folder (the loop passes $VIBEFORGE_HOME/adapters)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def bots(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            p.name for p in self.root.iterdir() if p.is_dir() and self.version_numbers(p.name)
        )

    def version_numbers(self, bot: str) -> list[int]:
        """Every version folder of `bot`, oldest first (good or not)."""
        return version_numbers(self.root / check_name(bot, what="bot"))

    def path(self, bot: str, version: int) -> Path:
        return version_folder(self.root / check_name(bot, what="bot"), version)

    def save(
        self,
        bot: str,
        weights: LoraWeights,
        *,
        kind: str = "sft",
        parent: int | None = None,
        window_start: datetime | None = None,
        window_end: datetime | None = None,
        metrics: dict[str, Any] | None = None,
        base_model: str | None = None,
        dtype: torch.dtype | None = None,
    ) -> AdapterVersion:
        """Write a new version atomically (temp folder + rename); returns its record.

        `dtype` is the precision on disk (default the tensors' own; the bank saves float16,
        half the bytes of float32). Values that `dtype` cannot hold (beyond float16's ±65504)
        raise ValueError before anything is written."""
        from safetensors.torch import save_file

        state = weights.to_peft_state_dict(dtype)
        bad = next((k for k, t in state.items() if not bool(t.isfinite().all())), None)
        if bad is not None:
            raise ValueError(
                f"adapter {bot}: {bad} has values that are not finite in {state[bad].dtype} "
                "(save it in float32: adapter_precision: float32)"
            )

        def fill(tmp: Path) -> str:
            save_file(state, str(tmp / TENSORS), metadata={"format": "pt"})
            (tmp / CONFIG).write_text(
                json.dumps(weights.spec.peft_config(base_model=base_model), indent=2)
            )
            return sha256_file(tmp / TENSORS)

        created = datetime.now(UTC)

        def seal(tmp: Path, version: int, digest: str) -> AdapterVersion:
            record = AdapterVersion(
                bot=bot,
                version=version,
                path=str(self.path(bot, version)),
                sha256=digest,
                kind=kind,
                parent=parent,
                window_start=window_start,
                window_end=window_end,
                metrics=dict(metrics or {}),
                created_at=created,
            )
            (tmp / META).write_text(json.dumps(_to_json(record, base_model), indent=2))
            return record

        return write_version(self.root / check_name(bot, what="bot"), fill=fill, seal=seal)

    def record(self, bot: str, version: int) -> AdapterVersion:
        """The metadata of one version (no checksum check)."""
        meta = self.path(bot, version) / META
        try:
            data = json.loads(meta.read_text())
            return _from_json(data, path=self.path(bot, version))
        except FileNotFoundError:
            if not self.path(bot, version).exists():
                raise NotFoundError(f"adapter {bot} v{version} does not exist") from None
            raise AdapterCorruptError(f"adapter {bot} v{version}: {META} is missing") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise AdapterCorruptError(
                f"adapter {bot} v{version}: {META} is unreadable ({exc})"
            ) from None

    def versions(self, bot: str) -> list[AdapterVersion]:
        """Records of every readable version, oldest first."""
        out = []
        for v in self.version_numbers(bot):
            try:
                out.append(self.record(bot, v))
            except AdapterCorruptError as exc:
                log.warning("%s", exc)
        return out

    def load(self, bot: str, version: int | None = None) -> LoadedAdapter:
        """One version (default: the newest), verified; raises AdapterCorruptError."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        if version is None:
            numbers = self.version_numbers(bot)
            if not numbers:
                raise NotFoundError(
                    f"bot {bot!r} has no adapter yet under {self.root}; train it first"
                )
            version = numbers[-1]
        record = self.record(bot, version)
        folder = self.path(bot, version)
        tensors = folder / TENSORS
        where = f"adapter {bot} v{version}"
        if not tensors.exists():
            raise AdapterCorruptError(f"{where}: {TENSORS} is missing")
        if sha256_file(tensors) != record.sha256:
            raise AdapterCorruptError(
                f"{where}: {tensors} does not match its sha256 (corrupt file)"
            )
        try:
            spec = LoraSpec.from_peft_config(json.loads((folder / CONFIG).read_text()))
            weights = LoraWeights.from_peft_state_dict(load_file(str(tensors)), spec=spec)
        except (OSError, ValueError, KeyError, SafetensorError) as exc:
            raise AdapterCorruptError(f"{where}: cannot read ({exc})") from None
        return LoadedAdapter(version=record, weights=weights)

    def load_good(self, bot: str) -> LoadedAdapter:
        """The newest version that loads cleanly; newer broken ones are logged and skipped."""
        skipped: list[str] = []
        for version in reversed(self.version_numbers(bot)):
            try:
                loaded = self.load(bot, version)
            except AdapterCorruptError as exc:
                log.warning("%s; falling back to an older version", exc)
                skipped.append(str(exc))
                continue
            return LoadedAdapter(
                version=loaded.version, weights=loaded.weights, skipped=tuple(skipped)
            )
        if skipped:
            raise AdapterCorruptError(f"bot {bot!r}: no usable adapter version ({skipped[-1]})")
        raise NotFoundError(f"bot {bot!r} has no adapter yet under {self.root}; train it first")

    # ------------------------------------------------------------------ retention

    def states(self, bot: str) -> list[VersionState]:
        """Every version folder of `bot`, oldest first, as retention sees it: from the newest
        down, each is loaded as `load_good` loads it until one is good; older ones are checked
        for readable metadata and their files only (their checksums are not read)."""
        out: list[VersionState] = []
        good_found = False
        for version in reversed(self.version_numbers(bot)):
            folder = self.path(bot, version)
            created: datetime | None = None
            broken: str | None = None
            try:
                if not good_found:
                    created = self.load(bot, version).version.created_at
                    good_found = True
                else:
                    created = self.record(bot, version).created_at
                    missing = [n for n in (TENSORS, CONFIG) if not (folder / n).is_file()]
                    if missing:
                        broken = f"adapter {bot} v{version}: {', '.join(missing)} missing"
            except AdapterCorruptError as exc:
                broken = str(exc)
            except NotFoundError:  # deleted meanwhile
                continue
            out.append(
                VersionState(
                    version=version, created_at=created, broken=broken, size_bytes=_size(folder)
                )
            )
        return out[::-1]

    def prune(
        self,
        bot: str,
        *,
        policy: AdapterRetention,
        references: Mapping[int, Iterable[str]] | None = None,
        now: datetime | None = None,
        dry_run: bool = False,
    ) -> PruneReport:
        """Delete the versions of `bot` that `plan_retention` does not keep, and the leftovers
        of interrupted writes; `references`: version -> why a publication or an elder needs it.
        With `dry_run` nothing is deleted and the report says what would be."""
        folder = self.root / check_name(bot, what="bot")
        states = self.states(bot)
        verdicts = plan_retention(
            states, policy=policy, now=now or datetime.now(UTC), references=references
        )
        protected = {states[-1].version} if states else set()
        protected |= {max((s.version for s in states if s.broken is None), default=0)}
        removed = tuple(v for v in verdicts if not v.keep and v.version not in protected)
        kept = tuple(v for v in verdicts if v not in removed)
        leftovers = _leftovers(folder)
        freed = sum(v.size_bytes for v in removed) + sum(size for _, size in leftovers)
        if not dry_run:
            for v in removed:
                if not _remove(self.path(bot, v.version)):
                    freed -= v.size_bytes
            for path, _ in leftovers:
                shutil.rmtree(path, ignore_errors=True)
            if removed:
                log.info(
                    "bot %s: pruned adapter versions %s (%d bytes)",
                    bot,
                    ", ".join(f"v{v.version}" for v in removed),
                    freed,
                )
        return PruneReport(
            bot=bot,
            kept=kept,
            removed=removed,
            leftovers=tuple(p.name for p, _ in leftovers),
            bytes_freed=freed,
            dry_run=dry_run,
        )


def _size(path: Path) -> int:
    total = 0
    for p in path.rglob("*"):
        try:
            if p.is_file():
                total += p.stat().st_size
        except OSError:
            continue
    return total


def _remove(folder: Path) -> bool:
    """Rename a version out of sight (one atomic step), then delete it; False if already gone."""
    trash = folder.with_name(f".del-{folder.name}-{secrets.token_hex(4)}")
    try:
        os.rename(folder, trash)
    except FileNotFoundError:
        return False
    fsync_dir(folder.parent)
    shutil.rmtree(trash, ignore_errors=True)
    return True


def _leftovers(folder: Path) -> list[tuple[Path, int]]:
    """Folders of deletes that died (`.del-*`) and of writes that died (`.tmp-*`, when stale)."""
    if not folder.is_dir():
        return []
    cutoff = time.time() - STALE_WRITE_S
    out = []
    for p in sorted(folder.iterdir()):
        try:
            stale = p.name.startswith(".del-") or (
                p.name.startswith(".tmp-") and p.stat().st_mtime < cutoff
            )
        except OSError:
            continue
        if stale and p.is_dir():
            out.append((p, _size(p)))
    return out


def _to_json(record: AdapterVersion, base_model: str | None) -> dict[str, Any]:
    def iso(d: datetime | None) -> str | None:
        return d.isoformat() if d else None

    return {
        "bot": record.bot,
        "version": record.version,
        "kind": record.kind,
        "parent": record.parent,
        "sha256": record.sha256,
        "window_start": iso(record.window_start),
        "window_end": iso(record.window_end),
        "metrics": record.metrics,
        "created_at": iso(record.created_at),
        "base_model": base_model,
    }


def _from_json(data: dict[str, Any], *, path: Path) -> AdapterVersion:
    def when(key: str) -> datetime | None:
        return datetime.fromisoformat(data[key]) if data.get(key) else None

    return AdapterVersion(
        bot=data["bot"],
        version=int(data["version"]),
        path=str(path),
        sha256=data["sha256"],
        kind=data.get("kind", "sft"),
        parent=data.get("parent"),
        window_start=when("window_start"),
        window_end=when("window_end"),
        metrics=dict(data.get("metrics") or {}),
        created_at=when("created_at"),
    )
