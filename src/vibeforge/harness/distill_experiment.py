"""The distillation experiment behind bench/distill.py and the slow test, on the sandbox.

grow     one or more small bots per niche of a sandbox world: timeline ingest, vibe SFT,
         a reward model fitted on the niche's engagement, then guarded, scored outputs
distil   plan subsets and train their elders (distill run)
(a)      per niche, fresh posts from the niche's bots and from its elder, each given the same
         sample of the niche's timeline (the bots' persona, the elder's niche tag), are
         assigned to the niche whose human posts' MiniLM centroid is nearest; the elder should
         be assigned right at least as often, and its posts' reward predicted by the niche
         bot's reward model within 10% of the bots' mean. The elder asked with its tag alone
         is reported beside it
(b)      a bot spawned from the elder and a cold-started bot (the loop's first step: SFT on
         the timeline) on the same timeline, with the same SFT budget, then GRPO on the
         niche bot's reward model, guard failures ranked last. R(s) is the mean reward of the group
         sampled after s updates, smoothed over 3 steps. The cold bot's R(rl_steps) is the
         target; the spawned bot should reach it within rl_steps / 2 updates.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vibeforge.distill.config import DistillConfig
from vibeforge.paths import Home

log = logging.getLogger(__name__)
Say = Callable[[str], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExperimentConfig:
    niches: tuple[str, ...] = ("airlines", "apple", "self_driving")
    bots_per_niche: int = 1
    bot_model: str = "smollm2-135m"
    elder_model: str = "gemma3-270m"
    seed: int = 0
    history_hours: float = 24.0  # sandbox time advanced before the first ingest
    sft_steps: int = 12  # vibe SFT steps of every small bot (and of the spawned/cold bots)
    outputs_per_bot: int = 48  # sampled, guarded, scored outputs per bot (the best half is kept)
    new_tokens: int = 40
    elder_epochs: int = 6
    elder_max_steps: int | None = 30  # per elder
    k: int | None = None  # subsets (None: the distance threshold)
    # fresh posts per niche from its bots and from its elder: a rate over 16 posts has a
    # standard error near 0.08, too coarse to tell an elder from its bots
    eval_posts: int = 96
    spawn_niche: str | None = None  # default: the first niche
    warm_examples: int = 32
    rl_steps: int = 20  # the cold bot's RL budget; the spawned bot gets as many at most
    group_size: int = 4
    prompts_per_step: int = 4  # 16 samples a step: a group mean of 8 varied by ~6
    rl_lr: float = 1e-4
    smooth: int = 3

    def __post_init__(self) -> None:
        if not self.niches or self.bots_per_niche < 1:
            raise ValueError("give at least one niche and bots_per_niche >= 1")
        if self.spawn_niche is not None and self.spawn_niche not in self.niches:
            raise ValueError(f"spawn_niche {self.spawn_niche!r} must be one of {self.niches}")
        if self.rl_steps < 2 or self.group_size < 2 or self.smooth < 1:
            raise ValueError("rl_steps and group_size must be >= 2, smooth >= 1")


def _fresh(work: Path) -> None:
    """Empty the work folder, keeping the sandbox's embedding cache (the corpus embeds once)."""
    keep = Home(work).sandbox_world.embeddings
    parked = work.parent / f".{work.name}-embeddings"
    if keep.exists():
        shutil.rmtree(parked, ignore_errors=True)
        keep.rename(parked)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    if parked.exists():
        Home(work).sandbox.mkdir()
        parked.rename(keep)


def smoothed(curve: Sequence[float], window: int) -> list[float]:
    return [float(np.mean(curve[max(0, i - window + 1) : i + 1])) for i in range(len(curve))]


def steps_to_reach(curve: Sequence[float], target: float, window: int) -> int | None:
    """The fewest updates s after which the smoothed reward R(s) reaches `target`."""
    for s, value in enumerate(smoothed(curve, window)):
        if value >= target:
            return s
    return None


