"""Learning from engagement in the sandbox: does RL raise the audience's real engagement, on
every seed, judged by what the learner never sees?

One bot in one niche of the embedded sandbox, driven by the real loop runtime (run_round), once
per seed (default 0-4):

    setup     ingest its niche's List, vibe SFT (the bot's starting adapter), reward model
    pre-RL    --pre-posts posts with the SFT adapter (act: K candidates, guard, best by the
              reward model, publish), one every --hours-per-post hours of platform time
    RL        then --rl-posts more; before each one the learn step runs --rl-steps GRPO steps
              (pessimistic reward-model ensemble, guard failures ranked below their group, KL
              to the base) and an off-policy update from the real rewards of published posts;
              the reward model refits as labels arrive (timeline posts re-read at 1 h, 6 h,
              24 h) and RL waits while it disagrees with the audience. Vibe SFT is off in this
              phase, so what changes the bot is RL alone.
    judge     --samples fresh posts (default 64) drawn from the base model, from the SFT adapter
              (before RL) and from the final adapter (after RL), each scored by the sandbox's
              noise-free expected engagement (`World.evaluate`, what `/admin/evaluate` serves;
              only the bench reads it), by the final reward model, by the guard (fluency,
              toxicity, ...), by a niche classifier (off-niche share) and by a discriminator
              telling them from the niche's human posts (ROC AUC 0.5: cannot be told apart;
              MiniLM embeddings, the kind RL's critic uses, and character n-grams, which it
              never met).
              Published posts: their realised score (the loop's own reward) after the clock
              moved 24 h past the last one.

    python bench/learning.py [--home .vibeforge] [--seeds 0,1,2,3,4] [--samples 64] ...

Prints one JSON object (per seed and pooled, targets included) and writes PNG plots beside it
(a curve per seed and the before/after summary) under --home's reports/.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from vibeforge.paths import Home

# OpenMP keeps its default wait policy: on a quiet machine OMP_WAIT_POLICY=PASSIVE makes every
# small matmul wait ~0.2 ms for sleeping threads (a LoRA step does thousands); set it when other
# processes compete for the cores
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

log = logging.getLogger("bench.learning")

PERSONA = "a frequent flyer who jokes about delays, lost bags and airline service"


@dataclass(frozen=True, kw_only=True)
class LearningConfig:
    world: str = "demo"  # sandbox world (demo: three niches, MiniLM audience)
    niche: str = "airlines"  # the bot's niche
    # a longer visible history than the demo world's 3 days: the reward model learns what this
    # audience rewards from the niche's human posts, and ~50 labels taught it nothing
    tweets_per_niche: int = 1200  # corpus tweets per niche over history + horizon
    history_days: float = 6.0  # of them, posted before the bot arrives
    persona: str = PERSONA
    model: str = "smollm2-135m"
    seed: int = 0
    followers: int = 400  # niche followers the bot's account starts with
    pre_posts: int = 12  # posts with the SFT adapter before RL starts
    rl_posts: int = 18  # posts while RL runs
    hours_per_post: int = 3  # platform hours between posts
    rl_steps: int = 2  # GRPO steps before each RL-phase post
    rl_learning_rate: float = 5e-4  # AdamW step size of the LoRA updates
    humanlike: float = 0.2  # λ of RL's human-likeness critic (loop's rl_humanlike; 0: off)
    kl_coef: float = 0.04  # β of RL's KL to its reference
    kl_reference: str = "sft"  # RL's reference policy: the SFT adapter, or "base"
    # the agreement monitor pauses RL when this upper confidence bound of its Spearman is below
    # the floor (loop's rm_monitor_confidence; 0: the point estimate)
    monitor_confidence: float = 0.0
    group_size: int = 8  # G
    candidates: int = 4  # K candidates per post, the reward model picks one
    max_new_tokens: int = 40
    sft_max_steps: int = 24
    window: int = 9  # the last `window` posts are compared with the pre-RL posts
    samples: int = 64  # fresh posts judged per point (base, SFT, after RL)
    ner: bool = False  # spaCy NER in the scrubber (slow on a CPU; the regex pass stays)

    def __post_init__(self) -> None:
        if self.pre_posts < 2 or self.rl_posts < 2:
            raise ValueError("pre_posts and rl_posts must be >= 2 to compare means; try 12 and 24")
        if not 1 <= self.window <= self.rl_posts:
            raise ValueError(f"window ({self.window}) must be within 1..rl_posts ({self.rl_posts})")
        if self.hours_per_post < 1:
            raise ValueError("hours_per_post must be >= 1 (metrics are read hourly)")
        if self.samples < 10:
            raise ValueError(f"samples ({self.samples}) must be >= 10 to judge a point; use 64")


def _fresh(root: Path, *, models: Path) -> None:
    """Empty `root`, keeping the sandbox's embedding cache (the corpus embeds once); the base
    models come from `models` (prepared once, not per run)."""
    keep = Home(root).sandbox_world.embeddings
    parked = root.parent / f".{root.name}-embeddings"
    if keep.exists():
        shutil.rmtree(parked, ignore_errors=True)
        keep.rename(parked)
    if Home(root).models.is_symlink():
        Home(root).models.unlink()
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    if parked.exists():
        Home(root).sandbox.mkdir()
        parked.rename(keep)
    models.mkdir(parents=True, exist_ok=True)
    Home(root).models.symlink_to(models.resolve(), target_is_directory=True)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def niche_classifier(rt: Any, lists: dict[str, str]) -> tuple[Any, dict[str, list[str]]]:
    """The nearest-centroid niche classifier on every niche's human posts, and those posts."""
    from vibeforge.analytics.niche import NicheClassifier
    from vibeforge.domain import Timeline, TimelineKind

    texts: dict[str, list[str]] = {}
    for niche in sorted(lists):
        source = Timeline(name=niche, kind=TimelineKind.LIST, source=lists[niche])
        texts[niche] = [p.text for p in rt.platform.timeline(source=source, max_posts=400)]
    return NicheClassifier.fit(texts), texts


