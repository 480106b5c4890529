"""Executors run rounds of the loop; the same cycle code runs under each.

    local   one process: one resident base model, every bot's generation and RL batched
            across adapters (the default; SQLite or PostgreSQL)
    ray     ingest and observe as Ray tasks (one per timeline, one per bot), model work (learn,
            act) in a ModelWorker actor that holds the base model and adapter bank and can hold
            a GPU. Needs a store every worker reaches: PostgreSQL across nodes, or SQLite on a
            single node (a shared file; WAL keeps readers and the writer apart)

Executors are looked up by name (`register_executor`), like platforms and reward presets. Each
declares its options as a model (`Options`); callers pass the settings' `executors:` section
(options by executor name) and the executor chosen checks its own part of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vibeforge.config.validation import format_validation
from vibeforge.errors import ConfigError
from vibeforge.loop.cycle import RoundReport, active_bots, run_round
from vibeforge.loop.runtime import Runtime

RuntimeFactory = Callable[[], Runtime]  # must be picklable for the ray executor


class ExecutorOptions(BaseModel):
    """An executor's options (vibeforge.yaml `executors.<name>`); none by default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Executor(Protocol):
    name: str

    def run_round(self, names: Sequence[str] | None = None) -> RoundReport: ...

    def close(self) -> None: ...


class ExecutorKind(Protocol):
    """What is registered: a class that declares its options and is built with them."""

    Options: type[ExecutorOptions]

    # options: an instance of this kind's own Options (Any: each kind narrows it)
    def __call__(self, factory: RuntimeFactory, options: Any) -> Executor: ...


class LocalExecutor:
    name = "local"
    Options: ClassVar[type[ExecutorOptions]] = ExecutorOptions

    def __init__(self, factory: RuntimeFactory, options: ExecutorOptions | None = None) -> None:
        self.runtime = factory()

    def run_round(self, names: Sequence[str] | None = None) -> RoundReport:
        return run_round(self.runtime, names)

    def close(self) -> None:
        pass


def _light_steps(
    factory: RuntimeFactory, names: Sequence[str], steps: Sequence[str]
) -> RoundReport:
    return run_round(factory(), names, steps=steps)


class _ModelWorker:
    """Holds one Runtime (and so one resident base model with its adapters)."""

    def __init__(self, factory: RuntimeFactory) -> None:
        self.runtime = factory()

    def learn_and_act(self, names: Sequence[str]) -> RoundReport:
        return run_round(self.runtime, names, steps=("learn", "act"))


class RayOptions(ExecutorOptions):
    address: str | None = None  # a running cluster (ray://host:10001); None: start one here
    num_cpus: int | None = Field(default=None, ge=1)  # CPUs of a local cluster; None: all
    num_gpus: float = Field(default=0, ge=0)  # GPUs the model worker holds


class RayExecutor:
    name = "ray"
    Options: ClassVar[type[ExecutorOptions]] = RayOptions

    def __init__(self, factory: RuntimeFactory, options: RayOptions | None = None) -> None:
        opts = options or RayOptions()
        try:
            import ray
        except ImportError:
            from vibeforge.errors import VibeforgeError

            raise VibeforgeError(
                "the ray executor needs Ray: pip install 'vibeforge[scale]'"
            ) from None
        if not ray.is_initialized():
            ray.init(
                address=opts.address,
                num_cpus=opts.num_cpus,
                include_dashboard=False,
                log_to_driver=False,
            )
        self._ray = ray
        self.factory = factory
        self._local = factory()  # for reading the bot list
        self._task = ray.remote(_light_steps)
        self._worker: Any = ray.remote(num_gpus=opts.num_gpus)(_ModelWorker).remote(factory)

    def run_round(self, names: Sequence[str] | None = None) -> RoundReport:
        ray = self._ray
        bots = [b.name for b in active_bots(self._local, names)]
        report = RoundReport()
        if not bots:
            return report
        # one ingest task covers every timeline once; observe fans out one task per bot
        ingest = ray.get(self._task.remote(self.factory, bots, ("ingest",)))
        observed = ray.get([self._task.remote(self.factory, [b], ("observe",)) for b in bots])
        model_side = ray.get(self._worker.learn_and_act.remote(bots))
        report.ingest = ingest.ingest
        for part in observed:
            report.observe.update(part.observe)
        report.learn, report.act = model_side.learn, model_side.act
        return report

    def close(self) -> None:
        self._ray.kill(self._worker)


_EXECUTORS: dict[str, ExecutorKind] = {"local": LocalExecutor, "ray": RayExecutor}


def register_executor(name: str, kind: ExecutorKind) -> None:
    _EXECUTORS[name] = kind


def executor_options(
    name: str, settings: Mapping[str, Mapping[str, Any]] | None = None
) -> ExecutorOptions:
    """Executor `name`'s options from the settings' `executors:` section, checked by its model;
    ConfigError naming the option and the fix."""
    kind = _executor(name)
    unknown = sorted(set(settings or {}) - set(_EXECUTORS))
    if unknown:  # a typo would otherwise leave the options silently unused
        raise ConfigError(
            f"executors.{unknown[0]}: no such executor; options go under one of "
            f"{sorted(_EXECUTORS)}"
        )
    try:
        return kind.Options.model_validate(dict((settings or {}).get(name) or {}))
    except ValidationError as exc:
        message = format_validation(exc, root=kind.Options, prefix=f"executors.{name}")
        raise ConfigError(message) from None


def make_executor(
    name: str, factory: RuntimeFactory, *, settings: Mapping[str, Mapping[str, Any]] | None = None
) -> Executor:
    """Executor `name` running `factory`'s Runtime, with its options from `settings`."""
    return _executor(name)(factory, executor_options(name, settings))


def _executor(name: str) -> ExecutorKind:
    try:
        return _EXECUTORS[name]
    except KeyError:
        raise ConfigError(f"unknown executor {name!r}; choose from {sorted(_EXECUTORS)}") from None
