"""A composite dataset per subset: each bot's best guard-passing outputs, tagged with its niche.

rank     a bot's outputs by score: real engagement where the post was published and read,
         else the reward its reward model predicted (filled in now if it was never stored)
niche    (niche_filter) an output whose cosine similarity to its own niche's centroid (of the
         timeline's stored posts) does not beat every other timeline's by niche_margin is left
         out: generic or stray posts would teach the elder another niche under this one's tag
dedup    exact (case- and space-folded) and near duplicates (word-shingle Jaccard >=
         dedup_jaccard) across the whole subset: the better-ranked copy stays
balance  every bot gives the same number of examples, min(per_bot, the fewest any bot has);
         bots with fewer than min_per_bot usable outputs are left out, with the reason
context  a share (context_share) of the examples also show context_posts posts of their
         niche's timeline in the elder's prompt, as a bot's prompt does, so the elder learns to
         write for a niche from its tag alone and from its tag with a sample of its timeline
store    JSONL under <home>/elders/<subset>/datasets/dNNNN.jsonl, one example a line with
         its provenance (bot, adapter version, candidate, post, predicted reward,
         engagement), beside a manifest with the sha256; written atomically
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine

from vibeforge.atomic import atomic_write_bytes, atomic_write_json, version_numbers
from vibeforge.distill.cluster import centroid
from vibeforge.distill.config import DistillConfig
from vibeforge.distill.outputs import Output, Predictor, bot_outputs
from vibeforge.errors import NotFoundError
from vibeforge.learn.guard import shingles
from vibeforge.paths import Home
from vibeforge.privacy.patterns import postable
from vibeforge.store import queries as q
from vibeforge.store import session_scope

_SPACE = re.compile(r"\s+")
_DATASET = re.compile(r"^d(\d{4,})\.jsonl$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Example:
    text: str
    niche: str  # the tag the elder is conditioned on
    bot: str
    adapter_version: int | None
    candidate_id: int | None
    predicted_reward: float | None
    engagement: float | None
    score: float | None
    post_id: str | None = None
    context: tuple[str, ...] = ()  # timeline posts shown in the elder's prompt, if any

    @classmethod
    def from_output(cls, o: Output) -> Example:
        return cls(
            text=o.text,
            niche=o.niche,
            bot=o.bot,
            adapter_version=o.adapter_version,
            candidate_id=o.candidate_id,
            predicted_reward=o.predicted_reward,
            engagement=o.engagement,
            score=o.score,
            post_id=o.post_id,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Selection:
    examples: tuple[Example, ...]
    quota: int  # examples per bot
    available: dict[str, int]  # usable (deduplicated) outputs per bot before balancing
    left_out: dict[str, str] = field(default_factory=dict)  # bot -> why
    off_niche: dict[str, int] = field(default_factory=dict)  # bot -> outputs left out as off niche


@dataclass(frozen=True, slots=True, kw_only=True)
class Dataset:
    subset: str
    version: int
    path: Path
    sha256: str
    examples: tuple[Example, ...]
    manifest: dict[str, Any]


def _fold(text: str) -> str:
    return _SPACE.sub(" ", text.casefold()).strip()


def _rank(outputs: Sequence[Output]) -> list[Output]:
    """Best first; unscored outputs last, newest first among equals."""
    return sorted(
        outputs,
        key=lambda o: (o.score is not None, o.score or 0.0, o.candidate_id or 0),
        reverse=True,
    )


def select_examples(outputs: Mapping[str, Sequence[Output]], *, config: DistillConfig) -> Selection:
    """Rank, deduplicate across bots and balance (see the module docstring)."""
    seen_exact: set[str] = set()
    seen_shingles: list[set[int]] = []
    usable: dict[str, list[Output]] = {}
    ranked = {bot: _rank(outs) for bot, outs in outputs.items()}
    # round-robin over bots so no bot's duplicates crowd out another's best outputs
    cursors = dict.fromkeys(ranked, 0)
    while any(cursors[b] < len(ranked[b]) for b in ranked):
        for bot in ranked:
            if len(usable.get(bot, [])) >= config.per_bot:
                cursors[bot] = len(ranked[bot])
            while cursors[bot] < len(ranked[bot]):
                o = ranked[bot][cursors[bot]]
                cursors[bot] += 1
                folded = _fold(o.text)
                mine = shingles(o.text)
                dup = folded in seen_exact or any(
                    mine and other and len(mine & other) / len(mine | other) >= config.dedup_jaccard
                    for other in seen_shingles
                )
                if not folded or dup:
                    continue
                seen_exact.add(folded)
                seen_shingles.append(mine)
                usable.setdefault(bot, []).append(o)
                break
    available = {bot: len(usable.get(bot, [])) for bot in outputs}
    left_out = {
        bot: f"{n} usable outputs < min_per_bot {config.min_per_bot}"
        for bot, n in available.items()
        if n < config.min_per_bot
    }
    eligible = [b for b in outputs if b not in left_out]
    quota = min((available[b] for b in eligible), default=0)
    examples = tuple(Example.from_output(o) for b in eligible for o in usable[b][:quota])
    return Selection(examples=examples, quota=quota, available=available, left_out=left_out)


def add_context(
    selection: Selection, *, timelines: Mapping[str, Sequence[str]], config: DistillConfig
) -> Selection:
    """Give `context_share` of the examples `context_posts` posts of their niche's timeline.

    Which examples, and which posts, depend only on the seed and the example itself, so the
    same outputs over the same timeline give the same dataset.
    """
    if config.context_posts == 0 or config.context_share == 0:
        return selection
    out = []
    for e in selection.examples:
        rng = random.Random(f"{config.seed}:{e.bot}:{e.candidate_id}:{e.text}")
        pool = [t for t in timelines.get(e.niche, ()) if _fold(t) != _fold(e.text)]
        if pool and rng.random() < config.context_share:
            e = replace(e, context=tuple(rng.sample(pool, min(config.context_posts, len(pool)))))
        out.append(e)
    return replace(selection, examples=tuple(out))


def timeline_samples(
    engine: Engine, *, niches: Sequence[str], limit: int = 200
) -> dict[str, list[str]]:
    """The newest (scrubbed) posts of each niche's timeline, for context examples."""
    with session_scope(engine) as s:
        posts = {n: q.list_posts(s, timeline=n, limit=limit) for n in niches}
    return {n: [t for t in (postable(p.text) for p in rows) if t] for n, rows in posts.items()}


