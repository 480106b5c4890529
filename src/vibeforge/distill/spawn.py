"""Spawning a bot from the nearest elder: `vibeforge bot spawn NAME --timeline T [--from E]`.

nearest   embed a sample of the new timeline's posts; the nearest elder is the one with a
          niche centroid closest (cosine) to theirs; its closest niche tags condition it
warm      the elder writes `warm_examples` posts, each prompt tagged with those niches and
          showing a few posts of the new timeline; the guard drops failing ones, and
          copies (an 8-word run shared with the posts it was shown) and repeats are dropped
train     the new bot's adapter is SFT-trained on the kept posts (learn.vibe), on the bots'
          base model, each prompt showing posts of the new timeline as act's will, and saved
          as version 1 of kind "spawn"
hand off  the bot is created active, with parent_elder and the adapter's lineage (elder,
          version, niches, distance, warm-start file) recorded; the loop takes it from
          there like any bot (its next SFT starts after the timeline posts seen here)
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Engine

from vibeforge.atomic import atomic_write_text
from vibeforge.config import check_name
from vibeforge.distill.cluster import centroid, cosine_distance
from vibeforge.distill.elders import ElderStore, ElderVersion
from vibeforge.domain import AdapterVersion, Bot, Post
from vibeforge.embedding import Embedder
from vibeforge.errors import AlreadyExistsError, NotFoundError, VibeforgeError
from vibeforge.learn.prompt import elder_prompt, strip_tags
from vibeforge.paths import Home
from vibeforge.store import queries as q
from vibeforge.store import session_scope

if TYPE_CHECKING:
    from vibeforge.learn.reward_model import RewardModel
    from vibeforge.models.bank import AdapterBank
    from vibeforge.models.base import Base
    from vibeforge.models.lora import LoraWeights

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]
_WORD = re.compile(r"\w+", re.UNICODE)
COPY_RUN = 8  # words in a row shared with a shown post that make a generation a copy


@dataclass(frozen=True, slots=True, kw_only=True)
class SpawnConfig:
    warm_examples: int = 48  # posts the new bot's adapter is trained on
    oversample: float = 3.0  # the elder writes this many times as many; the best are kept
    reward: str = "x-2026"  # preset of the timeline reward model that ranks them
    context_posts: int = 3  # posts of the new timeline shown in each of the elder's prompts
    nearest_niches: int = 2  # niche tags of the elder the prompts are conditioned on
    timeline_sample: int = 200  # timeline posts embedded to find the nearest elder
    max_new_tokens: int = 48
    temperature: float = 0.9
    batch_size: int = 16  # the elder's generation batch
    sft_epochs: int = 2
    sft_max_steps: int | None = 24
    sft_lr: float = 1e-3
    seed: int = 0

    def __post_init__(self) -> None:
        if self.warm_examples < 4:
            raise ValueError(f"warm_examples ({self.warm_examples}) must be >= 4; try 48")
        if self.oversample < 1:
            raise ValueError(f"oversample ({self.oversample}) must be >= 1 (1 keeps every post)")
        if self.context_posts < 0 or self.nearest_niches < 1:
            raise ValueError("context_posts must be >= 0 and nearest_niches >= 1 (e.g. 3 and 2)")
        if self.timeline_sample < 1 or self.batch_size < 1 or self.max_new_tokens < 1:
            raise ValueError("timeline_sample, batch_size and max_new_tokens must be >= 1")
        if self.temperature <= 0:
            raise ValueError(f"temperature ({self.temperature}) must be > 0 to sample posts")
        if self.sft_epochs < 1 or (self.sft_max_steps is not None and self.sft_max_steps < 1):
            raise ValueError("sft_epochs must be >= 1 and sft_max_steps >= 1 or None")


@dataclass(frozen=True, slots=True, kw_only=True)
class Choice:
    elder: ElderVersion
    distance: float  # to its nearest niche
    niches: tuple[str, ...]  # its niche tags, nearest first (at most nearest_niches)


@dataclass(frozen=True, slots=True, kw_only=True)
class SpawnResult:
    bot: Bot
    choice: Choice
    adapter: AdapterVersion
    warm_start: Path
    generated: int
    kept: int


def choose_elder(
    texts: Sequence[str],
    *,
    records: Sequence[ElderVersion],
    embedder: Embedder,
    name: str = "auto",
    nearest_niches: int = 2,
) -> Choice:
    """The named elder, or (auto) the one whose nearest niche is closest to `texts`."""
    if not records:
        raise NotFoundError("no elder yet: run 'vibeforge distill run' first")
    pool = list(records)
    if name != "auto":
        pool = [r for r in records if r.name == name]
        if not pool:
            known = ", ".join(r.name for r in records)
            raise NotFoundError(f"no elder named {name!r} (elders: {known}); or use --from auto")
    target = centroid(embedder.encode(list(texts)))
    best: Choice | None = None
    for record in pool:
        if not record.niche_centroids:
            continue
        ranked = sorted(
            (cosine_distance(target, np.asarray(v)), niche)
            for niche, v in record.niche_centroids.items()
        )
        choice = Choice(
            elder=record,
            distance=ranked[0][0],
            niches=tuple(n for _, n in ranked[:nearest_niches]),
        )
        if best is None or choice.distance < best.distance:
            best = choice
    if best is None:
        raise VibeforgeError("the elders have no niche centroids; retrain them (distill run)")
    return best


def copies(text: str, shown: Sequence[str]) -> bool:
    """Whether `text` repeats a run of COPY_RUN words of any post it was shown."""
    words = _WORD.findall(text.casefold())
    runs = {tuple(words[i : i + COPY_RUN]) for i in range(len(words) - COPY_RUN + 1)}
    if not runs:
        return False
    for post in shown:
        w = _WORD.findall(post.casefold())
        if runs & {tuple(w[i : i + COPY_RUN]) for i in range(len(w) - COPY_RUN + 1)}:
            return True
    return False


def warm_start_texts(
    *,
    base: Base,
    weights: LoraWeights | None,
    niches: Sequence[str],
    timeline: Sequence[str],
    config: SpawnConfig,
    memorization: Any = None,
    pii: Any = None,
    progress: Progress | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """The elder's posts for the new niche that pass the guard: (rows, generated count)."""
    from vibeforge.learn.guard import run_guard
    from vibeforge.models.generate import SamplingParams, generate

    rng = random.Random(config.seed)
    say = progress or (lambda what, done, total: None)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    n = math.ceil(config.warm_examples * config.oversample)
    for start in range(0, n, config.batch_size):
        size = min(config.batch_size, n - start)
        shown = [
            rng.sample(list(timeline), min(config.context_posts, len(timeline)))
            for _ in range(size)
        ]
        prompts = [elder_prompt(base.tokenizer, niches=niches, context=c) for c in shown]
        params = SamplingParams(
            max_new_tokens=config.max_new_tokens,
            temperature=config.temperature,
            seed=config.seed + start,
        )
        gens = generate(base, prompts=prompts, adapters=[weights] * size, params=params)
        texts = [strip_tags(g.text) for g in gens]
        verdicts = run_guard(texts, memorization=memorization, pii=pii)
        for text, verdict, context in zip(texts, verdicts, shown, strict=True):
            folded = " ".join(text.casefold().split())
            if not verdict.ok or not folded or folded in seen or copies(text, context):
                continue
            seen.add(folded)
            rows.append({"text": text, "niches": list(niches), "guard": verdict.as_json()})
        say("elder writing warm-start posts", start + size, n)
    return rows, n


