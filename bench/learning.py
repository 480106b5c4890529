"""Learning from engagement in the sandbox: does RL raise a bot's realised engagement?

One bot in one niche of the embedded sandbox, driven by the real loop runtime (run_round):

    setup     ingest its niche's List, vibe SFT (the bot's starting adapter), reward model
    pre-RL    --pre-posts posts with the SFT adapter (act: K candidates, guard, best by the
              reward model, publish), one every --hours-per-post hours of platform time
    RL        then --rl-posts more; before each one the learn step runs --rl-steps GRPO steps
              (reward model, guard failures ranked below their group, KL to the base) and an
              off-policy update from
              the real rewards of published posts; the reward model refits as labels arrive.
              Vibe SFT is off in this phase, so what changes the bot is RL alone.
    measure   each post's realised score, the loop's own reward (x-2026 weighted engagement
              per 1,000 impressions, read at 1 h, 6 h and 24 h), after the platform clock has
              moved 24 h past the last post; gain = mean of the last --window posts over the
              mean of the pre-RL posts. Niche fidelity: share of the bot's posts that a
              nearest-centroid classifier on MiniLM embeddings of each niche's human posts
              assigns to its own niche. Regurgitation: every post re-checked against the
              memorization index of ingested posts.

    python bench/learning.py [--home .vibeforge] [--pre-posts 12] [--rl-posts 18] ...

Prints one JSON object, the per-post curve included. The sandbox's hidden engagement model is
only read for the report (`expected_score`, noise-free), never by the bot.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
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
    group_size: int = 8  # G
    candidates: int = 4  # K candidates per post, the reward model picks one
    max_new_tokens: int = 40
    sft_max_steps: int = 24
    window: int = 9  # the last `window` posts are compared with the pre-RL posts
    ner: bool = False  # spaCy NER in the scrubber (slow on a CPU; the regex pass stays)

    def __post_init__(self) -> None:
        if self.pre_posts < 2 or self.rl_posts < 2:
            raise ValueError("pre_posts and rl_posts must be >= 2 to compare means; try 12 and 24")
        if not 1 <= self.window <= self.rl_posts:
            raise ValueError(f"window ({self.window}) must be within 1..rl_posts ({self.rl_posts})")
        if self.hours_per_post < 1:
            raise ValueError("hours_per_post must be >= 1 (metrics are read hourly)")


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


def niche_classifier(rt: Any, lists: dict[str, str]) -> tuple[Any, list[str], float]:
    """(classify(texts) -> niche names, niches, accuracy on the human posts it was built from)."""
    import numpy as np

    from vibeforge.domain import Timeline, TimelineKind
    from vibeforge.embedding import shared_embedder

    embedder = shared_embedder()
    niches = sorted(lists)
    texts: dict[str, list[str]] = {}
    for niche in niches:
        source = Timeline(name=niche, kind=TimelineKind.LIST, source=lists[niche])
        texts[niche] = [p.text for p in rt.platform.timeline(source=source, max_posts=400)]
    centroids = []
    for niche in niches:
        c = embedder.encode(texts[niche]).mean(axis=0)
        centroids.append(c / np.linalg.norm(c))
    matrix = np.stack(centroids)  # (N, D)

    def classify(batch: list[str]) -> list[str]:
        if not batch:
            return []
        return [niches[i] for i in (embedder.encode(batch) @ matrix.T).argmax(axis=1)]

    hits = total = 0
    for niche in niches:
        got = classify(texts[niche])
        hits += sum(g == niche for g in got)
        total += len(got)
    return classify, niches, hits / max(total, 1)


def run_learning(home: Path, config: LearningConfig | None = None) -> dict[str, Any]:
    """Run the experiment in `home/learning` (replaced if present); returns the report."""
    from vibeforge.domain import Bot, Timeline, TimelineKind
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
        sandbox.create_account(bot_name, niche=config.niche, followers=config.followers)
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
        setup_s = time.perf_counter() - started

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

        for _ in range(config.pre_posts):
            post_slot("pre")
        pre_s = time.perf_counter() - started - setup_s
        # RL on: several GRPO steps per post; SFT off, so only RL moves the adapter
        rt.config = replace(loop, rl_steps=config.rl_steps, sft_min_new_posts=10**9)
        for _ in range(config.rl_posts):
            post_slot("rl")
        rl_s = time.perf_counter() - started - setup_s - pre_s
        for _ in range(25):  # every post reaches its 24 h read
            sandbox.advance(hours=1)
            run_round(rt, steps=("observe",))

        realised = post_rewards(rt.engine, bot=bot_name, spec=rt.reward_spec())
        with session_scope(rt.engine) as s:
            posts = sorted(q.list_posts(s, bot=bot_name), key=lambda p: p.created_at)
        spec_rate = replace(get_reward(rt.config.reward), reach_floor=1.0)
        classify, niches, classifier_accuracy = niche_classifier(rt, lists)
        texts = [p.text for p in posts]
        assigned = classify(texts)
        regurgitated = [t for t in texts if not rt.memorization.check(t).ok]
        curve = []
        for i, (p, niche) in enumerate(zip(posts, assigned, strict=True)):
            truth = sandbox.world.truth(int(p.id))
            expected = None
            if truth is not None:
                expected = score(_metrics(truth["expected"]), spec=spec_rate).value
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
            phase: failure_shares(run_guard(texts, memorization=rt.memorization))
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
    return {
        "config": asdict(config),
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
            "gain>=0.30": gain is not None and gain >= 0.30,
            "fidelity>=0.8": (fidelity["all"] or 0) >= 0.8,
            "no_regurgitation": not regurgitated,
            "minutes<30": minutes < 30,
        },
        "curve": curve,
    }


def _own_ids(rt: Any, bot: str) -> set[str]:
    from vibeforge.store import queries as q
    from vibeforge.store import session_scope

    with session_scope(rt.engine) as s:
        return {p.id for p in q.list_posts(s, bot=bot)}


def _metrics(expected: dict[str, float]) -> Any:
    from datetime import UTC, datetime

    from vibeforge.domain import Metrics

    return Metrics(  # expected (fractional) counts: the score is linear in them
        observed_at=datetime.now(UTC),
        impression_count=expected.get("impressions", 0.0),
        like_count=expected.get("like", 0.0),
        repost_count=expected.get("repost", 0.0),
        reply_count=expected.get("reply", 0.0),
        quote_count=expected.get("quote", 0.0),
        bookmark_count=expected.get("bookmark", 0.0),
    )


def _round(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(x, digits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--home", type=Path, default=Path(os.environ.get("VIBEFORGE_HOME", ".vibeforge"))
    )
    defaults = LearningConfig()
    for name in ("pre_posts", "rl_posts", "rl_steps", "group_size", "window", "hours_per_post"):
        parser.add_argument(
            f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name)
        )
    parser.add_argument("--rl-learning-rate", type=float, default=defaults.rl_learning_rate)
    parser.add_argument("--world", default=defaults.world)
    parser.add_argument("--niche", default=defaults.niche)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument(
        "--plot", type=Path, default=None, help="PNG of the curve (default: reports/ under --home)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    options = ("home", "verbose", "plot")
    config = LearningConfig(**{k: v for k, v in vars(args).items() if k not in options})
    result = run_learning(args.home, config)
    path = args.plot or Home(args.home).reports / f"learning-seed{config.seed}.png"
    try:
        plot_curve(result, path)
        result["plot"] = str(path)
    except ImportError:  # the numbers still count; the picture needs the bench extra
        result["plot"] = "skipped: matplotlib is missing (pip install -e '.[bench]')"
    print(json.dumps(result, indent=2))


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
