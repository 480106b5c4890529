"""Executors run rounds of the loop; the same cycle code runs under each.

    local   one process: one resident base model, every bot's generation and RL batched
            across adapters (the default; SQLite or PostgreSQL)
    ray     ingest and observe as Ray tasks (one per timeline, one per bot), model work (learn,
            act) in `model_actors` ModelWorker actors, each holding the base model and the
            adapters of its shard of the bots (and maybe a GPU); the shards run in parallel.
            A bot's actor is picked by rendezvous hashing (`shard_of`), so bots coming and
            going never move another bot, and one more actor moves only ~1/(n+1) of them.
            Needs a store every worker reaches: PostgreSQL across nodes, or SQLite on a single
            node (a shared file; WAL keeps readers and the writer apart), and a home (adapters,
            regurgitation index) every node sees

A fleet that mixes platforms (`build.FleetSpec`: a runtime per platform, on one store, home
and bank) runs under the local executor, each runtime with its own bots; ray refuses it.

Executors are looked up by name (`register_executor`), like platforms and reward presets. Each
declares its options as a model (`Options`); callers pass the settings' `executors:` section
(options by executor name) and the executor chosen checks its own part of it.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vibeforge.config.validation import format_validation
from vibeforge.errors import ConfigError, VibeforgeError
from vibeforge.loop.build import FleetSpec
from vibeforge.loop.cycle import ROUND_ERRORS, RoundReport, Stopped, active_bots, run_round
from vibeforge.loop.observe import fleet_due
from vibeforge.loop.runtime import Runtime

log = logging.getLogger(__name__)

RuntimeFactory = Callable[[], Runtime]  # must be picklable for the ray executor
R = TypeVar("R", bound=RoundReport)
OBSERVE_TASKS = 8  # the most observe tasks a round fans out (each reads the fleet once)


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
    def __call__(self, factory: RuntimeFactory | FleetSpec, options: Any) -> Executor: ...


class LocalExecutor:
    """Everything in this process. A fleet (`FleetSpec`) runs each platform's runtime on its
    own bots in turn, and the round's report merges theirs."""

    name = "local"
    Options: ClassVar[type[ExecutorOptions]] = ExecutorOptions

    def __init__(
        self, factory: RuntimeFactory | FleetSpec, options: ExecutorOptions | None = None
    ) -> None:
        # (runtime, its bots); None: every bot of the store (one platform)
        self.parts: list[tuple[Runtime, Sequence[str] | None]] = (
            list(factory()) if isinstance(factory, FleetSpec) else [(factory(), None)]
        )
        self.runtime = self.parts[0][0]

    @property
    def runtimes(self) -> list[Runtime]:
        return [rt for rt, _ in self.parts]

    def run_round(self, names: Sequence[str] | None = None) -> RoundReport:
        if len(self.parts) == 1 and self.parts[0][1] is None:
            return run_round(self.runtime, names)
        reports: list[RoundReport] = []
        fatal: Exception | None = None
        for rt, bots in self.parts:
            own = [b for b in bots or () if names is None or b in names]
            try:
                reports.append(run_round(rt, own))
            except ROUND_ERRORS as exc:  # one platform's outage: the others still run
                log.error("bots %s: %s; the other platforms' go on", ", ".join(own), exc)
                fatal = fatal or exc
        if fatal is not None:  # ends the round (the supervisor backs off) once all have run
            raise fatal
        return merge_reports(reports, into=RoundReport(), side_by_side=False)

    def close(self) -> None:
        pass


def merge_reports(parts: Iterable[RoundReport], *, into: R, side_by_side: bool = True) -> R:
    """`into`, with the reports of a round's parts (steps, or shards of the bots) added: lists
    joined, per-bot and per-timeline entries gathered (a timeline re-read by several parts
    counts each part's posts), each step's seconds the longest part's (`side_by_side`), or
    their sum (parts run one after the other)."""
    merged = into
    for part in parts:
        merged.ingest += part.ingest
        merged.compliance += part.compliance
        merged.observe.update(part.observe)
        merged.learn.update(part.learn)
        merged.act.update(part.act)
        for timeline, n in part.relabelled.items():
            merged.relabelled[timeline] = merged.relabelled.get(timeline, 0) + n
        for step, s in part.seconds.items():  # side by side: the slowest part's
            before = merged.seconds.get(step, 0.0)
            merged.seconds[step] = max(before, s) if side_by_side else round(before + s, 3)
    return merged