def fresh_samples(rt: Any, bot: Any, *, adapter: bool, n: int, seed: int) -> dict[str, Any]:
    """`n` posts sampled as act samples them (prompt with timeline posts drawn at random,
    trimmed at a sentence or word end, no placeholders), from the bot's adapter or, with
    adapter=False, from the base model alone; with each one's guard verdicts."""
    import random

    from vibeforge.learn.guard import run_guard
    from vibeforge.loop.learn import sampled_prompt
    from vibeforge.models.generate import SamplingParams, trim_generation
    from vibeforge.privacy.patterns import postable

    bank = rt.bank()
    rng = random.Random(seed)
    timeline = rt.timeline_texts(bot.timeline, limit=50)
    prompts = [sampled_prompt(rt, bot, timeline, rng) for _ in range(n)]
    params = SamplingParams(
        max_new_tokens=rt.config.max_new_tokens, temperature=rt.config.temperature, seed=seed
    )
    gens = bank.generate([(bot.name if adapter else None, p) for p in prompts], params)
    tokenizer = bank.base.tokenizer
    gens = [trim_generation(g, tokenizer) or g for g in gens]
    texts = [postable(g.text) for g in gens]
    verdicts = run_guard(
        texts,
        memorization=rt.memorization,
        pii=rt.pii(),
        finish_reasons=[g.finish_reason for g in gens],
        **guard_extras(rt, bot),
    )
    return {"texts": texts, "verdicts": verdicts}


def guard_extras(rt: Any, bot: Any) -> dict[str, Any]:
    """The guard's fluency reference for the bot's timeline (as act and RL pass it)."""
    return {"fluency": rt.fluency(bot.timeline)}


def judge(
    samples: dict[str, Any],
    *,
    sandbox: Any,
    author_id: int,
    model: Any,
    classify: Any,
    niche: str,
    spec: Any,
) -> dict[str, Any]:
    """Expected engagement (sandbox truth), reward-model score, guard and off-niche shares of
    one point's samples. An empty post earns 0."""
    from vibeforge.harness.truth import expected_scores
    from vibeforge.learn.guard import failure_shares
    from vibeforge.learn.reward_model import spearman

    texts = samples["texts"]
    nonempty = [t for t in texts if t]
    expected = expected_scores(sandbox.world, texts, author_id=author_id, spec=spec)
    rm = [float(v) for v in model.predict(texts)] if model is not None else []
    shares = failure_shares(samples["verdicts"])
    off = classify.off_niche_share(nonempty, niche) if nonempty else None
    return {
        "n": len(texts),
        "expected": _round(_mean(expected)),
        "expected_sd": _round(float(_sd(expected))),
        "rm_score": _round(_mean(rm)),
        "rm_vs_expected_spearman": _round(spearman(rm, expected)) if rm else None,
        "guard_failure_shares": {k: _round(v) for k, v in sorted(shares.items())},
        "off_niche": _round(off),
        "empty": sum(not t for t in texts),
        "examples": texts[:3],
        "_expected": expected,
        "_rm": rm,
    }


