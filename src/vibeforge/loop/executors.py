"""Executors run rounds of the loop; the same cycle code runs under each.

    local   one process: one resident base model, every bot's generation and RL batched
            across adapters (the default; SQLite or PostgreSQL)
    ray     ingest and observe as Ray tasks (one per timeline, one per bot), model work (learn,
            act) in a ModelWorker actor that holds the base model and adapter bank and can hold
            a GPU. Needs a store every worker reaches: PostgreSQL across nodes, or SQLite on a
            single node (a shared file; WAL keeps readers and the writer apart)

Executors are looked up by name (`register_executor`), like platforms and reward presets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from vibeforge.loop.cycle import RoundReport, active_bots, run_round
from vibeforge.loop.runtime import Runtime

RuntimeFactory = Callable[[], Runtime]  # must be picklable for the ray executor


class Executor(Protocol):
    name: str

    def run_round(self, names: Sequence[str] | None = None) -> RoundReport: ...

    def close(self) -> None: ...


class LocalExecutor:
    name = "local"

    def __init__(self, factory: RuntimeFactory) -> None:
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


class RayExecutor:
    name = "ray"

    def __init__(
        self,
        factory: RuntimeFactory,
        *,
        address: str | None = None,
        num_cpus: int | None = None,
        num_gpus: float = 0,
    ) -> None:
        try:
            import ray
        except ImportError:
            from vibeforge.errors import VibeforgeError

            raise VibeforgeError(
                "the ray executor needs Ray: pip install 'vibeforge[scale]'"
            ) from None
        if not ray.is_initialized():
            ray.init(
                address=address, num_cpus=num_cpus, include_dashboard=False, log_to_driver=False
            )
        self._ray = ray
        self.factory = factory
        self._local = factory()  # for reading the bot list
        self._task = ray.remote(_light_steps)
        self._worker: Any = ray.remote(num_gpus=num_gpus)(_ModelWorker).remote(factory)

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


_EXECUTORS: dict[str, Callable[..., Executor]] = {"local": LocalExecutor, "ray": RayExecutor}


def register_executor(name: str, factory: Callable[..., Executor]) -> None:
    _EXECUTORS[name] = factory


def make_executor(name: str, factory: RuntimeFactory, **kwargs: Any) -> Executor:
    try:
        cls = _EXECUTORS[name]
    except KeyError:
        raise ValueError(f"unknown executor {name!r}; choose from {sorted(_EXECUTORS)}") from None
    return cls(factory, **kwargs)
