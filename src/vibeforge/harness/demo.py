"""The demo: three niches of the embedded sandbox, one bot each, a few simulated days.

    baseline  the first rounds post with the untrained base model (ingest, observe, act)
    learning  then full rounds: SFT on the niche, reward model, GRPO, and acting on it

The bots talk to the sandbox through one of its faces (`platform`): X API v2 with the X client
(timelines are list ids, accounts X handles), or Bluesky's XRPC with the Bluesky client
(timelines are list AT URIs, accounts `name.test` handles). The world, audience and clock are
the same.

Engagement is compared as the platform shows it, read from its API for every post old enough
to have matured, for each bot's baseline posts, its learning posts, and the niche's human posts
over the same period: weighted engagement (x-2026 weights) per 1,000 impressions on X; on
Bluesky, which shows no impressions, weighted engagement per post (the same weights).
"""

from __future__ import annotations

import logging
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from vibeforge.domain import Bot, Timeline, TimelineKind
from vibeforge.learn.reward import get_reward, score
from vibeforge.loop.build import SANDBOX_FACES, RuntimeSpec
from vibeforge.loop.config import LoopConfig
from vibeforge.loop.cycle import STEPS, RoundReport, run_round
from vibeforge.paths import Home
from vibeforge.store import make_engine, session_scope, upgrade
from vibeforge.store import queries as q

log = logging.getLogger(__name__)

NICHES = {
    "airlines": (
        "skybot",
        "a frequent flyer who jokes about delays, lost bags and airline service",
    ),
    "apple": ("fruitbot", "an Apple fan who comments on iPhones, Macs and every keynote"),
    "self_driving": ("autobot", "an engineer who follows self-driving cars and robotaxis"),
}
UNITS = {  # what a rate is, by platform
    "x": "weighted engagement per 1,000 impressions",
    "bluesky": "weighted engagement per post (Bluesky shows no impressions)",
}


@dataclass(frozen=True, kw_only=True)
class DemoConfig:
    days: float = 3.0  # simulated days
    step_hours: float = 3.0  # platform time between rounds
    baseline_share: float = 0.3  # share of rounds before learning starts
    model: str = "smollm2-135m"
    # the sandbox face the bots use: x (X API v2, the X client) or bluesky (XRPC, atproto)
    platform: str = "x"
    world: str = "demo"  # sandbox world; its niches that have a demo bot get one
    seed: int = 0
    followers: int = 400  # each bot account starts with this many niche followers
    posts_per_day: float = 6.0
    mature_hours: float = 6.0  # a post's engagement is compared once it is this old
    ner: bool = True  # scrub person names with spaCy NER (False: regex pass only)
    loop: LoopConfig = field(
        default_factory=lambda: LoopConfig(
            candidates=4,
            max_new_tokens=40,
            sft_min_new_posts=16,
            sft_max_steps=10,
            rm_min_new_labels=15,
            rl_steps=1,
            rl_group_size=4,
            off_policy_min=3,
            jitter=0.1,
        )
    )

    def __post_init__(self) -> None:
        if self.days <= 0 or self.step_hours <= 0:
            raise ValueError("days and step_hours must be > 0 (e.g. days=3, step_hours=3)")
        if not 0 <= self.baseline_share < 1:
            raise ValueError(f"baseline_share ({self.baseline_share}) must be within [0, 1)")
        if self.platform not in SANDBOX_FACES:
            raise ValueError(
                f"platform ({self.platform!r}) must be one of {sorted(SANDBOX_FACES)}: the "
                "sandbox's faces"
            )

    @property
    def rounds(self) -> int:
        return max(2, round(self.days * 24 / self.step_hours))


QUICK = DemoConfig(days=1.0, step_hours=4.0, baseline_share=0.34)


@dataclass
class BotSummary:
    bot: str
    niche: str
    baseline_posts: int = 0
    baseline_rate: float | None = None  # weighted engagement per 1,000 impressions
    learning_posts: int = 0
    learning_rate: float | None = None
    human_posts: int = 0
    human_rate: float | None = None
    samples: list[tuple[str, str, float | None]] = field(default_factory=list)  # phase, text, rate
    reward_curve: list[tuple[float, float]] = field(default_factory=list)  # (hour, rate)
    rl_rounds: int = 0  # learning rounds in which RL ran for this bot
    rl_waited: list[str] = field(default_factory=list)  # why RL waited, each reason once


@dataclass
class DemoResult:
    home: Path
    rounds: int
    seconds: float
    summaries: list[BotSummary]
    round_seconds: list[float]
    report: Path | None = None
    platform: str = "x"  # the sandbox face the bots used

    @property
    def unit(self) -> str:
        """What the summaries' rates are."""
        return UNITS[self.platform]


Progress = Callable[[int, int, str], None]  # (round done, rounds, what)