def assign_niches(vectors: np.ndarray, centroids: dict[str, np.ndarray]) -> list[str]:
    names = list(centroids)
    matrix = np.stack([centroids[n] for n in names])
    return [names[i] for i in (vectors @ matrix.T).argmax(axis=1)]


@dataclass
class _World:
    sandbox: Any
    rt: Any
    bots: dict[str, list[Any]] = field(default_factory=dict)  # niche -> bots


def _grow(work: Path, models: Path, cfg: ExperimentConfig, say: Say) -> _World:
    from vibeforge.domain import Bot, Timeline, TimelineKind
    from vibeforge.loop import learn as learn_step
    from vibeforge.loop.build import RuntimeSpec
    from vibeforge.loop.config import LoopConfig
    from vibeforge.loop.cycle import run_round
    from vibeforge.sandbox import start_sandbox
    from vibeforge.store import make_engine, session_scope, upgrade
    from vibeforge.store import queries as q

    Home(work).models.symlink_to(models.resolve(), target_is_directory=True)
    say("seeding the sandbox world")
    sandbox = start_sandbox(home=work, world="demo", seed=cfg.seed, speed=0, niches=cfg.niches)
    db_url = Home(work).database_url
    upgrade(make_engine(db_url))
    lists = sandbox.list_ids()
    world = _World(sandbox=sandbox, rt=None)
    with session_scope(make_engine(db_url)) as s:
        for niche in cfg.niches:
            q.create_timeline(
                s, timeline=Timeline(name=niche, kind=TimelineKind.LIST, source=lists[niche])
            )
            for i in range(cfg.bots_per_niche):
                name = f"{niche.replace('_', '')}{i}"
                sandbox.create_account(name, niche=niche, followers=300)
                persona = f"You post about {niche.replace('_', ' ')}."
                bot = q.create_bot(
                    s, bot=Bot(name=name, timeline=niche, account=name, persona=persona)
                )
                world.bots.setdefault(niche, []).append(bot)
    loop = LoopConfig(sft_min_new_posts=8, sft_max_steps=cfg.sft_steps, seed=cfg.seed)
    spec = RuntimeSpec.for_sandbox(
        sandbox, db_url=db_url, home=work, config=loop, model=cfg.bot_model, ner=False, key="k" * 32
    )
    world.rt = rt = spec()
    sandbox.advance(hours=cfg.history_hours)
    run_round(rt, steps=("ingest",))
    for bots in world.bots.values():
        for bot in bots:
            say(f"growing {bot.name}: vibe SFT and reward model")
            report = learn_step.LearnReport()
            learn_step.sft(rt, bot, report)
            learn_step.refit_reward_model(rt, bot, report)
            if rt.reward_model(bot.name) is None:
                raise RuntimeError(f"{bot.name}: too few labelled posts for a reward model")
    return world


def _prompter(rt: Any, rng: random.Random) -> Callable[[Any], list[int]]:
    """bot -> a prompt with a random sample of its timeline (each timeline read once)."""
    from vibeforge.loop.learn import sampled_prompt

    timelines: dict[str, Sequence[str]] = {}

    def prompt(bot: Any) -> list[int]:
        if bot.timeline not in timelines:
            timelines[bot.timeline] = rt.timeline_texts(bot.timeline, limit=50)
        return sampled_prompt(rt, bot, timelines[bot.timeline], rng)

    return prompt


def _reward_fn(rt: Any, judge: str) -> Callable[[str, Sequence[str]], list[float]]:
    """The niche bot's reward model, guard failures ranked below the group, as the loop's RL."""
    from vibeforge.learn.guard import guarded_rewards, run_guard
    from vibeforge.learn.rl import Completions

    model = rt.reward_model(judge)

    def reward(_bot: str, texts: Sequence[str]) -> list[float]:
        verdicts = run_guard(
            list(texts),
            memorization=rt.memorization,
            pii=rt.pii(),
            finish_reasons=texts.finish_reasons if isinstance(texts, Completions) else None,
        )
        return guarded_rewards(model.predict(list(texts)), verdicts)

    return reward


