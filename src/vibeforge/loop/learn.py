"""Learn: vibe SFT, reward-model refits and RL, each only when there is enough new data.

    sft        new timeline posts since the adapter's training window >= sft_min_new_posts
    reward     labelled posts (timeline posts with metrics, own posts with real rewards) grew by
               >= rm_min_new_labels since the last fit
    rl         once the bot has an adapter and a reward model: GRPO steps on reward model +
               guard penalties, every due bot's group in one mixed batch; then an off-policy
               update from published posts with real rewards
Adapter versions saved here are mirrored into the store with their lineage.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from vibeforge.domain import Bot, CandidateStatus
from vibeforge.learn.prompt import bot_prompt, sample_context
from vibeforge.learn.reward import score
from vibeforge.loop.observe import post_rewards
from vibeforge.loop.runtime import Runtime
from vibeforge.store import queries as q
from vibeforge.store import session_scope

log = logging.getLogger(__name__)
OFF_POLICY_FLAG = "offpolicy:{bot}"


@dataclass
class LearnReport:
    sft_version: int | None = None
    reward_model_version: int | None = None
    reward_model_spearman: float | None = None
    rl_mean_reward: dict[str, float] = field(default_factory=dict)
    off_policy: int = 0


def sft(rt: Runtime, bot: Bot, report: LearnReport) -> None:
    from vibeforge.errors import NotFoundError
    from vibeforge.learn.vibe import VibeConfig, capture_vibe

    if bot.timeline is None:
        return
    bank = rt.bank()
    since = None
    try:
        bank.get(bot.name)
        current = bank.version(bot.name)
        since = current.window_end if current else None
    except NotFoundError:
        pass
    with session_scope(rt.engine) as s:
        posts = q.list_posts(s, timeline=bot.timeline, limit=2000)
    fresh = [p for p in posts if since is None or p.created_at > since]
    if len(fresh) < rt.config.sft_min_new_posts:
        return
    version = capture_vibe(
        bank=bank,
        bot=bot.name,
        posts=posts,
        config=VibeConfig(
            persona=bot.persona,
            context_posts=rt.config.context_posts,
            max_steps=rt.config.sft_max_steps,
            min_posts=1,
            seed=rt.config.seed,
        ),
    )
    if version is not None:
        rt.record_adapter(version)
        report.sft_version = version.version
        log.info("bot %s: SFT → adapter v%d", bot.name, version.version)


def labelled_posts(rt: Runtime, bot: Bot) -> tuple[list[str], list[float], list[bool]]:
    """Timeline posts with metrics (free labels) and the bot's own posts with real rewards."""
    spec = rt.reward_spec()
    texts: list[str] = []
    rewards: list[float] = []
    own: list[bool] = []
    with session_scope(rt.engine) as s:
        if bot.timeline:
            for post in q.list_posts(s, timeline=bot.timeline, limit=3000, with_metrics=True):
                if post.metrics is not None:
                    texts.append(post.text)
                    rewards.append(score(post.metrics, spec=spec).value)
                    own.append(False)
        mine = {p.id: p.text for p in q.list_posts(s, bot=bot.name)}
    for post_id, value in post_rewards(rt.engine, bot=bot.name, spec=spec).items():
        texts.append(mine[post_id])
        rewards.append(value)
        own.append(True)
    return texts, rewards, own


def refit_reward_model(rt: Runtime, bot: Bot, report: LearnReport) -> None:
    from vibeforge.learn.reward_model import fit_reward_model

    texts, rewards, own = labelled_posts(rt, bot)
    current = rt.reward_model(bot.name)
    seen = current.info.n_train if current else 0
    if len(texts) - seen < rt.config.rm_min_new_labels or len(texts) < 20:
        return
    version = (current.info.version + 1) if current else 1
    model = fit_reward_model(bot=bot.name, texts=texts, rewards=rewards, own=own, version=version)
    model.save(rt.reward_model_dir(bot.name))
    report.reward_model_version = version
    report.reward_model_spearman = model.info.spearman
    log.info(
        "bot %s: reward model v%d (held-out Spearman %s)", bot.name, version, model.info.spearman
    )