def timeline_reward_model(
    engine: Engine, *, bot: str, timeline: str, preset: str = "x-2026"
) -> RewardModel | None:
    """A reward model fitted on the timeline's posts and their engagement (None: too few)."""
    from vibeforge.learn.reward import get_reward, score
    from vibeforge.learn.reward_model import RewardModelConfig, fit_reward_model

    spec = get_reward(preset)
    with session_scope(engine) as s:
        posts = q.list_posts(s, timeline=timeline, limit=3000, with_metrics=True)
    labelled = [(p.text, score(p.metrics, spec=spec).value) for p in posts if p.metrics]
    if len(labelled) < RewardModelConfig().min_examples:
        return None
    texts, rewards = zip(*labelled, strict=True)
    return fit_reward_model(bot=bot, texts=list(texts), rewards=list(rewards))


def keep_best(
    rows: list[dict[str, Any]], *, model: RewardModel | None, keep: int
) -> list[dict[str, Any]]:
    """The `keep` rows the reward model predicts best (the first `keep` without a model)."""
    if model is None:
        return rows[:keep]
    predicted = model.predict([r["text"] for r in rows])
    for r, p in zip(rows, predicted, strict=True):
        r["predicted_reward"] = round(float(p), 4)
    return sorted(rows, key=lambda r: r["predicted_reward"], reverse=True)[:keep]


