"""Base models by spec: one lookup for every caller (loop, distill, spawn, CLI, bench).

    load_model(spec, *, home)       a registered name; else a packaged name, a model folder, a
                                    .gguf file or a hub id (models.base.resolve), prepared once
                                    when it comes from a GGUF and loaded
    ensure_prepared(spec, *, home)  that preparation alone (a parent process does it once)
    register_model(name, loader)    make `name` loadable: `loader(home=...)` returns a Base

Plugins add names the way simonw/llm's plugins add models: on the first lookup, every module
in the `vibeforge.models` entry-point group and every module named in `VIBEFORGE_PLUGINS`
(comma-separated) is imported and its `register_models(register)` called with `register_model`.
The tiny test models register this way (tests set `VIBEFORGE_PLUGINS=vibeforge.models.testing`),
so no production code branches on their names.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from vibeforge.models.base import (
    ModelError,
    UnknownModelError,
    list_models,
    load_base,
    prepare,
    resolve,
)

if TYPE_CHECKING:
    from vibeforge.models.base import Base, Progress

ENTRY_POINT_GROUP = "vibeforge.models"
PLUGINS_ENV = "VIBEFORGE_PLUGINS"


class ModelLoader(Protocol):
    def __call__(self, *, home: Path) -> Base: ...


Register = Callable[[str, ModelLoader], None]

_LOADERS: dict[str, tuple[ModelLoader, str]] = {}  # name -> (loader, the plugin that gave it)
_IMPORTED: set[str] = set()  # plugins already run: entry-point values and module names
_LOCK = threading.RLock()


def register_model(name: str, loader: ModelLoader, *, plugin: str = "") -> None:
    """Make `name` loadable by `load_model`; a second registration of a name replaces the first."""
    with _LOCK:
        _LOADERS[name] = (loader, plugin)


def _run_plugin(obj: Any, *, origin: str) -> None:
    hook = getattr(obj, "register_models", obj)
    if not callable(hook):
        raise ModelError(f"model plugin {origin} has no register_models(register) function")

    def register(name: str, loader: ModelLoader) -> None:
        register_model(name, loader, plugin=origin)

    hook(register)


def _load_plugins() -> None:
    """Run every plugin not run yet (cheap when none is new: lookups are once per process)."""
    with _LOCK:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.value not in _IMPORTED:
                _IMPORTED.add(ep.value)
                _run_plugin(ep.load(), origin=ep.value)
        for name in os.environ.get(PLUGINS_ENV, "").split(","):
            name = name.strip()
            if not name or name in _IMPORTED:
                continue
            try:
                module = importlib.import_module(name)
            except ImportError as exc:
                raise ModelError(
                    f"{PLUGINS_ENV} names {name!r}, which cannot be imported: {exc}"
                ) from exc
            _IMPORTED.add(name)
            _run_plugin(module, origin=name)


def registered_models() -> list[str]:
    """Names that plugins registered, sorted."""
    _load_plugins()
    return sorted(_LOADERS)


def _registered(spec: str) -> ModelLoader | None:
    _load_plugins()
    entry = _LOADERS.get(spec)
    return entry[0] if entry else None


def _unknown(exc: UnknownModelError) -> UnknownModelError:
    names = ", ".join(sorted(_LOADERS)) or f"none (plugins load from {PLUGINS_ENV})"
    return UnknownModelError(f"{exc}; registered by plugins: {names}")


def ensure_prepared(spec: str, *, home: Path) -> None:
    """Export a GGUF-sourced model once (no-op for registered names and direct loads)."""
    if _registered(spec) is not None:
        return
    try:
        needs_export = resolve(spec, home=home).export_dir is not None
    except UnknownModelError as exc:
        raise _unknown(exc) from None
    if needs_export:
        prepare(spec, home=home)


def prepare_model(
    spec: str, *, home: Path, progress: Progress | None = None, force: bool = False
) -> Path:
    """`models.base.prepare`, with registered names and the unknown-name error answered here."""
    if _registered(spec) is not None:
        raise ModelError(
            f"{spec!r} is registered by a plugin: it loads directly, nothing to prepare"
        )
    try:
        return prepare(spec, home=home, progress=progress, force=force)
    except UnknownModelError as exc:
        raise _unknown(exc) from None


def load_model(spec: str, *, home: Path) -> Base:
    """A base model by spec, ready to serve adapters (see the module docstring for the order)."""
    loader = _registered(spec)
    if loader is not None:
        return loader(home=home)
    ensure_prepared(spec, home=home)
    return load_base(spec, home=home)


def model_rows(*, home: Path) -> list[dict[str, Any]]:
    """`models.base.list_models`, plus one row per registered name (role "plugin")."""
    rows = list_models(home=home)
    _load_plugins()
    for name in sorted(_LOADERS):
        rows.append(
            {
                "name": name,
                "role": "plugin",
                "package": _LOADERS[name][1] or None,
                "installed": True,
                "prepared": True,
                "path": None,
                "sha256": None,
            }
        )
    return rows