def _evaluate_elders(world: _World, cfg: ExperimentConfig, embedder: Any, say: Say) -> dict:
    """Criterion (a): niche assignment and predicted reward, elder vs the niche's bots.

    Post i of a niche is written by its bots and by its elder from the same information: the
    niche (the bot's persona, the elder's tag) and the same sample of the niche's timeline. The
    elder is also asked with its tag alone (reported, not judged). A post that shares a run of
    words with a post it was shown counts as a copy; an elder's post that shares one with an
    example of its dataset counts as a copy of what it learned from.
    """
    from vibeforge.distill.dataset import DatasetStore
    from vibeforge.distill.elders import ElderStore
    from vibeforge.distill.pipeline import elder_records
    from vibeforge.distill.spawn import copies
    from vibeforge.learn.guard import run_guard
    from vibeforge.learn.prompt import bot_prompt, elder_prompt, strip_tags
    from vibeforge.models.generate import SamplingParams, generate

    rt = world.rt
    rng = random.Random(cfg.seed)
    centroids = {}
    for niche in cfg.niches:
        humans = list(rt.timeline_texts(niche, limit=300))
        v = embedder.encode(humans).mean(axis=0)
        centroids[niche] = v / np.linalg.norm(v)
    params = SamplingParams(max_new_tokens=cfg.new_tokens, temperature=0.9, seed=cfg.seed + 7)
    bank = rt.bank()
    shown: dict[str, list[list[str]]] = {}
    texts: dict[str, dict[str, list[str]]] = {niche: {} for niche in cfg.niches}
    learned: dict[str, list[str]] = {}  # niche -> its elder's training examples
    for niche, bots in world.bots.items():
        say(f"(a) {niche}: fresh posts from its bots")
        timeline = list(rt.timeline_texts(niche, limit=50))
        k = min(rt.config.context_posts, len(timeline))
        shown[niche] = [rng.sample(timeline, k) for _ in range(cfg.eval_posts)]
        tokenizer = bank.base.tokenizer
        rows = [
            (b.name, bot_prompt(tokenizer, persona=b.persona, context=c))
            for i, c in enumerate(shown[niche])
            for b in [bots[i % len(bots)]]
        ]
        texts[niche]["bots"] = [g.text for g in bank.generate(rows, params)]
    store = ElderStore(Home(rt.home).elders)
    for record in elder_records(rt.engine, home=rt.home):
        _, base, weights = store.load(record.name, home=rt.home)
        examples = DatasetStore(store.datasets(record.name)).load(record.dataset_version).examples
        for niche in record.niches:
            learned[niche] = [e.text for e in examples]
            say(f"(a) {niche}: fresh posts from elder {record.name}")
            tok = base.tokenizer
            asks = {
                "elder": [elder_prompt(tok, niches=[niche], context=c) for c in shown[niche]],
                "elder_tag_only": [elder_prompt(tok, niches=[niche])] * cfg.eval_posts,
            }
            for who, prompts in asks.items():
                gens = generate(
                    base, prompts=prompts, adapters=[weights] * len(prompts), params=params
                )
                texts[niche][who] = [strip_tags(g.text) for g in gens]
        del base, weights
    out: dict[str, Any] = {}
    for niche in cfg.niches:
        judge = rt.reward_model(world.bots[niche][0].name)
        row: dict[str, Any] = {}
        for who in ("bots", "elder", "elder_tag_only"):
            got = texts[niche].get(who)
            if not got:
                row[who] = None
                continue
            assigned = assign_niches(embedder.encode(got), centroids)
            guard = run_guard(got, memorization=rt.memorization, pii=rt.pii())
            copy_share = None  # the elder asked with its tag alone was shown nothing
            if who != "elder_tag_only":
                copied = sum(copies(t, c) for t, c in zip(got, shown[niche], strict=True))
                copy_share = round(copied / len(got), 3)
            row[who] = {
                "assigned_right": round(sum(a == niche for a in assigned) / len(got), 3),
                "predicted_reward": round(float(np.mean(judge.predict(got))), 4),
                "guard_pass": round(sum(g.ok for g in guard) / len(got), 3),
                "copies_shown": copy_share,
                "copies_dataset": None
                if who == "bots"
                else round(sum(copies(t, learned[niche]) for t in got) / len(got), 3),
                "sample": got[:2],
            }
        if row["elder"] is not None:
            ratio = row["elder"]["predicted_reward"] / max(row["bots"]["predicted_reward"], 1e-9)
            row["reward_ratio"] = round(ratio, 3)
            row["pass"] = (
                row["elder"]["assigned_right"] >= row["bots"]["assigned_right"] and ratio >= 0.9
            )
        else:
            row["pass"] = False
        out[niche] = row
    return out