def _weight(bot: str, actor: int) -> int:
    digest = hashlib.sha256(f"{actor}:{bot}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def shard_of(bot: str, actors: int) -> int:
    """The model actor (0 .. actors-1) that serves `bot`: rendezvous hashing, the actor with
    the highest sha256("<actor>:<bot>") (first 8 bytes, big-endian). A bot's actor depends on
    nothing but its name and the count: adding or removing a bot moves no other, and going
    from n to n+1 actors moves only the bots the new actor wins (~1/(n+1) of them)."""
    if actors < 1:
        raise ValueError(f"actors ({actors}) must be >= 1")
    return max(range(actors), key=lambda actor: _weight(bot, actor))


def shards(bots: Sequence[str], actors: int) -> list[list[str]]:
    """`bots` split by `shard_of`, one list per actor (in the bots' order; some may be empty)."""
    out: list[list[str]] = [[] for _ in range(actors)]
    for bot in bots:
        out[shard_of(bot, actors)].append(bot)
    return out


@dataclass
class ModelShard:
    """What one model actor did in a round: where it ran, for which bots, and how it ended."""

    actor: int  # index among the model actors (`shard_of`)
    bots: list[str]
    node: str | None = None  # Ray node id of the actor's process (None: it never answered)
    pid: int | None = None
    error: str | None = None  # why the shard failed; its bots have no learn or act report


@dataclass
class ShardedRoundReport(RoundReport):
    """A round of the ray executor: the merged report, and each model actor's shard."""

    shards: list[ModelShard] = field(default_factory=list)

    @property
    def failed(self) -> list[ModelShard]:
        return [s for s in self.shards if s.error is not None]


def _light_steps(
    factory: RuntimeFactory, names: Sequence[str], steps: Sequence[str]
) -> RoundReport:
    return run_round(factory(), names, steps=steps)


class _ModelWorker:
    """Holds one Runtime (and so one resident base model with the adapters of its shard)."""

    def __init__(self, factory: RuntimeFactory) -> None:
        self.runtime = factory()

    def learn_and_act(self, names: Sequence[str]) -> tuple[RoundReport, str, int]:
        """The model steps for `names`; with this actor's Ray node id and pid."""
        import ray

        from vibeforge.privacy.memorization import MemorizationIndex

        rt = self.runtime
        index = rt.memorization
        if index is not None and index.directory is not None:  # ingest added to it on disk
            rt.memorization = MemorizationIndex.open(index.directory, config=index.config)
        report = run_round(rt, names, steps=("learn", "act"))
        return report, ray.get_runtime_context().get_node_id(), os.getpid()

    def resident(self) -> list[str]:
        """The bots whose adapters this actor holds in memory."""
        return self.runtime.bank().resident()


class RayOptions(ExecutorOptions):
    address: str | None = None  # a running cluster (ray://host:10001); None: start one here
    num_cpus: int | None = Field(default=None, ge=1)  # CPUs of a local cluster; None: all
    num_gpus: float = Field(default=0, ge=0)  # GPUs each model actor holds
    # CPUs each model actor holds while it lives (0: none reserved, it shares the node's CPUs
    # with the tasks; a node with fewer CPUs than its actors hold runs no ingest or observe)
    model_cpus: float = Field(default=1, ge=0)
    # custom Ray resources each model actor needs, e.g. {"model_slot": 1} with nodes started
    # `--resources='{"model_slot": 1}'` for one actor per node (SPREAD alone is best effort)
    model_resources: dict[str, float] = Field(default_factory=dict)
    # model actors, each with the base model and its shard of the bots' adapters
    model_actors: int = Field(default=1, ge=1)


class RayExecutor:
    name = "ray"
    Options: ClassVar[type[ExecutorOptions]] = RayOptions

    def __init__(
        self, factory: RuntimeFactory | FleetSpec, options: RayOptions | None = None
    ) -> None:
        opts = options or RayOptions()
        if isinstance(factory, FleetSpec):
            kinds = ", ".join(spec.platform for spec, _ in factory.parts)
            raise ConfigError(
                f"the ray executor runs the bots of one platform, and these are on "
                f"{len(factory.parts)} ({kinds}): run this fleet with --executor local"
            )
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
        # SPREAD: with several nodes, the actors (and their models' memory) go to different ones
        self._worker = ray.remote(
            num_cpus=opts.model_cpus,
            num_gpus=opts.num_gpus,
            resources=dict(opts.model_resources),
            scheduling_strategy="SPREAD",
        )(_ModelWorker)
        self.workers: list[Any] = [self._spawn() for _ in range(opts.model_actors)]

    def _spawn(self) -> Any:
        return self._worker.remote(self.factory)

    def run_round(self, names: Sequence[str] | None = None) -> ShardedRoundReport:
        ray = self._ray
        bots = [b.name for b in active_bots(self._local, names)]
        if not bots:
            return ShardedRoundReport()
        # one ingest task covers every timeline once; observe fans out over the bots with posts
        # due for a reading (a round's other bots cost it nothing)
        ingest = ray.get(self._task.remote(self.factory, bots, ("ingest", "compliance")))
        observed = ray.get(
            [self._task.remote(self.factory, part, ("observe",)) for part in self._observe(bots)]
        )
        # every actor's shard at once; each is awaited alone, so one failing loses no other
        running = [
            (ModelShard(actor=i, bots=shard), self.workers[i].learn_and_act.remote(shard))
            for i, shard in enumerate(shards(bots, len(self.workers)))
            if shard
        ]
        parts: list[RoundReport] = [ingest, *observed]
        fatal: BaseException | None = None
        for shard, future in running:
            try:
                part, shard.node, shard.pid = ray.get(future)
                parts.append(part)
            except Exception as exc:
                cause = _cause(exc)
                shard.error = _describe_failure(cause)
                log.error(
                    "model actor %d (bots %s) failed: %s; the other shards' reports are kept",
                    shard.actor,
                    ", ".join(shard.bots),
                    shard.error,
                )
                if isinstance(exc, ray.exceptions.ActorDiedError):  # its process is gone
                    self.workers[shard.actor] = self._spawn()  # a new one for the next round
                # what ends a round under the local executor (kill switch, platform outage)
                # ends it here too, once every shard has finished
                if fatal is None and isinstance(cause, (Stopped, *ROUND_ERRORS)):
                    fatal = cause
        report = merge_reports(parts, into=ShardedRoundReport(shards=[s for s, _ in running]))
        if fatal is not None:
            for shard in report.shards:
                fatal.add_note(
                    f"model actor {shard.actor} ({', '.join(shard.bots)}): {shard.error or 'done'}"
                )
            raise fatal
        return report

    def _observe(self, bots: Sequence[str]) -> list[list[str]]:
        """The observe tasks' bots: those with posts due for a reading (`fleet_due`, read once
        here) split over at most OBSERVE_TASKS tasks; the first also takes the bots with none
        due, so every followed timeline is re-read (observe_timeline) by some task."""
        rt = self._local
        due = fleet_due(rt.engine, spec=rt.reward_spec(), now=rt.clock())
        reading = [b for b in bots if b in due]
        parts = [reading[i::OBSERVE_TASKS] for i in range(min(len(reading), OBSERVE_TASKS))]
        rest = [b for b in bots if b not in due]
        if rest:
            parts = [[*(parts[0] if parts else []), *rest], *parts[1:]]
        return parts

    def resident(self) -> list[list[str]]:
        """Each model actor's resident adapters (by bot), in actor order."""
        return list(self._ray.get([w.resident.remote() for w in self.workers]))

    def close(self) -> None:
        for worker in self.workers:
            self._ray.kill(worker)


def _cause(exc: Exception) -> BaseException:
    """The exception a Ray task raised, out of Ray's wrapper (the exception itself otherwise)."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc


def _describe_failure(exc: BaseException) -> str:
    """The error's kind, with its message where it is ours or Ray's (never posts' content)."""
    if isinstance(exc, VibeforgeError) or type(exc).__module__.startswith("ray."):
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return type(exc).__name__


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
    name: str,
    factory: RuntimeFactory | FleetSpec,
    *,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
) -> Executor:
    """Executor `name` running `factory`'s Runtime (a fleet's runtimes), with its options from
    `settings`."""
    return _executor(name)(factory, executor_options(name, settings))


def _executor(name: str) -> ExecutorKind:
    try:
        return _EXECUTORS[name]
    except KeyError:
        raise ConfigError(f"unknown executor {name!r}; choose from {sorted(_EXECUTORS)}") from None