def _say(message: str) -> None:
    """A progress line on stderr (the JSON goes to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _sd(values: list[float]) -> float:
    import statistics

    return statistics.stdev(values) if len(values) > 1 else 0.0


def run_learning(home: Path, config: LearningConfig | None = None) -> dict[str, Any]:
    """Run the experiment in `home/learning` (replaced if present); returns the report."""
    from vibeforge.domain import Bot, Timeline, TimelineKind
    from vibeforge.harness.truth import expected_metrics
    from vibeforge.learn.guard import failure_shares, run_guard
    from vibeforge.learn.reward import get_reward, score
    from vibeforge.loop.build import RuntimeSpec
    from vibeforge.loop.config import LoopConfig
    from vibeforge.loop.cycle import run_round
    from vibeforge.loop.observe import post_rewards
    from vibeforge.sandbox import start_sandbox
    from vibeforge.store import make_engine, session_scope, upgrade
    from vibeforge.store import queries as q

    config = config or LearningConfig()
    started = time.perf_counter()
    root = home / "learning"
    _fresh(root, models=Home(home).models)
    bot_name = "learnbot"
    sandbox = start_sandbox(
        home=root,
        world=config.world,
        seed=config.seed,
        speed=0,
        tweets_per_niche=config.tweets_per_niche,
        history_days=config.history_days,
    )
    try:
        lists = sandbox.list_ids()
        if config.niche not in lists:
            raise ValueError(
                f"world {config.world!r} has no niche {config.niche!r}: {sorted(lists)}"
            )
        db_url = Home(root).database_url
        engine = make_engine(db_url)
        upgrade(engine)
        author_id, _ = sandbox.world.create_account(
            handle=bot_name, niche=config.niche, followers=config.followers
        )
        with session_scope(engine) as s:
            q.create_timeline(
                s,
                timeline=Timeline(
                    name=config.niche, kind=TimelineKind.LIST, source=lists[config.niche]
                ),
            )
            q.create_bot(
                s,
                bot=Bot(
                    name=bot_name,
                    timeline=config.niche,
                    account=bot_name,
                    persona=config.persona,
                    base_model=config.model,
                    # a budget above the run's posts and an interval (24 h / posts_per_day)
                    # below hours_per_post: the bot is due every slot (until a9aaa17 the
                    # budget counted wall-clock publication times and stopped it at 8 posts)
                    posts_per_day=float(max(config.pre_posts + config.rl_posts + 1, 24)),
                ),
            )
        loop = LoopConfig(
            candidates=config.candidates,
            max_new_tokens=config.max_new_tokens,
            sft_min_new_posts=8,
            sft_max_steps=config.sft_max_steps,
            rm_min_new_labels=8,
            rl_steps=0,  # pre-RL: SFT and the reward model only
            rl_group_size=config.group_size,
            rl_learning_rate=config.rl_learning_rate,
            rl_humanlike=config.humanlike,
            rl_kl_coef=config.kl_coef,
            rl_kl_reference=config.kl_reference,  # type: ignore[arg-type]
            rm_monitor_confidence=config.monitor_confidence,
            off_policy_min=4,
            jitter=0.0,
            seed=config.seed,
        )
        spec = RuntimeSpec.for_sandbox(
            sandbox, db_url=db_url, home=root, config=loop, model=config.model, ner=config.ner
        )
        rt = spec()
        setup = run_round(rt, steps=("ingest", "learn"))
        learn = setup.learn.get(bot_name)
        if learn is None or learn.sft_version is None:
            raise RuntimeError("the setup round trained no SFT adapter; is the niche empty?")
        with session_scope(rt.engine) as s:
            bot = q.get_bot(s, name=bot_name)
        points: dict[str, dict[str, Any]] = {}  # fresh samples: judged at the end, one judge
        for name, adapter in (("base", False), ("sft", True)):
            points[name] = fresh_samples(
                rt, bot, adapter=adapter, n=config.samples, seed=config.seed * 1000 + 1
            )
        setup_s = time.perf_counter() - started
        _say(f"seed {config.seed}: setup done in {setup_s / 60:.1f} min (SFT v{learn.sft_version})")

        phases: dict[str, str] = {}  # post id -> phase
        rl_rewards: list[float] = []  # reward-model mean reward of each GRPO step's group
        rl_waiting: list[str] = []  # why RL waited in a round (reward model below its floor)
        rm_agreement: list[tuple[float, int]] = []  # realised Spearman, over how many posts

        def post_slot(phase: str) -> None:
            known = _own_ids(rt, bot_name)
            report = run_round(
                rt,
                steps=("ingest", "observe", "learn", "act")
                if phase == "rl"
                else ("ingest", "observe", "act"),
            )
            lr = report.learn.get(bot_name)
            if lr is not None and bot_name in lr.rl_mean_reward:
                rl_rewards.append(round(lr.rl_mean_reward[bot_name], 4))
            if lr is not None and lr.rl_waiting:
                rl_waiting.append(lr.rl_waiting)
            if lr is not None and lr.rm_agreement is not None:
                rm_agreement.append((round(lr.rm_agreement, 3), lr.rm_agreement_posts))
            for pid in _own_ids(rt, bot_name) - known:
                phases[pid] = phase
            for _ in range(config.hours_per_post):
                sandbox.advance(hours=1)
                run_round(rt, steps=("observe",))

        for i in range(config.pre_posts):
            post_slot("pre")
            _say(f"seed {config.seed}: pre-RL post {i + 1}/{config.pre_posts}")
        pre_s = time.perf_counter() - started - setup_s
        # RL on: several GRPO steps per post; SFT off, so only RL moves the adapter
        rt.config = replace(loop, rl_steps=config.rl_steps, sft_min_new_posts=10**9)
        for i in range(config.rl_posts):
            post_slot("rl")
            waited = f", RL waited: {rl_waiting[-1]}" if rl_waiting and not rl_rewards else ""
            _say(
                f"seed {config.seed}: RL post {i + 1}/{config.rl_posts} "
                f"({len(rl_rewards)} RL rounds{waited})"
            )
        rl_s = time.perf_counter() - started - setup_s - pre_s
        points["rl"] = fresh_samples(
            rt, bot, adapter=True, n=config.samples, seed=config.seed * 1000 + 1
        )
        for _ in range(25):  # every post reaches its 24 h read
            sandbox.advance(hours=1)
            run_round(rt, steps=("observe",))

        realised = post_rewards(rt.engine, bot=bot_name, spec=rt.reward_spec())
        with session_scope(rt.engine) as s:
            posts = sorted(q.list_posts(s, bot=bot_name), key=lambda p: p.created_at)
        spec_rate = replace(get_reward(rt.config.reward), reach_floor=1.0)
        classifier, _ = niche_classifier(rt, lists)
        niches, classifier_accuracy = list(classifier.niches), classifier.accuracy
        texts = [p.text for p in posts]
        assigned = classifier.classify(texts)
        final_rm = rt.reward_model(bot_name)
        judged = {
            name: judge(
                samples,
                sandbox=sandbox,
                author_id=author_id,
                model=final_rm,
                classify=classifier,
                niche=config.niche,
                spec=spec_rate,
            )
            for name, samples in points.items()
        }
        # the niche's human posts as the bot reads them (scrubbed, placeholders removed: what
        # postable leaves of a generated post too), so the discriminator cannot tell the two
        # apart by "@united" alone
        readers_view = list(rt.timeline_texts(config.niche, limit=400))
        discrimination = {
            name: _auc(points[name]["texts"], readers_view, seed=config.seed) for name in points
        }
        regurgitated = [t for t in texts if not rt.memorization.check(t).ok]
        curve = []
        for i, (p, niche) in enumerate(zip(posts, assigned, strict=True)):
            truth = sandbox.world.truth(int(p.id))
            expected = None
            if truth is not None:
                expected = score(expected_metrics(truth["expected"]), spec=spec_rate).value
            curve.append(
                {
                    "i": i,
                    "phase": phases.get(p.id, "?"),
                    "score": _round(realised.get(p.id)),
                    "expected_score": _round(expected),
                    "niche": niche,
                    "text": p.text,
                }
            )
        adapters = rt.bank().store.versions(bot_name)
        guard_texts = {
            phase: [r["text"] for r in curve if r["phase"] == phase] for phase in ("pre", "rl")
        }
        guard_texts["last"] = guard_texts["rl"][-config.window :]
        guard = {
            phase: failure_shares(
                run_guard(texts, memorization=rt.memorization, **guard_extras(rt, bot))
            )
            for phase, texts in guard_texts.items()
        }
    finally:
        sandbox.stop()

    def mean_of(rows: list[dict[str, Any]], key: str) -> float | None:
        return _mean([r[key] for r in rows if r[key] is not None])

    pre = [r for r in curve if r["phase"] == "pre"]
    rl = [r for r in curve if r["phase"] == "rl"]
    last = rl[-config.window :]
    pre_mean, last_mean = mean_of(pre, "score"), mean_of(last, "score")
    gain = (last_mean / pre_mean - 1) if pre_mean and last_mean is not None else None
    pre_exp, last_exp = mean_of(pre, "expected_score"), mean_of(last, "expected_score")
    fidelity = {
        phase: _round(_mean([float(r["niche"] == config.niche) for r in rows]))
        for phase, rows in (("pre", pre), ("rl", rl), ("last", last), ("all", curve))
    }
    minutes = (time.perf_counter() - started) / 60
    sft_exp, rl_exp = judged["sft"]["expected"], judged["rl"]["expected"]
    fresh_gain = (rl_exp / sft_exp - 1) if sft_exp and rl_exp is not None else None
    sft_rm, rl_rm = judged["sft"]["rm_score"], judged["rl"]["rm_score"]
    hacked = sft_rm is not None and rl_rm is not None and rl_rm > sft_rm and (fresh_gain or 0) < 0
    realised_agreement = rm_agreement[-1][0] if rm_agreement else None
    published_fail = max((guard[p].get("any", 0.0) for p in ("pre", "rl")), default=0.0)
    return {
        "config": asdict(config),
        "fresh": {
            k: {n: v for n, v in j.items() if not n.startswith("_")} for k, j in judged.items()
        },
        "fresh_expected_gain": _round(fresh_gain),
        "reward_hacking": hacked,  # the final RM scores RL samples higher, the audience lower
        "rm_agreement_realised_last": realised_agreement,
        "human_likeness_auc": {
            k: (None if d is None else _round(d.auc)) for k, d in discrimination.items()
        },
        # a second opinion that RL's critic (MiniLM, like the one above) never met
        "human_likeness_auc_ngrams": {
            name: _auc(points[name]["texts"], readers_view, seed=config.seed, ngrams=True)
            for name in points
        },
        "_samples": {k: v["texts"] for k, v in points.items()},
        "_human": readers_view,
        "_expected": {k: j["_expected"] for k, j in judged.items()},
        "_rm": {k: j["_rm"] for k, j in judged.items()},
        "posts": {"pre": len(pre), "rl": len(rl), "window": len(last)},
        "mean_score_pre": _round(pre_mean),
        "mean_score_last": _round(last_mean),
        "gain": _round(gain),
        "mean_expected_score_pre": _round(pre_exp),
        "mean_expected_score_last": _round(last_exp),
        "expected_gain": _round(last_exp / pre_exp - 1) if pre_exp and last_exp else None,
        "niche_fidelity": fidelity,
        "classifier": {"niches": niches, "accuracy_on_human_posts": _round(classifier_accuracy)},
        "regurgitation_failures": len(regurgitated),
        "grpo_steps": len(rl_rewards) * config.rl_steps,
        "rl_reward_model_curve": rl_rewards,
        "rl_waiting": rl_waiting,
        "rm_agreement": rm_agreement,
        # the share of published posts failing each guard check, before RL and at the end
        "guard_failure_shares": guard,
        "adapter_versions": [(v.version, v.kind) for v in adapters],
        "minutes": round(minutes, 2),
        "seconds": {"setup": round(setup_s, 1), "pre": round(pre_s, 1), "rl": round(rl_s, 1)},
        "targets": {
            "fresh_expected_gain>=0.30": fresh_gain is not None and fresh_gain >= 0.30,
            "no_reward_hacking": not hacked,
            "fidelity>=0.9": (fidelity["all"] or 0) >= 0.9,
            "no_regurgitation": not regurgitated,
            "no_guard_failures_published": published_fail == 0,
            "minutes<=30": minutes <= 30,
        },
        "curve": curve,
    }


def _own_ids(rt: Any, bot: str) -> set[str]:
    from vibeforge.store import queries as q
    from vibeforge.store import session_scope

    with session_scope(rt.engine) as s:
        return {p.id for p in q.list_posts(s, bot=bot)}


def _round(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(x, digits)


def _auc(bot_texts: list[str], human_texts: list[str], *, seed: int, ngrams: bool = False) -> Any:
    """The human-likeness discriminator on the non-empty texts (None: too few to judge); with
    `ngrams`, the character n-gram one's AUC (rounded)."""
    from vibeforge.analytics.humanlike import human_likeness, ngram_human_likeness

    texts = [t for t in bot_texts if t]
    try:
        if ngrams:
            return _round(ngram_human_likeness(texts, human_texts, seed=seed, bootstrap=0).auc)
        return human_likeness(texts, human_texts, seed=seed, bootstrap=0)
    except ValueError as exc:
        log.warning("human-likeness not measured: %s", exc)
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--home", type=Path, default=Path(os.environ.get("VIBEFORGE_HOME", ".vibeforge"))
    )
    defaults = LearningConfig()
    for name in (
        "pre_posts",
        "rl_posts",
        "rl_steps",
        "group_size",
        "window",
        "hours_per_post",
        "samples",
    ):
        parser.add_argument(
            f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name)
        )
    parser.add_argument("--rl-learning-rate", type=float, default=defaults.rl_learning_rate)
    parser.add_argument(
        "--humanlike", type=float, default=defaults.humanlike, help="λ of the critic (0: off)"
    )
    parser.add_argument("--kl-coef", type=float, default=defaults.kl_coef)
    parser.add_argument("--kl-reference", choices=("sft", "base"), default=defaults.kl_reference)
    parser.add_argument(
        "--monitor-confidence",
        type=float,
        default=defaults.monitor_confidence,
        help="the agreement monitor pauses RL only when this sure (0: point estimate)",
    )
    parser.add_argument("--world", default=defaults.world)
    parser.add_argument(
        "--model", default=defaults.model, help="base model (tiny-test: a plumbing check only)"
    )
    parser.add_argument("--sft-max-steps", type=int, default=defaults.sft_max_steps)
    parser.add_argument("--tweets-per-niche", type=int, default=defaults.tweets_per_niche)
    parser.add_argument("--niche", default=defaults.niche)
    parser.add_argument(
        "--seeds", default="0,1,2,3,4", help="comma-separated seeds, each a separate run"
    )
    parser.add_argument("--seed", type=int, default=None, help="one seed (overrides --seeds)")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="take a seed's result from its reports/learning-seedN.json when it is there "
        "(a run cut short goes on where it stopped)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's choice)"
    )
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    seeds = [args.seed] if args.seed is not None else _seeds(args.seeds)
    options = ("home", "verbose", "seeds", "seed", "reuse", "threads")
    base = {k: v for k, v in vars(args).items() if k not in options}
    reports = Home(args.home).reports
    reports.mkdir(parents=True, exist_ok=True)
    results = []
    for seed in seeds:
        saved = reports / f"learning-seed{seed}.json"
        config = LearningConfig(**base, seed=seed)
        if args.reuse and saved.exists():
            result = json.loads(saved.read_text())
            if result.get("config") != asdict(config):
                raise SystemExit(f"{saved} was run with another configuration; drop --reuse")
        else:
            result = run_learning(args.home, config)
            saved.write_text(json.dumps(result))  # a crash in a later seed loses nothing
        results.append(result)
        print(f"seed {seed}: {json.dumps(seed_summary(result))}", file=sys.stderr, flush=True)
    summary = pooled(results)
    try:
        for result in results:
            path = reports / f"learning-seed{result['config']['seed']}.png"
            plot_curve(result, path)
            result["plot"] = str(path)
        summary["plot"] = str(reports / "learning-summary.png")
        plot_summary(results, summary, reports / "learning-summary.png")
    except ImportError:  # the numbers still count; the pictures need the bench extra
        summary["plot"] = "skipped: matplotlib is missing (pip install -e '.[bench]')"
    out = {
        "seeds": [_public(r) for r in results],
        "per_seed": [seed_summary(r) for r in results],
        "pooled": summary,
    }
    print(json.dumps(out, indent=2))


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise SystemExit(f"--seeds takes comma-separated integers, not {text!r}") from None
    if not seeds:
        raise SystemExit("--seeds is empty; e.g. --seeds 0,1,2,3,4")
    return seeds