def _race(world: _World, cfg: ExperimentConfig, embedder: Any, say: Say) -> dict:
    """Criterion (b): RL steps a spawned bot needs to reach a cold bot's reward after rl_steps."""
    from vibeforge.distill.spawn import SpawnConfig, spawn_bot
    from vibeforge.domain import Bot
    from vibeforge.learn.rl import GRPOConfig, PolicyTrainer
    from vibeforge.learn.vibe import VibeConfig, capture_vibe
    from vibeforge.store import queries as q
    from vibeforge.store import session_scope

    rt = world.rt
    niche = cfg.spawn_niche or cfg.niches[0]
    judge = world.bots[niche][0].name
    bank = rt.bank()
    say(f"(b) spawning a bot on {niche} from the nearest elder")
    t0 = time.perf_counter()
    spawned = spawn_bot(
        rt.engine,
        home=rt.home,
        name="spawned",
        timeline=niche,
        bank=bank,
        embedder=embedder,
        config=SpawnConfig(
            warm_examples=cfg.warm_examples,
            max_new_tokens=cfg.new_tokens,
            sft_max_steps=cfg.sft_steps,
            seed=cfg.seed,
        ),
        memorization=rt.memorization,
        pii=rt.pii(),
    )
    spawn_s = time.perf_counter() - t0
    persona = spawned.bot.persona
    say(f"(b) cold-starting a bot on {niche}: SFT on its timeline")
    with session_scope(rt.engine) as s:
        cold = q.create_bot(s, bot=Bot(name="cold", timeline=niche, persona=persona))
        posts = q.list_posts(s, timeline=niche, limit=2000)
    capture_vibe(
        bank=bank,
        bot="cold",
        posts=posts,
        config=VibeConfig(persona=persona, max_steps=cfg.sft_steps, min_posts=1, seed=cfg.seed),
    )
    reward = _reward_fn(rt, judge)
    grpo = GRPOConfig(
        group_size=cfg.group_size,
        max_new_tokens=cfg.new_tokens,
        learning_rate=cfg.rl_lr,
        seed=cfg.seed,
    )

    def curve(bot: Any, target: float | None) -> list[float]:
        trainer = PolicyTrainer(bank, grpo)
        prompt = _prompter(rt, random.Random(cfg.seed))  # the same prompts for both bots
        values: list[float] = []
        for step in range(cfg.rl_steps + 1):
            prompts = [(bot.name, prompt(bot)) for _ in range(cfg.prompts_per_step)]
            if step == cfg.rl_steps:  # R(rl_steps): sample, no update
                groups = trainer.sample(prompts)
                texts = [g.text for group in groups for g in group]
                values.append(float(np.mean(reward(bot.name, texts))))
            else:
                report = trainer.step(prompts, reward_fn=reward)
                values.append(float(np.mean(list(report.mean_reward.values()))))
            say(f"(b) {bot.name}: R({step}) = {values[-1]:.3f}")
            if target is not None and steps_to_reach(values, target, cfg.smooth) is not None:
                break
        return values

    cold_curve = curve(cold, None)
    target = smoothed(cold_curve, cfg.smooth)[-1]
    spawn_curve = curve(spawned.bot, target)
    needed = steps_to_reach(spawn_curve, target, cfg.smooth)
    return {
        "niche": niche,
        "judge": judge,
        "elder": spawned.choice.elder.name,
        "elder_niches": list(spawned.choice.niches),
        "elder_distance": round(spawned.choice.distance, 4),
        "warm_generated": spawned.generated,
        "warm_kept": spawned.kept,
        "spawn_seconds": round(spawn_s, 1),
        "cold_curve": [round(v, 4) for v in cold_curve],
        "spawned_curve": [round(v, 4) for v in spawn_curve],
        "target": round(target, 4),
        "cold_steps": cfg.rl_steps,
        "spawned_steps": needed,
        "pass": needed is not None and needed <= cfg.rl_steps // 2,
    }


