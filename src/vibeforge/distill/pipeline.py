"""`vibeforge distill run`: plan → composite dataset → train → record, per subset.

A subset is trained when it has no elder yet, when its elder is due (drift.py), when it is
named with --subset, or with force. Its elder continues from its previous version when the
base model and method are unchanged. A run killed during training resumes from the
checkpoint when run again over the same dataset (an unchanged dataset is not saved twice).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Engine

from vibeforge.distill.cluster import Plan, Subset, centroid, make_plan
from vibeforge.distill.config import DistillConfig
from vibeforge.distill.dataset import (
    Dataset,
    DatasetStore,
    Example,
    Selection,
    add_context,
    drop_off_niche,
    gather_outputs,
    reward_model_predictor,
    select_examples,
    timeline_centroids,
    timeline_samples,
)
from vibeforge.distill.drift import drift_status, snapshot
from vibeforge.distill.elders import ElderStore, ElderVersion
from vibeforge.distill.train import clear_checkpoint, train_elder
from vibeforge.domain import Elder
from vibeforge.embedding import Embedder
from vibeforge.errors import NotFoundError
from vibeforge.models.registry import load_model
from vibeforge.paths import Home
from vibeforge.store import queries as q
from vibeforge.store import session_scope

if TYPE_CHECKING:
    from vibeforge.models.base import Base

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]  # (what, done, total)


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    subset: str
    bots: tuple[str, ...]
    elder: ElderVersion | None = None
    dataset: Dataset | None = None
    skipped: str | None = None  # why nothing was trained

    def as_json(self) -> dict[str, Any]:
        return {
            "subset": self.subset,
            "bots": list(self.bots),
            "elder_version": self.elder.version if self.elder else None,
            "dataset_version": self.dataset.version if self.dataset else None,
            "examples": len(self.dataset.examples) if self.dataset else 0,
            "off_niche": dict(self.dataset.manifest.get("off_niche", {})) if self.dataset else {},
            "loss_before": self.elder.metrics.get("loss_before") if self.elder else None,
            "loss_after": self.elder.metrics.get("loss_after") if self.elder else None,
            "skipped": self.skipped,
        }


def _why_train(
    engine: Engine,
    subset: Subset,
    *,
    store: ElderStore,
    embedder: Embedder,
    config: DistillConfig,
    forced: bool,
) -> str | None:
    """Why this subset should be trained now, or None when it need not be."""
    if forced:
        return "requested"
    if subset.elder is None or not store.versions(subset.elder):
        return "no elder yet"
    status = drift_status(
        engine, record=store.record(subset.elder), embedder=embedder, config=config
    )
    if set(subset.bots) != set(status.bots):
        return "its bots changed"
    return "; ".join(status.reasons) if status.due else None


def keep_or_save_dataset(
    store: DatasetStore, *, subset: str, selection: Selection, config: DistillConfig
) -> Dataset:
    """The newest dataset when it holds the same examples, else the selection saved as a new one.

    Examples are compared by how many timeline posts their prompts show, not which: those
    change as the timeline grows, and a new dataset for them alone would make a killed run
    start over instead of resuming from its checkpoint (whose fingerprint names the dataset).
    A change of the context settings or the seed makes a new dataset.
    """
    settings = _context_settings(config)
    if store.versions():
        latest = store.load()
        if latest.manifest.get("context_settings") == settings and _shape(
            latest.examples
        ) == _shape(selection.examples):
            return latest
    return store.save(subset=subset, selection=selection, extra={"context_settings": settings})


def _context_settings(config: DistillConfig) -> dict[str, Any]:
    return {
        "context_posts": config.context_posts,
        "context_share": config.context_share,
        "seed": config.seed,
    }


def _shape(examples: Sequence[Example]) -> list[Example]:
    """Examples with their shown posts reduced to how many (as placeholders)."""
    return [replace(e, context=("",) * len(e.context)) for e in examples]


def niche_centroids(plan: Plan, subset: Subset) -> dict[str, list[float]]:
    """Per niche of the subset, the centroid of its bots' recent outputs (for spawning)."""
    out = {}
    for niche in subset.niches:
        members = [
            plan.profiles[b].centroid for b in subset.bots if plan.profiles[b].niche == niche
        ]
        out[niche] = [round(float(v), 6) for v in centroid(np.stack(members))]
    return out


