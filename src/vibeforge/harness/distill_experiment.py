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
         niche bot's reward model, guard failures ranked last (what the learner sees). Each
         point of the race (step 0, every `eval_every` steps, step rl_steps) is judged by
         ground truth the learner never sees: `eval_samples` fresh posts (the same prompts
         for both bots, sampled, trimmed and made postable as the loop's act step does)
         scored by the sandbox's noise-free expected engagement (`World.evaluate`, what
         /admin/evaluate serves; the loop's reward per 1,000 impressions, reach floor 1).
         The reward model's view (its score of the same posts, and the old race on the
         smoothed RL group reward) is reported beside it, never judged.
         Decision (`judge_race`, Welch's t on the per-sample scores, alpha 0.05):
           the race counts when the cold bot improved: its mean after rl_steps is above its
           step-0 mean with one-sided p < alpha; otherwise `race_counts` is false, with the
           reason, and (b) fails;
           (b) passes when the race counts and the spawned bot's step-0 mean is at or above
           the cold bot's mean after rl_steps; the difference's 95% CI says whether it is
           above beyond the noise ("above") or within it ("at (within noise)").
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
from vibeforge.harness.truth import expected_scores
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
    smooth: int = 3  # the reward model's view of the race: R(s) smoothed over this many steps
    # (b)'s ground truth: fresh posts judged by the sandbox per point of the race (the issue
    # asks for >= 64), at step 0, every `eval_every` steps (0: step 0 and the end only) and
    # after the last step; the spawned bot runs `spawned_rl_steps` (default rl_steps)
    eval_samples: int = 64
    eval_every: int = 5
    spawned_rl_steps: int | None = None
    alpha: float = 0.05  # one-sided level of the cold bot's improvement test

    def __post_init__(self) -> None:
        if not self.niches or self.bots_per_niche < 1:
            raise ValueError("give at least one niche and bots_per_niche >= 1")
        if self.spawn_niche is not None and self.spawn_niche not in self.niches:
            raise ValueError(f"spawn_niche {self.spawn_niche!r} must be one of {self.niches}")
        if self.rl_steps < 2 or self.group_size < 2 or self.smooth < 1:
            raise ValueError("rl_steps and group_size must be >= 2, smooth >= 1")
        if self.eval_samples < 2 or self.eval_every < 0:
            raise ValueError(
                f"eval_samples ({self.eval_samples}) must be >= 2 to estimate a mean's noise "
                f"(the claim needs 64) and eval_every ({self.eval_every}) >= 0"
            )
        if self.spawned_rl_steps is not None and self.spawned_rl_steps < 0:
            raise ValueError(f"spawned_rl_steps ({self.spawned_rl_steps}) must be >= 0")
        if not 0 < self.alpha < 0.5:
            raise ValueError(f"alpha ({self.alpha}) must be within (0, 0.5); the claim uses 0.05")

    def checkpoints(self, steps: int) -> list[int]:
        """The RL steps after which a bot's posts are judged by the sandbox: 0, every
        `eval_every`, and `steps`."""
        every = self.eval_every or max(steps, 1)
        return sorted({0, steps, *range(every, steps, every)})


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


@dataclass(frozen=True, slots=True)
class Welch:
    """Welch's comparison of two samples' means: `b` − `a`, with its noise."""

    mean_a: float
    se_a: float
    n_a: int
    mean_b: float
    se_b: float
    n_b: int
    diff: float  # mean_b − mean_a
    diff_se: float
    df: float
    ci95: tuple[float, float]  # two-sided 95% CI of diff
    p_greater: float  # one-sided p of "b's mean is above a's"

    def as_json(self, a: str, b: str) -> dict[str, Any]:
        r = _r4
        return {
            a: {"mean": r(self.mean_a), "se": r(self.se_a), "n": self.n_a},
            b: {"mean": r(self.mean_b), "se": r(self.se_b), "n": self.n_b},
            "diff": r(self.diff),
            "diff_se": r(self.diff_se),
            "ci95": [r(self.ci95[0]), r(self.ci95[1])],
            "df": round(self.df, 1),
            "p_one_sided": round(self.p_greater, 5),
        }


def _r4(x: float | np.floating[Any]) -> float:
    return round(float(x), 4)


def welch(a: Sequence[float], b: Sequence[float]) -> Welch:
    """Welch's t on per-sample scores: b's mean − a's, its 95% CI and the one-sided p that
    b's mean is above a's (no equal-variance assumption)."""
    from scipy import stats

    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(xa) < 2 or len(xb) < 2:
        raise ValueError(f"need >= 2 scores per sample to judge noise, got {len(xa)}, {len(xb)}")
    va, vb = xa.var(ddof=1) / len(xa), xb.var(ddof=1) / len(xb)
    diff = float(xb.mean() - xa.mean())
    se = float(np.sqrt(va + vb))
    if se > 0:
        df = float((va + vb) ** 2 / (va**2 / (len(xa) - 1) + vb**2 / (len(xb) - 1)))
        p = float(stats.t.sf(diff / se, df))
        half = float(stats.t.ppf(0.975, df)) * se
    else:  # both samples constant: the difference is exact
        df = float(len(xa) + len(xb) - 2)
        p = 0.0 if diff > 0 else (1.0 if diff < 0 else 0.5)
        half = 0.0
    return Welch(
        mean_a=float(xa.mean()),
        se_a=float(np.sqrt(va)),
        n_a=len(xa),
        mean_b=float(xb.mean()),
        se_b=float(np.sqrt(vb)),
        n_b=len(xb),
        diff=diff,
        diff_se=se,
        df=df,
        ci95=(diff - half, diff + half),
        p_greater=p,
    )


def judge_race(
    cold_start: Sequence[float],
    cold_end: Sequence[float],
    spawned_start: Sequence[float],
    *,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Criterion (b) on one seed from the sandbox's per-sample expected scores.

    The race counts when the cold bot improved: its mean after the RL steps (`cold_end`) is
    above its step-0 mean (`cold_start`) with Welch's one-sided p < alpha. (b) passes when the
    race counts and the spawned bot's step-0 mean is at or above `cold_end`'s; the verdict
    says how the difference's 95% CI lies: "above" (wholly above 0), "at (within noise)"
    (contains 0, mean difference >= 0), "below (within noise)" (contains 0, < 0) or "below".
    """
    gain = welch(cold_start, cold_end)
    versus = welch(cold_end, spawned_start)
    head = welch(cold_start, spawned_start)
    counts = gain.diff > 0 and gain.p_greater < alpha
    race_reason = None
    if not counts:
        race_reason = (
            f"the cold bot did not improve beyond the noise: expected score "
            f"{gain.mean_a:.3f} -> {gain.mean_b:.3f} (difference {gain.diff:+.3f}, 95% CI "
            f"[{gain.ci95[0]:+.3f}, {gain.ci95[1]:+.3f}], one-sided p = {gain.p_greater:.3g} "
            f">= {alpha})"
        )
    lo, hi = versus.ci95
    if lo > 0:
        verdict = "above"
    elif versus.diff >= 0:
        verdict = "at (within noise)"
    elif hi >= 0:
        verdict = "below (within noise)"
    else:
        verdict = "below"
    at_or_above = versus.diff >= 0
    passed = counts and at_or_above
    spawned_text = (
        f"the spawned bot starts {verdict} the cold bot's end: {versus.mean_b:.3f} vs "
        f"{versus.mean_a:.3f} (difference {versus.diff:+.3f}, 95% CI [{lo:+.3f}, {hi:+.3f}])"
    )
    why = spawned_text if counts else f"the race does not count ({race_reason}); {spawned_text}"
    return {
        "alpha": alpha,
        "cold_gain": gain.as_json("cold_step0", "cold_end"),
        "spawned_vs_cold_end": versus.as_json("cold_end", "spawned_step0"),
        "head_start": head.as_json("cold_step0", "spawned_step0"),
        "race_counts": counts,
        "race_reason": race_reason,
        "spawned_at_or_above": at_or_above,
        "verdict": verdict,
        "pass": passed,
        "why": why,
    }


@dataclass(frozen=True, slots=True)
class RaceScores:
    """One seed's per-sample expected scores at the three points (b) is decided on."""

    seed: int
    cold_start: list[float]
    cold_end: list[float]
    spawned_start: list[float]


def race_scores(result: dict[str, Any]) -> RaceScores:
    """The RaceScores of a run_experiment result (its race's first and last judged points)."""
    race = result["b_spawn_vs_cold"]
    cold, spawned = race["cold"]["points"], race["spawned"]["points"]
    return RaceScores(
        seed=int(result["config"]["seed"]),
        cold_start=list(cold[0]["_expected"]),
        cold_end=list(cold[-1]["_expected"]),
        spawned_start=list(spawned[0]["_expected"]),
    )


def pool_races(
    seeds: Sequence[RaceScores],
    *,
    alpha: float = 0.05,
    want_seeds: int = 5,
    want_samples: int = 64,
    rl_steps: int | None = None,
    want_rl_steps: int = 20,
) -> dict[str, Any]:
    """(b) over seeds: each seed judged by `judge_race`, how many counted and passed, and the
    pooled samples' comparisons (reported). The issue's target is met when every seed passes,
    on at least `want_seeds` seeds, with >= `want_samples` samples per point and the cold bot
    given >= `want_rl_steps` RL steps; `not_claimed` lists what is short."""
    per_seed = []
    for s in seeds:
        d = judge_race(s.cold_start, s.cold_end, s.spawned_start, alpha=alpha)
        per_seed.append(
            {
                "seed": s.seed,
                "race_counts": d["race_counts"],
                "pass": d["pass"],
                "verdict": d["verdict"],
                "cold_step0": d["cold_gain"]["cold_step0"]["mean"],
                "cold_end": d["cold_gain"]["cold_end"]["mean"],
                "cold_gain_p": d["cold_gain"]["p_one_sided"],
                "spawned_step0": d["spawned_vs_cold_end"]["spawned_step0"]["mean"],
                "spawned_minus_cold_end": d["spawned_vs_cold_end"]["diff"],
                "ci95": d["spawned_vs_cold_end"]["ci95"],
                "why": d["why"],
            }
        )
    counted = sum(r["race_counts"] for r in per_seed)
    passed = sum(r["pass"] for r in per_seed)
    short = []
    if len(per_seed) < want_seeds:
        short.append(f"{len(per_seed)} seed(s) run, the claim needs {want_seeds}")
    fewest = min(
        (min(len(s.cold_start), len(s.cold_end), len(s.spawned_start)) for s in seeds), default=0
    )
    if fewest < want_samples:
        short.append(f"{fewest} samples per point, the claim needs >= {want_samples}")
    if rl_steps is not None and rl_steps < want_rl_steps:
        short.append(f"the cold bot ran {rl_steps} RL steps, the claim is about {want_rl_steps}")
    if counted < len(per_seed):
        short.append(f"the race counted on {counted} of {len(per_seed)} seeds")
    if passed < len(per_seed):
        short.append(f"(b) passed on {passed} of {len(per_seed)} seeds")
    pooled: dict[str, Any] = {}
    if seeds:

        def cat(attr: str) -> list[float]:
            return [v for s in seeds for v in getattr(s, attr)]

        pooled = {
            "cold_gain": welch(cat("cold_start"), cat("cold_end")).as_json(
                "cold_step0", "cold_end"
            ),
            "spawned_vs_cold_end": welch(cat("cold_end"), cat("spawned_start")).as_json(
                "cold_end", "spawned_step0"
            ),
        }
    return {
        "seeds": [s.seed for s in seeds],
        "race_counted": counted,
        "b_passed": passed,
        "per_seed": per_seed,
        "pooled_samples": pooled,  # reported: seeds are different worlds
        "b_pass_every_seed": bool(per_seed) and passed == len(per_seed),
        "target_met": bool(per_seed) and not short,
        "not_claimed": short,
    }


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


@dataclass
class _Judge:
    """The bench's view of a race point: fresh posts for fixed prompts, scored by the sandbox
    (truth) and by the reward model the learner optimises (its view)."""

    rt: Any
    world: Any  # the sandbox's World
    author_id: int  # the posts are judged as this account's
    at_ms: int  # and at this moment of platform time
    spec: Any  # the loop's reward spec, reach floor 1
    model: Any  # the niche bot's reward model
    prompts: list[list[int]]
    cfg: ExperimentConfig

    def point(self, bot: str, step: int) -> dict[str, Any]:
        from vibeforge.learn.guard import failure_shares, run_guard
        from vibeforge.learn.reward_model import spearman
        from vibeforge.models.generate import SamplingParams, trim_generation
        from vibeforge.privacy.patterns import postable

        bank = self.rt.bank()
        params = SamplingParams(
            max_new_tokens=self.cfg.new_tokens,
            temperature=self.rt.config.temperature,
            seed=self.cfg.seed * 1000 + 17,
        )
        gens = bank.generate([(bot, p) for p in self.prompts], params)
        tokenizer = bank.base.tokenizer
        gens = [trim_generation(g, tokenizer) or g for g in gens]
        texts = [postable(g.text) for g in gens]
        verdicts = run_guard(
            texts,
            memorization=self.rt.memorization,
            pii=self.rt.pii(),
            finish_reasons=[g.finish_reason for g in gens],
        )
        expected = expected_scores(
            self.world, texts, author_id=self.author_id, spec=self.spec, at_ms=self.at_ms
        )
        rm = [float(v) for v in self.model.predict(texts)]
        n = len(texts)
        agreement = spearman(rm, expected)
        return {
            "step": step,
            "n": n,
            "expected": _r4(np.mean(expected)),
            "expected_se": _r4(np.std(expected, ddof=1) / np.sqrt(n)),
            "rm_score": _r4(np.mean(rm)),
            "rm_vs_expected_spearman": None if agreement is None else _r4(agreement),
            "guard_failure_share": _r4(failure_shares(verdicts).get("any", 0.0)),
            "empty": sum(not t for t in texts),
            "examples": texts[:2],
            "_expected": [_r4(v) for v in expected],
            "_rm": [_r4(v) for v in rm],
        }


def _race(world: _World, cfg: ExperimentConfig, embedder: Any, say: Say) -> dict:
    """Criterion (b): the spawned bot's start against the cold bot's end, judged by the sandbox."""
    from dataclasses import replace

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
    # the truth: both bots' posts judged as a new account of the niche (followers like the
    # niche's bots) at one moment, for the same prompts (both bots share the persona)
    sandbox_world = world.sandbox.world
    author_id, _ = sandbox_world.create_account(handle="racejudge", niche=niche, followers=300)
    eval_prompt = _prompter(rt, random.Random(cfg.seed + 10_007))
    truth = _Judge(
        rt=rt,
        world=sandbox_world,
        author_id=author_id,
        at_ms=sandbox_world.now_ms(),
        spec=replace(rt.reward_spec(), reach_floor=1.0),
        model=rt.reward_model(judge),
        prompts=[eval_prompt(cold) for _ in range(cfg.eval_samples)],
        cfg=cfg,
    )
    timings = {"rl_s": 0.0, "judge_s": 0.0}

    def run(bot: Any, steps: int) -> dict[str, Any]:
        """`steps` GRPO steps; R(s), the mean reward-model reward of the group sampled after s
        updates (R(steps): sampled, no update); the truth at the checkpoints."""
        trainer = PolicyTrainer(bank, grpo)
        prompt = _prompter(rt, random.Random(cfg.seed))  # the same prompts for both bots
        rm_curve: list[float] = []
        points: list[dict[str, Any]] = []
        checkpoints = set(cfg.checkpoints(steps))
        for step in range(steps + 1):
            if step in checkpoints:
                t = time.perf_counter()
                points.append(truth.point(bot.name, step))
                timings["judge_s"] += time.perf_counter() - t
                say(
                    f"(b) {bot.name}: truth({step}) = {points[-1]['expected']:.3f} "
                    f"± {points[-1]['expected_se']:.3f}, reward model {points[-1]['rm_score']:.3f}"
                )
            t = time.perf_counter()
            prompts = [(bot.name, prompt(bot)) for _ in range(cfg.prompts_per_step)]
            if step == steps:  # R(steps): sample, no update
                groups = trainer.sample(prompts)
                texts = [g.text for group in groups for g in group]
                rm_curve.append(float(np.mean(reward(bot.name, texts))))
            else:
                report = trainer.step(prompts, reward_fn=reward)
                rm_curve.append(float(np.mean(list(report.mean_reward.values()))))
            timings["rl_s"] += time.perf_counter() - t
            say(f"(b) {bot.name}: R({step}) = {rm_curve[-1]:.3f}")
        return {"steps": steps, "points": points, "rm_curve": [_r4(v) for v in rm_curve]}

    cold_run = run(cold, cfg.rl_steps)
    spawned_steps = cfg.rl_steps if cfg.spawned_rl_steps is None else cfg.spawned_rl_steps
    spawned_run = run(spawned.bot, spawned_steps)
    cold_pts, spawned_pts = cold_run["points"], spawned_run["points"]
    decision = judge_race(
        cold_pts[0]["_expected"],
        cold_pts[-1]["_expected"],
        spawned_pts[0]["_expected"],
        alpha=cfg.alpha,
    )
    # the reward model's view, reported beside the truth and never judged: its score of the
    # same posts, and the old race on the smoothed group reward of the RL samples
    target = smoothed(cold_run["rm_curve"], cfg.smooth)[-1]
    rm_start, rm_end = cold_pts[0]["rm_score"], cold_pts[-1]["rm_score"]
    truth_gain = decision["cold_gain"]["diff"]
    return {
        "niche": niche,
        "judge": judge,
        "elder": spawned.choice.elder.name,
        "elder_niches": list(spawned.choice.niches),
        "elder_distance": round(spawned.choice.distance, 4),
        "warm_generated": spawned.generated,
        "warm_kept": spawned.kept,
        "spawn_seconds": round(spawn_s, 1),
        "judged_by": (
            f"the sandbox's expected engagement ({rt.config.reward} per 1,000 impressions, "
            f"reach floor 1) of {cfg.eval_samples} fresh posts per point, the same prompts "
            "for both bots; the learner never sees it"
        ),
        "cold": cold_run,
        "spawned": spawned_run,
        "decision": decision,
        "race_counts": decision["race_counts"],
        "race_reason": decision["race_reason"],
        "pass": decision["pass"],
        "reward_model_view": {
            "cold_rm_score": [rm_start, rm_end],
            "spawned_rm_score_step0": spawned_pts[0]["rm_score"],
            # the reward model says the cold bot improved while the audience says it got worse
            "cold_rm_up_truth_down": rm_end > rm_start and truth_gain < 0,
            "target_smoothed_R": _r4(target),
            "spawned_steps_to_target": steps_to_reach(spawned_run["rm_curve"], target, cfg.smooth),
        },
        "seconds": {k: round(v, 1) for k, v in timings.items()},
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
        "race_counts": race["race_counts"],
        "race_reason": race["race_reason"],
        "b_pass": race["pass"],
        "seconds": {k: round(v, 1) for k, v in timings.items()},
    }
