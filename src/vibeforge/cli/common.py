"""Shared CLI plumbing: the per-invocation state, consoles, settings and store access."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from vibeforge.config import Settings

console = Console()
console_err = Console(stderr=True)


@dataclass
class State:
    config_path: Path | None = None
    debug: bool = False
    _settings: Settings | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        if self._settings is None:
            from vibeforge.config import load_settings
            from vibeforge.logs import setup_logging

            self._settings = load_settings(self.config_path)
            setup_logging(level="DEBUG" if self.debug else self._settings.log_level)
        return self._settings


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    assert isinstance(obj, State)
    return obj


def print_json(data: Any) -> None:
    """Machine-readable output for --json: plain JSON on stdout, nothing else."""
    typer.echo(json.dumps(data, indent=2, default=_json_default, ensure_ascii=False))


def _json_default(obj: Any) -> Any:
    from datetime import datetime
    from enum import Enum

    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)


def open_engine(ctx: typer.Context, *, require: bool = True):
    """The store's engine for this invocation; fails with one clear line if unusable."""
    from vibeforge.store import make_engine, require_schema

    st = state(ctx)
    settings = st.settings()
    engine = make_engine(settings.db_url)
    if require:
        require_schema(engine)
    return engine


def reward_age_weights(settings: Settings) -> dict[float, float] | None:
    """Age (s) -> weight of the configured reward, which combine a post's rewards read at
    several ages; None when the reward cannot be loaded (then ages weigh equally)."""
    from vibeforge.learn.reward import get_reward

    try:
        spec = get_reward(settings.loop.reward)
    except ValueError:
        return None
    return dict(zip(spec.ages_s, spec.age_weights, strict=True))


def ensure_home(home: Path) -> Path:
    """Create the home folder and prove it is writable."""
    from vibeforge.errors import ConfigError

    try:
        home.mkdir(parents=True, exist_ok=True)
        probe = home / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"home folder {home} is not writable ({exc.strerror}); "
            "set VIBEFORGE_HOME to a folder you can write"
        ) from None
    return home