def spawn_bot(
    engine: Engine,
    *,
    home: Path,
    name: str,
    timeline: str,
    bank: AdapterBank,
    embedder: Embedder,
    elder: str = "auto",
    persona: str | None = None,
    account: str | None = None,
    platform: str | None = None,
    base_model: str | None = None,
    config: SpawnConfig | None = None,
    memorization: Any = None,
    pii: Any = None,
    progress: Progress | None = None,
) -> SpawnResult:
    """Create bot `name` on `timeline`, warm-started from an elder (see the module docstring);
    `platform`: a name of vibeforge.yaml's `platforms:` (None: `platform:`'s), as for any bot."""
    from vibeforge.distill.pipeline import elder_records
    from vibeforge.learn.vibe import VibeConfig, train_vibe

    config = config or SpawnConfig()
    say = progress or (lambda what, done, total: None)
    check_name(name, what="bot")
    with session_scope(engine) as s:
        try:
            q.get_bot(s, name=name)
            raise AlreadyExistsError(f"bot {name!r} already exists; pick another name")
        except NotFoundError:
            pass
        q.get_timeline(s, name=timeline)
        posts = q.list_posts(s, timeline=timeline, limit=config.timeline_sample)
    if len(posts) < max(config.context_posts, 1):
        raise VibeforgeError(
            f"timeline {timeline!r} has {len(posts)} posts in the store; ingest some first "
            "(a round of 'vibeforge run', or the sandbox's timeline pull)"
        )
    texts = [p.text for p in posts]
    say("choosing the nearest elder", 0, 1)
    choice = choose_elder(
        texts,
        records=elder_records(engine, home=home),
        embedder=embedder,
        name=elder,
        nearest_niches=config.nearest_niches,
    )
    record, elder_base, weights = ElderStore(Home(home).elders).load(
        choice.elder.name, choice.elder.version, home=home
    )
    rows, generated = warm_start_texts(
        base=elder_base,
        weights=weights,
        niches=choice.niches,
        timeline=texts,
        config=config,
        memorization=memorization,
        pii=pii,
        progress=progress,
    )
    del elder_base, weights  # the elder's memory goes before the bot trains
    ranker = timeline_reward_model(engine, bot=name, timeline=timeline, preset=config.reward)
    rows = keep_best(rows, model=ranker, keep=config.warm_examples)
    if len(rows) < 4:
        raise VibeforgeError(
            f"elder {record.name} wrote only {len(rows)} usable posts of {generated}; "
            "raise warm_examples or retrain the elder"
        )
    warm_path = _write_warm_start(home, name=name, record=record, rows=rows)
    persona = persona if persona is not None else f"You post about {timeline.replace('_', ' ')}."
    newest = max(p.created_at for p in posts)
    oldest = min(p.created_at for p in posts)
    synthetic = [
        Post(
            id=f"warm-{i:05d}", text=r["text"], author_id=f"elder:{record.name}", created_at=newest
        )
        for i, r in enumerate(rows)
    ]
    result = train_vibe(
        base=bank.base,
        posts=synthetic,
        timeline=texts,  # its prompts show the new timeline's posts, as the loop's will
        config=VibeConfig(
            persona=persona,
            lr=config.sft_lr,
            epochs=config.sft_epochs,
            max_steps=config.sft_max_steps,
            min_posts=1,
            seed=config.seed,
        ),
        progress=lambda step, total, loss: say(
            f"training {name}'s adapter (loss {loss:.3f})", step, total
        ),
    )
    assert result is not None
    lineage = {
        "elder": record.name,
        "elder_version": record.version,
        "elder_base": record.base_model,
        "niches": list(choice.niches),
        "distance": round(choice.distance, 4),
        "warm_start": str(warm_path),
        "warm_generated": generated,
        "warm_kept": len(rows),
        "ranked_by": None
        if ranker is None
        else f"timeline reward model (held-out Spearman {ranker.info.spearman})",
    }
    bot = Bot(
        name=name,
        timeline=timeline,
        account=account,
        persona=persona,
        base_model=base_model or bank.base.name,
        parent_elder=record.name,
        platform=platform,
    )
    with session_scope(engine) as s:
        bot = q.create_bot(s, bot=bot)
    adapter = bank.save(
        name,
        result.weights,
        kind="spawn",
        window_start=oldest,
        window_end=newest,
        metrics={**result.metrics, "lineage": lineage},
    )
    with session_scope(engine) as s:
        q.add_adapter_version(s, adapter=adapter)
    if ranker is not None:  # the loop's reward model for the new bot, until it refits one
        ranker.save(Home(home).reward_models(name))
    log.info("spawned %s from elder %s v%d (%s)", name, record.name, record.version, choice.niches)
    return SpawnResult(
        bot=bot,
        choice=choice,
        adapter=adapter,
        warm_start=warm_path,
        generated=generated,
        kept=len(rows),
    )


def _write_warm_start(
    home: Path, *, name: str, record: ElderVersion, rows: list[dict[str, Any]]
) -> Path:
    folder = Home(home).spawn(name)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "warm-start.jsonl"
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    lines = "".join(
        json.dumps(
            {**r, "elder": record.name, "elder_version": record.version, "created_at": stamp},
            ensure_ascii=False,
        )
        + "\n"
        for r in rows
    )
    atomic_write_text(path, lines)
    return path
