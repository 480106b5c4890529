"""Versioned adapters on disk: one folder per bot, one sub-folder per version.

    <root>/<bot>/v0003/adapter_model.safetensors   PEFT's tensor names (loads with PEFT too)
                       adapter_config.json         PEFT's LoRA config
                       vibeforge.json              bot, version, parent, kind, training window,
                                                   metrics (loss curve ...), sha256 of the tensors

A version is written into a temporary folder and renamed into place, so a crash leaves either
the whole version or nothing. Loading checks the sha256 and the tensor shapes; a corrupt or
missing version raises AdapterCorruptError, and `load_good` falls back to the newest good one.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vibeforge.atomic import version_folder, version_numbers, write_version
from vibeforge.config import check_name
from vibeforge.domain import AdapterVersion
from vibeforge.errors import NotFoundError, VibeforgeError
from vibeforge.models.base import sha256_file
from vibeforge.models.lora import LoraSpec, LoraWeights

log = logging.getLogger(__name__)
TENSORS = "adapter_model.safetensors"
CONFIG = "adapter_config.json"
META = "vibeforge.json"


class AdapterCorruptError(VibeforgeError):
    """An adapter version on disk is missing files or does not match its checksum."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadedAdapter:
    version: AdapterVersion
    weights: LoraWeights
    skipped: tuple[str, ...] = field(default=())  # why newer versions were passed over


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
    ) -> AdapterVersion:
        """Write a new version atomically (temp folder + rename); returns its record."""
        from safetensors.torch import save_file

        def fill(tmp: Path) -> str:
            save_file(weights.to_peft_state_dict(), str(tmp / TENSORS), metadata={"format": "pt"})
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