def train_subset(
    engine: Engine,
    *,
    home: Path,
    plan: Plan,
    subset: Subset,
    config: DistillConfig,
    embedder: Embedder,
    base: Base | None = None,
    progress: Progress | None = None,
    centroids: dict[str, np.ndarray] | None = None,
) -> Outcome:
    """Build the subset's dataset and train its elder's next version.

    `centroids` (timeline -> centroid of its posts, for the niche filter) are computed here
    unless given; run_distill computes them once for all subsets.
    """
    say = progress or (lambda what, done, total: None)
    store = ElderStore(Home(home).elders)
    say(f"{subset.name}: composite dataset", 0, 1)
    outputs = gather_outputs(engine, bots=subset.bots, predict=reward_model_predictor(home))
    off_niche: dict[str, int] = {}
    if config.niche_filter:
        if centroids is None:
            centroids = timeline_centroids(engine, embedder=embedder)
        outputs, off_niche = drop_off_niche(
            outputs, centroids=centroids, embedder=embedder, margin=config.niche_margin
        )
    selection = select_examples(outputs, config=config)
    left_out = {
        bot: f"{why}; {off_niche[bot]} more were off niche" if bot in off_niche else why
        for bot, why in selection.left_out.items()
    }
    selection = replace(selection, off_niche=off_niche, left_out=left_out)
    if not selection.examples:
        why = "no bot had enough usable outputs"
        if off_niche:
            why += (
                f" ({sum(off_niche.values())} were off niche: lower distill.niche_margin or "
                "set niche_filter: false)"
            )
        return Outcome(subset=subset.name, bots=subset.bots, skipped=why)
    if config.context_posts and config.context_share:
        timelines = timeline_samples(engine, niches=subset.niches)
        selection = add_context(selection, timelines=timelines, config=config)
    dataset = keep_or_save_dataset(
        DatasetStore(store.datasets(subset.name)),
        subset=subset.name,
        selection=selection,
        config=config,
    )
    previous = store.record(subset.name) if store.versions(subset.name) else None
    initial = None
    if (
        previous
        and previous.method == config.method == "lora"
        and previous.base_model == config.elder_base
    ):
        _, _, initial = store.load(subset.name, home=home)
    if config.method == "full" or base is None:
        base = load_model(config.elder_base, home=home)
    result = train_elder(
        base=base,
        examples=dataset.examples,
        config=config,
        dataset_sha256=dataset.sha256,
        initial=initial,
        checkpoint=store.checkpoint(subset.name),
        progress=lambda step, total, loss: say(
            f"{subset.name}: training (loss {loss:.3f})", step, total
        ),
    )
    texts = [t for b in subset.bots for t in plan.profiles[b].texts]
    fields: dict[str, Any] = {
        "base_model": config.elder_base,
        "bots": tuple(sorted({e.bot for e in dataset.examples})),
        "niches": tuple(sorted({e.niche for e in dataset.examples})),
        "dataset_version": dataset.version,
        "dataset_sha256": dataset.sha256,
        "metrics": {**result.metrics, "parent": previous.version if previous else None},
        "baseline": snapshot(texts, embedder=embedder).as_json(),
        "niche_centroids": niche_centroids(plan, subset),
    }
    if result.weights is not None:
        record = store.save_lora(subset.name, result.weights, **fields)
    else:
        record = store.save_full(subset.name, base, **fields)
    clear_checkpoint(store.checkpoint(subset.name))
    with session_scope(engine) as s:
        q.upsert_elder(
            s,
            elder=Elder(
                name=record.name,
                base_model=record.base_model,
                version=record.version,
                bots=record.bots,
                niches=record.niches,
                path=record.path,
            ),
        )
    return Outcome(subset=subset.name, bots=subset.bots, elder=record, dataset=dataset)


def run_distill(
    engine: Engine,
    *,
    home: Path,
    config: DistillConfig,
    embedder: Embedder,
    subsets: Sequence[str] = (),
    force: bool = False,
    base: Base | None = None,
    progress: Progress | None = None,
) -> list[Outcome]:
    """Plan, then train every subset that needs it (or the named ones)."""
    plan = make_plan(engine, embedder=embedder, config=config)
    store = ElderStore(Home(home).elders)
    chosen = [plan.subset(name) for name in subsets] if subsets else list(plan.subsets)
    outcomes = []
    centroids = None
    for subset in chosen:
        why = _why_train(
            engine,
            subset,
            store=store,
            embedder=embedder,
            config=config,
            forced=force or bool(subsets),
        )
        if why is None:
            outcomes.append(Outcome(subset=subset.name, bots=subset.bots, skipped="not due"))
            continue
        log.info("training elder %s (%s)", subset.name, why)
        if base is None and config.method == "lora":
            base = load_model(config.elder_base, home=home)
        if centroids is None and config.niche_filter:
            centroids = timeline_centroids(engine, embedder=embedder)
        outcomes.append(
            train_subset(
                engine,
                home=home,
                plan=plan,
                subset=subset,
                config=config,
                embedder=embedder,
                base=base,
                progress=progress,
                centroids=centroids,
            )
        )
    return outcomes


def elder_records(engine: Engine, *, home: Path) -> list[ElderVersion]:
    """The newest version of every elder the store knows."""
    store = ElderStore(Home(home).elders)
    with session_scope(engine) as s:
        names = [e.name for e in q.list_elders(s)]
    out = []
    for name in names:
        try:
            out.append(store.record(name))
        except NotFoundError:
            log.warning("elder %s is in the store but has no version under %s", name, store.root)
    return out