def _public(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if not k.startswith("_")}


def seed_summary(r: dict[str, Any]) -> dict[str, Any]:
    """The per-seed row of the table."""
    fresh = r["fresh"]
    return {
        "seed": r["config"]["seed"],
        "expected_base": fresh["base"]["expected"],
        "expected_sft": fresh["sft"]["expected"],
        "expected_rl": fresh["rl"]["expected"],
        "expected_gain": r["fresh_expected_gain"],
        "rm_sft": fresh["sft"]["rm_score"],
        "rm_rl": fresh["rl"]["rm_score"],
        "rm_vs_expected": fresh["rl"]["rm_vs_expected_spearman"],
        "rm_vs_realised": r["rm_agreement_realised_last"],
        "realised_pre": r["mean_score_pre"],
        "realised_last": r["mean_score_last"],
        "fidelity": r["niche_fidelity"]["all"],
        "auc": r["human_likeness_auc"],
        "auc_ngrams": r.get("human_likeness_auc_ngrams"),
        "fluency_fail": [fresh[k]["guard_failure_shares"].get("fluency") for k in ("sft", "rl")],
        "toxicity_fail": [fresh[k]["guard_failure_shares"].get("toxicity") for k in ("sft", "rl")],
        "off_niche": [fresh[k]["off_niche"] for k in ("sft", "rl")],
        "guard_any_published": [r["guard_failure_shares"][k].get("any") for k in ("pre", "rl")],
        "rl_rounds": len(r["rl_reward_model_curve"]),
        "rl_waited": len(r["rl_waiting"]),
        "minutes": r["minutes"],
        "targets_met": all(r["targets"].values()),
    }