def timeline_centroids(engine: Engine, *, embedder: Any, limit: int = 200) -> dict[str, np.ndarray]:
    """Per timeline some bot follows, the unit centroid of its newest stored posts' embeddings.

    Timelines no bot follows are no niche of the ecosystem, so they are not rivals.
    """
    with session_scope(engine) as s:
        names = sorted({b.timeline for b in q.list_bots(s) if b.timeline})
    samples = timeline_samples(engine, niches=names, limit=limit)
    return {name: centroid(embedder.encode(texts)) for name, texts in samples.items() if texts}


def drop_off_niche(
    outputs: Mapping[str, Sequence[Output]],
    *,
    centroids: Mapping[str, np.ndarray],
    embedder: Any,
    margin: float = 0.0,
) -> tuple[dict[str, list[Output]], dict[str, int]]:
    """Each bot's outputs nearer their own niche's centroid than any other's by more than
    `margin` (cosine similarity), and how many each bot lost.

    A bot whose niche has no centroid keeps every output, as does everyone when fewer than
    two niches have one (there is nothing to be confused with).
    """
    names = list(centroids)
    kept: dict[str, list[Output]] = {}
    dropped: dict[str, int] = {}
    matrix = np.stack([centroids[n] for n in names]) if len(names) >= 2 else None
    for bot, outs in outputs.items():
        outs = list(outs)
        if matrix is None or not outs or outs[0].niche not in centroids:
            kept[bot] = outs
            continue
        niche = outs[0].niche
        sims = embedder.encode([o.text for o in outs]) @ matrix.T  # (N, niches)
        own = names.index(niche)
        rival = np.delete(sims, own, axis=1).max(axis=1)
        kept[bot] = [o for o, ok in zip(outs, sims[:, own] - rival > margin, strict=True) if ok]
        if len(outs) > len(kept[bot]):
            dropped[bot] = len(outs) - len(kept[bot])
    return kept, dropped


