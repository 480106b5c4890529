"""Elders on disk: versioned, one folder per version, written atomically, checked on load.

    <home>/elders/<name>/v0002/elder.json                  what it is: base model, method,
                                                           subset, niches, dataset, metrics,
                                                           drift baseline, niche centroids
                              adapter_model.safetensors   LoRA (PEFT layout), or
                              model.safetensors ...       a full fine-tune (save_pretrained)
                         datasets/d0002.jsonl              its composite datasets
                         .checkpoint/state.pt              an unfinished training run

The elder's prompt (learn.prompt.elder_prompt) carries its niche tag in the system line, so one
elder learns each niche of its subset as a conditional distribution and can be asked for any of
them, or a mix.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vibeforge.atomic import version_folder, version_numbers, write_version
from vibeforge.config import check_name
from vibeforge.errors import NotFoundError, VibeforgeError
from vibeforge.models.base import sha256_file
from vibeforge.models.registry import load_model

if TYPE_CHECKING:
    from vibeforge.models.base import Base
    from vibeforge.models.lora import LoraWeights

META = "elder.json"
LORA_FILE = "adapter_model.safetensors"
FULL_FILE = "model.safetensors"


class ElderCorruptError(VibeforgeError):
    """An elder version on disk is missing files or does not match its checksum."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ElderVersion:
    name: str
    version: int
    base_model: str
    method: str  # lora | full
    path: str
    sha256: str  # of the weights file
    bots: tuple[str, ...]
    niches: tuple[str, ...]
    dataset_version: int | None = None
    dataset_sha256: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)  # drift reference (drift.Snapshot)
    niche_centroids: dict[str, list[float]] = field(default_factory=dict)
    lora: dict[str, Any] | None = None  # the LoRA spec's PEFT config
    created_at: str = ""


class ElderStore:
    """Versioned elders under one root folder (<home>/elders)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def folder(self, name: str) -> Path:
        return self.root / check_name(name, what="elder")

    def datasets(self, name: str) -> Path:
        return self.folder(name) / "datasets"

    def checkpoint(self, name: str) -> Path:
        return self.folder(name) / ".checkpoint"

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and self.versions(p.name))

    def versions(self, name: str) -> list[int]:
        return version_numbers(self.folder(name))

    def record(self, name: str, version: int | None = None) -> ElderVersion:
        versions = self.versions(name)
        if not versions:
            raise NotFoundError(f"elder {name!r} has no version under {self.root}")
        version = versions[-1] if version is None else version
        path = version_folder(self.folder(name), version) / META
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise ElderCorruptError(f"elder {name} v{version}: {META} is missing") from None
        data["bots"], data["niches"] = tuple(data["bots"]), tuple(data["niches"])
        return ElderVersion(**data)

    def save(
        self,
        name: str,
        *,
        write: Callable[[Path], str],
        **fields: Any,
    ) -> ElderVersion:
        """Write a new version: `write(folder)` stores the weights and returns their file name."""

        def fill(tmp: Path) -> str:
            return sha256_file(tmp / write(tmp))

        def seal(tmp: Path, version: int, digest: str) -> ElderVersion:
            record = ElderVersion(
                name=name,
                version=version,
                path=str(version_folder(self.folder(name), version)),
                sha256=digest,
                created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                **fields,
            )
            (tmp / META).write_text(json.dumps(asdict(record), indent=2))
            return record

        return write_version(self.folder(name), fill=fill, seal=seal)

    def save_lora(self, name: str, weights: LoraWeights, **fields: Any) -> ElderVersion:
        from safetensors.torch import save_file

        def write(folder: Path) -> str:
            save_file(weights.to_peft_state_dict(), str(folder / LORA_FILE), {"format": "pt"})
            config = weights.spec.peft_config(base_model=fields.get("base_model"))
            (folder / "adapter_config.json").write_text(json.dumps(config, indent=2))
            return LORA_FILE

        lora = weights.spec.peft_config(base_model=fields.get("base_model"))
        return self.save(name, write=write, method="lora", lora=lora, **fields)

    def save_full(self, name: str, base: Base, **fields: Any) -> ElderVersion:
        def write(folder: Path) -> str:
            base.model.save_pretrained(folder, safe_serialization=True)
            base.tokenizer.save_pretrained(folder)
            return FULL_FILE

        return self.save(name, write=write, method="full", lora=None, **fields)

    def load(
        self, name: str, version: int | None = None, *, home: Path
    ) -> tuple[ElderVersion, Base, LoraWeights | None]:
        """The elder's record, its model, and its LoRA weights (None for a full fine-tune)."""
        record = self.record(name, version)
        folder = Path(record.path)
        weights_path = folder / (LORA_FILE if record.method == "lora" else FULL_FILE)
        if not weights_path.exists() or sha256_file(weights_path) != record.sha256:
            raise ElderCorruptError(
                f"elder {name} v{record.version}: {weights_path.name} is missing or does not "
                "match its sha256; retrain with 'vibeforge distill run --force'"
            )
        if record.method == "full":  # the version folder is a transformers model folder
            return record, load_model(str(folder), home=home), None
        from safetensors.torch import load_file

        from vibeforge.models.lora import LoraSpec, LoraWeights

        assert record.lora is not None
        spec = LoraSpec.from_peft_config(record.lora)
        weights = LoraWeights.from_peft_state_dict(load_file(str(weights_path)), spec=spec)
        return record, load_model(record.base_model, home=home), weights