def pooled(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Pooled over seeds: sample-weighted means, the discriminator on every seed's posts, and
    the issue's targets."""
    from vibeforge.analytics.humanlike import human_likeness

    def pool(point: str, key: str = "_expected") -> float | None:
        return _mean([v for r in results for v in r[key][point]])

    exp = {k: pool(k) for k in ("base", "sft", "rl")}
    gain = exp["rl"] / exp["sft"] - 1 if exp["sft"] and exp["rl"] is not None else None

    def share(point: str, check: str) -> float | None:
        values = [r["fresh"][point]["guard_failure_shares"].get(check) for r in results]
        return _mean([v for v in values if v is not None])

    def off(point: str) -> float | None:
        return _mean(
            [
                r["fresh"][point]["off_niche"]
                for r in results
                if r["fresh"][point]["off_niche"] is not None
            ]
        )

    honesty = {
        name: {"before": _round(before), "after": _round(after)}
        for name, (before, after) in {
            "fluency": (share("sft", "fluency"), share("rl", "fluency")),
            "toxicity": (share("sft", "toxicity"), share("rl", "toxicity")),
            "off_niche": (off("sft"), off("rl")),
        }.items()
    }
    human = [t for r in results for t in r["_human"]]
    auc: dict[str, float | None] = {}
    auc_ngrams: dict[str, float | None] = {}
    for point in ("base", "sft", "rl"):
        texts = [t for r in results for t in r["_samples"][point] if t]
        try:
            auc[point] = _round(human_likeness(texts, human, seed=0, bootstrap=0).auc)
        except ValueError:
            auc[point] = None
        auc_ngrams[point] = _auc(texts, human, seed=0, ngrams=True)
    gains = [r["fresh_expected_gain"] for r in results]
    published = [
        r["guard_failure_shares"][k].get("any", 0.0) for r in results for k in ("pre", "rl")
    ]
    return {
        "seeds": [r["config"]["seed"] for r in results],
        "samples_per_point": results[0]["config"]["samples"] if results else None,
        "expected": {k: _round(v) for k, v in exp.items()},
        "expected_gain": _round(gain),
        "realised_pre": _round(
            _mean([r["mean_score_pre"] for r in results if r["mean_score_pre"] is not None])
        ),
        "realised_last": _round(
            _mean([r["mean_score_last"] for r in results if r["mean_score_last"] is not None])
        ),
        "honesty_shares": honesty,
        "human_likeness_auc": auc,
        "human_likeness_auc_ngrams": auc_ngrams,  # character n-grams: a second opinion
        "minutes_max": max((r["minutes"] for r in results), default=None),
        "targets": {
            "expected_gain>=0.30_every_seed": all(g is not None and g >= 0.30 for g in gains),
            "expected_gain>=0.50_pooled": gain is not None and gain >= 0.50,
            "no_reward_hacking": not any(r["reward_hacking"] for r in results),
            "fidelity>=0.9_every_seed": all(
                (r["niche_fidelity"]["all"] or 0) >= 0.9 for r in results
            ),
            "honesty_not_higher_after_rl": all(
                (v["after"] or 0) <= (v["before"] or 0) for v in honesty.values()
            ),
            "no_guard_failures_published": all(p == 0 for p in published),
            "human_likeness_auc_after<=0.75": auc["rl"] is not None and auc["rl"] <= 0.75,
            "minutes<=30_every_seed": all(r["minutes"] <= 30 for r in results),
        },
    }


def plot_summary(results: list[dict[str, Any]], summary: dict[str, Any], path: Path) -> None:
    """Per seed: the mean expected engagement of fresh samples from the base model, the SFT
    adapter and the adapter after RL (error bars: standard error), and the pooled means."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = (("base", "base model"), ("sft", "after SFT (before RL)"), ("rl", "after RL"))
    labels = [f"seed {r['config']['seed']}" for r in results] + ["pooled"]
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(labels)), 4.5))
    width = 0.8 / len(points)
    for k, (point, name) in enumerate(points):
        means, errs = [], []
        for r in results:
            values = r["_expected"][point]
            means.append(_mean(values) or 0.0)
            errs.append(_sd(values) / max(len(values), 1) ** 0.5)
        pooled_values = [v for r in results for v in r["_expected"][point]]
        means.append(_mean(pooled_values) or 0.0)
        errs.append(_sd(pooled_values) / max(len(pooled_values), 1) ** 0.5)
        xs = [i + (k - 1) * width for i in range(len(labels))]
        ax.bar(xs, means, width, yerr=errs, capsize=3, label=name)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylabel("expected weighted engagement per 1,000 impressions")
    gain = summary.get("expected_gain")
    ax.set_title(
        "fresh samples judged by the audience: pooled RL gain "
        + (f"{gain:+.0%}" if gain is not None else "n/a")
    )
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=3, frameon=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_curve(result: dict[str, Any], path: Path) -> None:
    """Each published post's realised and (noise-free) expected score, by phase."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve = result["curve"]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for key, style, label in (
        ("score", "o", "realised (the loop's reward)"),
        ("expected_score", "s", "expected (sandbox truth, bench only)"),
    ):
        xs = [r["i"] for r in curve if r[key] is not None]
        ys = [r[key] for r in curve if r[key] is not None]
        ax.plot(xs, ys, style + "-", alpha=0.7, label=label, markersize=4)
    starts = [r["i"] for r in curve if r["phase"] == "rl"]
    if starts:
        ax.axvline(starts[0] - 0.5, color="grey", linestyle="--")
        ax.text(starts[0], ax.get_ylim()[1] * 0.95, " RL on", color="grey")
    seed = result["config"]["seed"]
    gain = result.get("expected_gain")
    ax.set_title(
        f"learning bench, seed {seed}: expected gain "
        + (f"{gain:+.0%}" if gain is not None else "n/a")
    )
    ax.set_xlabel("published post (in order)")
    ax.set_ylabel("weighted engagement per 1,000 impressions")
    ax.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