def run_experiment(
    work: Path,
    *,
    models: Path,
    config: ExperimentConfig | None = None,
    say: Say | None = None,
) -> dict[str, Any]:
    """Run the whole experiment in `work` (emptied first); returns the JSON-able result."""
    from vibeforge.distill.cluster import make_plan
    from vibeforge.distill.outputs import sample_outputs
    from vibeforge.distill.pipeline import run_distill
    from vibeforge.embedding import shared_embedder

    cfg = config or ExperimentConfig()
    say = say or (lambda msg: log.info("%s", msg))
    timings: dict[str, float] = {}
    t = time.perf_counter()
    _fresh(work)
    world = _grow(work, models, cfg, say)
    try:
        rt = world.rt
        bank = rt.bank()
        prompt_for = _prompter(rt, random.Random(cfg.seed))
        bots = [b for group in world.bots.values() for b in group]
        keep = max(4, cfg.outputs_per_bot // 2)  # each bot's best half goes to its elder
        short, total = bots, dict.fromkeys((b.name for b in bots), 0)
        for attempt in range(3):  # bots short of `keep` guard-passing outputs sample again
            say(f"sampling {cfg.outputs_per_bot} outputs from each of {len(short)} bots")
            passed = sample_outputs(
                engine=rt.engine,
                bank=bank,
                bots=short,
                per_bot=cfg.outputs_per_bot,
                predict=lambda bot, texts: rt.reward_model(bot).predict(list(texts)),
                prompt_for=prompt_for,
                max_new_tokens=cfg.new_tokens,
                seed=cfg.seed + attempt,
                memorization=rt.memorization,
                pii=rt.pii(),
            )
            for name, n in passed.items():
                total[name] += n
            short = [b for b in short if total[b.name] < keep]
            if not short:
                break
        timings["grow_s"] = time.perf_counter() - t
        embedder = shared_embedder()
        distill = DistillConfig(
            elder_base=cfg.elder_model,
            k=cfg.k,
            per_bot=keep,
            epochs=cfg.elder_epochs,
            max_steps=cfg.elder_max_steps,
            min_per_bot=4,
            seed=cfg.seed,
        )
        plan = make_plan(rt.engine, embedder=embedder, config=distill)
        t = time.perf_counter()
        say(f"training {len(plan.subsets)} elder(s) on {cfg.elder_model}")
        outcomes = run_distill(
            rt.engine,
            home=rt.home,
            config=distill,
            embedder=embedder,
            progress=lambda what, done, total: say(f"{what} {done}/{total}") if done else None,
        )
        timings["distill_s"] = time.perf_counter() - t
        t = time.perf_counter()
        niches = _evaluate_elders(world, cfg, embedder, say)
        timings["eval_a_s"] = time.perf_counter() - t
        say("(a) " + json.dumps(niches, default=str))
        t = time.perf_counter()
        race = _race(world, cfg, embedder, say)
        timings["race_b_s"] = time.perf_counter() - t
    finally:
        world.sandbox.stop()
    return {
        "config": asdict(cfg),
        "plan": plan.as_json(),
        "elders": [o.as_json() for o in outcomes],
        "a_per_niche": niches,
        "a_pass": all(r["pass"] for r in niches.values()),
        "b_spawn_vs_cold": race,
        "b_pass": race["pass"],
        "seconds": {k: round(v, 1) for k, v in timings.items()},
    }