def sampled_prompt(rt: Runtime, bot: Bot, timeline: Sequence[str], rng: random.Random) -> list[int]:
    """The bot's prompt showing `context_posts` posts drawn at random from its `timeline`."""
    sample = sample_context(timeline, k=rt.config.context_posts, rng=rng)
    return bot_prompt(rt.bank().base.tokenizer, persona=bot.persona, context=sample)


def rl(rt: Runtime, bots: Sequence[Bot], reports: dict[str, LearnReport]) -> None:
    """GRPO steps for every bot ready for RL, all groups in one mixed batch, then save."""
    from vibeforge.errors import NotFoundError
    from vibeforge.learn.guard import penalties, run_guard

    if rt.config.rl_steps == 0:
        return
    bank = rt.bank()
    ready: list[Bot] = []
    for bot in bots:
        try:
            bank.get(bot.name)
        except NotFoundError:
            continue
        if rt.reward_model(bot.name) is not None:
            ready.append(bot)
    if not ready:
        return
    by_name = {b.name: b for b in ready}

    def reward_fn(name: str, texts: Sequence[str]) -> list[float]:
        model = rt.reward_model(name)
        assert model is not None
        predicted = model.predict(list(texts))
        with session_scope(rt.engine) as s:
            recent = [p.text for p in q.list_posts(s, bot=name, limit=200)]
        verdicts = run_guard(texts, recent=recent, memorization=rt.memorization, pii=rt.pii())
        return [float(p) + pen for p, pen in zip(predicted, penalties(verdicts), strict=True)]

    trainer = rt.trainer()
    rng = random.Random(rt.config.seed)
    timelines = {bot.name: rt.timeline_texts(bot.timeline, limit=50) for bot in ready}
    for _ in range(rt.config.rl_steps):
        prompts = [(b.name, sampled_prompt(rt, b, timelines[b.name], rng)) for b in ready]
        step = trainer.step(prompts, reward_fn=reward_fn)
        for name, value in step.mean_reward.items():
            reports[name].rl_mean_reward[name] = value
    for bot in ready:
        off_policy(rt, by_name[bot.name], reports[bot.name])
        parent = bank.version(bot.name)
        version = bank.save(
            bot.name,
            bank.get(bot.name),
            kind="rl",
            parent=parent.version if parent else None,
            window_start=parent.window_start if parent else None,
            window_end=parent.window_end if parent else None,
            metrics={"rl_mean_reward": reports[bot.name].rl_mean_reward.get(bot.name)},
        )
        rt.record_adapter(version)


def off_policy(rt: Runtime, bot: Bot, report: LearnReport) -> None:
    """Learn from the real rewards of published posts not used before (importance-clipped)."""
    from vibeforge.learn.rl import Published, off_policy_samples

    flag = OFF_POLICY_FLAG.format(bot=bot.name)
    rewards = post_rewards(rt.engine, bot=bot.name, spec=rt.reward_spec())
    with session_scope(rt.engine) as s:
        used = set((q.get_flag(s, name=flag) or {}).get("posts", []))
        pubs = {
            p.platform_post_id: p
            for p in q.list_publications(s, bot=bot.name)
            if p.platform_post_id and p.candidate_id
        }
        traces = {
            c.id: c.trace for c in q.list_candidates(s, bot=bot.name, status=CandidateStatus.CHOSEN)
        }
    rows, fresh = [], []
    for post_id, value in rewards.items():
        pub = pubs.get(post_id)
        trace = traces.get(pub.candidate_id) if pub else None
        if post_id in used or not trace:
            continue
        rows.append(Published(bot=bot.name, trace=trace, reward=value))
        fresh.append(post_id)
    if len(rows) < rt.config.off_policy_min:
        return
    rt.trainer().off_policy(off_policy_samples(rows))
    report.off_policy = len(rows)
    with session_scope(rt.engine) as s:
        q.set_flag(s, name=flag, value={"posts": sorted(used | set(fresh))})