def _example(data: dict[str, Any]) -> Example:
    data["context"] = tuple(data.get("context") or ())
    return Example(**data)


def _fill_predictions(outputs: list[Output], predict: Predictor | None) -> list[Output]:
    missing = [o for o in outputs if o.predicted_reward is None]
    if predict is None or not missing:
        return outputs
    values = predict(missing[0].bot, [o.text for o in missing])
    if values is None:
        return outputs
    filled = {id(o): float(v) for o, v in zip(missing, values, strict=True)}
    return [replace(o, predicted_reward=filled[id(o)]) if id(o) in filled else o for o in outputs]


def gather_outputs(
    engine: Engine, *, bots: Sequence[str], predict: Predictor | None = None
) -> dict[str, list[Output]]:
    """Every guard-passing output of each bot, predicted rewards filled in where missing."""
    with session_scope(engine) as s:
        records = {name: q.get_bot(s, name=name) for name in bots}
        outputs = {name: bot_outputs(s, bot=records[name]) for name in bots}
    return {name: _fill_predictions(outs, predict) for name, outs in outputs.items()}


def reward_model_predictor(home: Path) -> Predictor:
    """Predict with each bot's newest reward model under <home>/reward_models/<bot>."""
    from vibeforge.learn.reward_model import RewardModel, latest_version

    cache: dict[str, Any] = {}

    def predict(bot: str, texts: Sequence[str]) -> Sequence[float] | None:
        folder = Home(home).reward_models(bot)
        if bot not in cache:
            cache[bot] = RewardModel.load(folder) if latest_version(folder) is not None else None
        model = cache[bot]
        return None if model is None else [float(v) for v in model.predict(list(texts))]

    return predict


class DatasetStore:
    """Versioned composite datasets of one subset, as JSONL with a manifest."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def versions(self) -> list[int]:
        return version_numbers(self.root, pattern=_DATASET, files=True)

    def save(
        self, *, subset: str, selection: Selection, extra: Mapping[str, Any] | None = None
    ) -> Dataset:
        self.root.mkdir(parents=True, exist_ok=True)
        lines = "".join(
            json.dumps(asdict(e), ensure_ascii=False, sort_keys=True) + "\n"
            for e in selection.examples
        ).encode()
        digest = hashlib.sha256(lines).hexdigest()
        version = max(self.versions(), default=0) + 1
        path = self.root / f"d{version:04d}.jsonl"
        manifest = {
            "subset": subset,
            "version": version,
            "sha256": digest,
            "n": len(selection.examples),
            "quota": selection.quota,
            "bots": sorted({e.bot for e in selection.examples}),
            "niches": sorted({e.niche for e in selection.examples}),
            "available": selection.available,
            "left_out": selection.left_out,
            "off_niche": selection.off_niche,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            **dict(extra or {}),
        }
        atomic_write_json(path.with_suffix(".json"), manifest)
        atomic_write_bytes(path, lines)
        return Dataset(
            subset=subset,
            version=version,
            path=path,
            sha256=digest,
            examples=selection.examples,
            manifest=manifest,
        )

    def load(self, version: int | None = None) -> Dataset:
        versions = self.versions()
        if not versions:
            raise NotFoundError(f"no dataset under {self.root}; run 'vibeforge distill run'")
        version = versions[-1] if version is None else version
        path = self.root / f"d{version:04d}.jsonl"
        if not path.exists():
            raise NotFoundError(f"dataset {path} does not exist")
        raw = path.read_bytes()
        manifest = json.loads(path.with_suffix(".json").read_text())
        if hashlib.sha256(raw).hexdigest() != manifest["sha256"]:
            raise ValueError(f"{path} does not match its manifest's sha256; rebuild it")
        examples = tuple(_example(json.loads(line)) for line in raw.decode().splitlines())
        return Dataset(
            subset=manifest["subset"],
            version=version,
            path=path,
            sha256=manifest["sha256"],
            examples=examples,
            manifest=manifest,
        )