def _rate(metrics: Any, platform: str = "x") -> float | None:
    """A post's rate in `UNITS[platform]`: per 1,000 impressions on X, per post on Bluesky."""
    spec = get_reward("x-2026")
    if metrics is None:
        return None
    if platform == "bluesky":
        return math.fsum(w * getattr(metrics, k) for k, w in spec.weights.items())
    if not metrics.impression_count:
        return None
    return score(metrics, spec=replace(spec, reach_floor=1.0)).value


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def run_demo(
    home: Path, *, config: DemoConfig | None = None, progress: Progress | None = None
) -> DemoResult:
    """Run the demo in `home/demo` (replaced if present); returns the summary."""
    from vibeforge.loop.executors import LocalExecutor
    from vibeforge.sandbox import start_sandbox

    config = config or DemoConfig()
    say = progress or (lambda done, total, what: None)
    root = Home(home).demo.root
    _fresh(root)
    t0 = time.perf_counter()
    say(0, config.rounds, "seeding the sandbox world (first run embeds the corpus)")
    sandbox = start_sandbox(home=root, world=config.world, seed=config.seed, speed=0)
    try:
        db_url = Home(root).database_url
        engine = make_engine(db_url)
        upgrade(engine)
        bluesky = config.platform == "bluesky"
        # a niche's list: its id on the X face, its AT URI on the Bluesky face
        lists = sandbox.list_uris() if bluesky else sandbox.list_ids()
        with session_scope(engine) as s:
            for niche, (bot, persona) in NICHES.items():
                if niche not in lists:
                    continue
                sandbox.create_account(bot, niche=niche, followers=config.followers)
                q.create_timeline(
                    s,
                    timeline=Timeline(
                        name=niche,
                        kind=TimelineKind.LIST,
                        source=lists[niche],
                        platform=SANDBOX_FACES[config.platform],
                    ),
                )
                q.create_bot(
                    s,
                    bot=Bot(
                        name=bot,
                        timeline=niche,
                        account=sandbox.handle(bot) if bluesky else bot,
                        persona=persona,
                        base_model=config.model,
                        posts_per_day=config.posts_per_day,
                    ),
                )
        spec = RuntimeSpec.for_sandbox(
            sandbox,
            db_url=db_url,
            home=root,
            face=config.platform,
            config=config.loop,
            model=config.model,
            ner=config.ner,
        )
        executor = LocalExecutor(spec)
        rt = executor.runtime
        start = rt.clock()
        baseline_rounds = round(config.rounds * config.baseline_share)
        learning_from = None
        round_seconds: list[float] = []
        rl_rounds: dict[str, int] = {}
        rl_waited: dict[str, list[str]] = {}
        for i in range(config.rounds):
            learning = i >= baseline_rounds
            if learning and learning_from is None:
                learning_from = rt.clock()
            phase = "learning" if learning else "baseline"
            say(i, config.rounds, f"day {i * config.step_hours / 24:.1f}: {phase} round")
            r0 = time.perf_counter()
            report: RoundReport = run_round(
                rt, steps=STEPS if learning else ("ingest", "observe", "act")
            )
            round_seconds.append(time.perf_counter() - r0)
            _log_round(i, report)
            for name, learned in report.learn.items():
                if learned.rl_mean_reward:
                    rl_rounds[name] = rl_rounds.get(name, 0) + 1
                reasons = rl_waited.setdefault(name, [])
                if learned.rl_waiting and learned.rl_waiting not in reasons:
                    reasons.append(learned.rl_waiting)
            sandbox.advance(hours=config.step_hours)
        sandbox.advance(hours=config.mature_hours)
        run_round(rt, steps=("ingest", "observe"))
        say(config.rounds, config.rounds, "summarising")
        summaries = _summarise(
            rt, start=start, learning_from=learning_from or rt.clock(), config=config
        )
        for summary in summaries:
            summary.rl_rounds = rl_rounds.get(summary.bot, 0)
            summary.rl_waited = rl_waited.get(summary.bot, [])
    finally:
        sandbox.stop()
    return DemoResult(
        home=root,
        rounds=config.rounds,
        seconds=time.perf_counter() - t0,
        summaries=summaries,
        round_seconds=round_seconds,
        platform=config.platform,
    )


def _fresh(root: Path) -> None:
    """Empty the demo folder, keeping the sandbox's embedding cache (the corpus embeds once)."""
    keep = Home(root).sandbox_world.embeddings
    parked = root.parent / ".demo-embeddings"
    if keep.exists():
        shutil.rmtree(parked, ignore_errors=True)
        keep.rename(parked)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    if parked.exists():
        Home(root).sandbox.mkdir()
        parked.rename(keep)


def _log_round(i: int, report: RoundReport) -> None:
    for name, act in report.act.items():
        if act.chosen:
            log.info("round %d %s posted: %s", i, name, act.chosen[:80])


def _summarise(rt: Any, *, start: Any, learning_from: Any, config: DemoConfig) -> list[BotSummary]:
    now = rt.clock()
    mature = now - timedelta(hours=config.mature_hours)
    out = []
    with session_scope(rt.engine) as s:
        bots = q.list_bots(s)
        own = {b.name: q.list_posts(s, bot=b.name) for b in bots}
        humans = {
            b.name: [
                p
                for p in q.list_posts(s, timeline=b.timeline, since=start)
                if p.created_at <= mature
            ]
            for b in bots
        }
    for bot in bots:
        summary = BotSummary(bot=bot.name, niche=bot.timeline or "")
        mine = [p for p in own[bot.name] if p.created_at <= mature]
        metrics = rt.platform.metrics(post_ids=[p.id for p in mine]) if mine else {}
        base: list[float] = []
        learned: list[float] = []
        for p in sorted(mine, key=lambda p: p.created_at):
            rate = _rate(metrics.get(p.id), config.platform)
            phase = "learning" if p.created_at >= learning_from else "baseline"
            summary.samples.append((phase, p.text, rate))
            if rate is not None:
                (learned if phase == "learning" else base).append(rate)
                hours = (p.created_at - start).total_seconds() / 3600
                summary.reward_curve.append((hours, rate))
        summary.baseline_posts, summary.baseline_rate = len(base), _mean(base)
        summary.learning_posts, summary.learning_rate = len(learned), _mean(learned)
        human = humans[bot.name][-300:]
        hm = rt.platform.metrics(post_ids=[p.id for p in human]) if human else {}
        rates = [r for r in (_rate(hm.get(p.id), config.platform) for p in human) if r is not None]
        summary.human_posts, summary.human_rate = len(rates), _mean(rates)
        out.append(summary)
    return out
