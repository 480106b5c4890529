"""Learn: vibe SFT, reward-model refits and RL, each only when there is enough new data.

    sft        new timeline posts since the adapter's training window >= sft_min_new_posts
    reward     labelled posts (timeline posts with metrics, own posts with real rewards) grew by
               >= rm_min_new_labels since the last fit, or the agreement monitor paused RL on
               the current version (then it refits whatever the count)
    rl         once the bot has an adapter and a reward model it can trust: GRPO steps on the
               reward model (pessimistic: mean − λ·std of its heads), guard failures ranked
               below their group's passing samples, every ready bot's group in one mixed
               batch; then an off-policy update from published posts with real rewards
    trust      RL waits (LearnReport.rl_waiting says why) while the reward model's held-out
               Spearman is not positive or under rm_min_spearman, and pauses when its realised
               agreement with the rewards of the bot's published posts it was not trained on
               (>= rm_monitor_min_posts of them) falls under that floor, until the refit;
               each RL round's realised agreement is kept in the flag `rm_agreement:<bot>`
Adapter versions saved here are mirrored into the store with their lineage.
"""

from __future__ import annotations

import logging
import random
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from vibeforge.analytics.learning_curve import AGREEMENT_FLAG
from vibeforge.domain import Bot, CandidateStatus
from vibeforge.learn.prompt import bot_prompt, sample_context
from vibeforge.learn.reward import (
    RatePrior,
    label_age_hours,
    pooled_prior,
    reward_at_ages,
    score,
)
from vibeforge.loop.observe import post_rewards
from vibeforge.loop.runtime import Runtime
from vibeforge.privacy.patterns import postable
from vibeforge.store import queries as q
from vibeforge.store import session_scope

if TYPE_CHECKING:
    from vibeforge.learn.reward_model import RewardModel

log = logging.getLogger(__name__)
OFF_POLICY_FLAG = "offpolicy:{bot}"
# the flag `rm_agreement:<bot>`: {"history": [...], "paused": {"version", "reason"}}; named
# where the learning curve reads it (analytics sits below the loop)
AGREEMENT_HISTORY = 100  # entries kept per bot
SFT_WINDOW = 2000  # newest timeline posts an SFT round reads
RM_TIMELINE_LABELS = 3000  # newest timeline posts the reward model is fit on


@dataclass
class LearnReport:
    sft_version: int | None = None
    reward_model_version: int | None = None
    reward_model_spearman: float | None = None
    reward_model_forced: bool = False  # refit because the agreement monitor paused RL
    rl_mean_reward: dict[str, float] = field(default_factory=dict)
    off_policy: int = 0
    rl_waiting: str | None = None  # why RL did not run for this bot this round
    rm_agreement: float | None = None  # realised Spearman of the RM on the bot's new posts
    rm_agreement_posts: int = 0  # how many published posts that agreement is over


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
        posts = q.list_posts(s, timeline=bot.timeline, limit=SFT_WINDOW)
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


def learning_due(rt: Runtime, learners: Sequence[Bot]) -> tuple[list[Bot], list[Bot]]:
    """(the bots that may be due for SFT, those that may be due for a reward-model refit),
    from one read of the fleet's state (`loop.due.Learning`); `sft` and `refit_reward_model`
    make the exact checks for these only. `learners`: the bots as learning sees them
    (`policy.learning_view`)."""
    from vibeforge.learn.reward_model import RewardModelConfig
    from vibeforge.loop.due import Learning

    c = rt.config
    state = Learning.read(
        rt.engine,
        timelines=[b.timeline for b in learners if b.timeline],
        sft_window=SFT_WINDOW,
        label_limit=RM_TIMELINE_LABELS,
        flag_prefix=AGREEMENT_FLAG.format(bot=""),
    )
    sft_due = [b for b in learners if state.sft_may_be_due(b, min_new=c.sft_min_new_posts)]
    min_examples = RewardModelConfig().min_examples
    refit_due = []
    for bot in learners:
        current = rt.reward_model(bot.name)
        flag = state.paused.get(AGREEMENT_FLAG.format(bot=bot.name)) or {}
        paused = flag.get("paused") or {}
        if current is not None and paused.get("version") == current.info.version:
            refit_due.append(bot)  # forced by the agreement monitor
            continue
        own = state.own_observed.get(bot.name, set())
        held = {p for p in own if held_out(p, c.rm_monitor_holdout)}
        labels = state.labels_at_most(bot, held_out=held)
        seen = current.info.n_train if current else 0
        if labels >= min_examples and labels - seen >= c.rm_min_new_labels:
            refit_due.append(bot)
    return sft_due, refit_due


@dataclass
class Labels:
    """What the reward model is fit on: one row per labelled post."""

    texts: list[str] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)  # shrunk toward the niche's rate
    own: list[bool] = field(default_factory=list)
    followers: list[int | None] = field(default_factory=list)  # the author's reach
    age_hours: list[float] = field(default_factory=list)  # the age each label stands for
    own_ids: list[str] = field(default_factory=list)
    fixed_age: int = 0  # timeline labels read at the reward's ages (re-observed)
    prior: RatePrior | None = None

    def add(
        self, text: str, reward: float, *, own: bool, followers: int | None, age: float
    ) -> None:
        self.texts.append(text)
        self.rewards.append(reward)
        self.own.append(own)
        self.followers.append(followers)
        self.age_hours.append(age)


def labelled_posts(rt: Runtime, bot: Bot) -> tuple[list[str], list[float], list[bool]]:
    """Timeline posts with metrics (free labels) and the bot's own posts with real rewards."""
    labels = _labelled(rt, bot)
    return labels.texts, labels.rewards, labels.own


def _labelled(rt: Runtime, bot: Bot) -> Labels:
    """The reward model's labels, each meaning what the bot's reward means.

    A timeline post re-read at the reward's ages (observe_timeline) is labelled exactly like a
    bot's post (`reward_at_ages`); one seen only at ingest is labelled by its newest reading,
    with that reading's age as a feature. Every label is a rate per impression shrunk toward
    the niche's pooled rate by `rm_prior_reach` pseudo-impressions (RatePrior): zero engagement
    over a large audience is worse news than over a small one.
    """
    spec = rt.reward_spec()
    labels = Labels()
    with session_scope(rt.engine) as s:
        timeline = (
            q.metrics_histories(s, timeline=bot.timeline, limit=RM_TIMELINE_LABELS)
            if bot.timeline
            else []
        )
        mine = q.metrics_histories(s, bot=bot.name)
    newest = [h[-1] for _, h in timeline if h]
    labels.prior = pooled_prior(newest, spec=spec, reach=rt.config.rm_prior_reach)
    prior = labels.prior
    for post, history in timeline:
        if not history:
            continue
        fixed = reward_at_ages(history, created_at=post.created_at, spec=spec, prior=prior)
        if fixed is not None:
            age = label_age_hours(history, created_at=post.created_at, spec=spec)
            labels.fixed_age += 1
            value = fixed.value
        else:
            last = history[-1]
            age = max((last.observed_at - post.created_at).total_seconds(), 0.0) / 3600.0
            value = score(last, spec=spec, prior=prior).value
        labels.add(post.text, value, own=False, followers=post.author_followers, age=age)
    for post, history in mine:
        if held_out(post.id, rt.config.rm_monitor_holdout):
            continue  # the agreement monitor's, never the fit's
        scored = reward_at_ages(history, created_at=post.created_at, spec=spec, prior=prior)
        if scored is None:
            continue
        age = label_age_hours(history, created_at=post.created_at, spec=spec)
        labels.add(post.text, scored.value, own=True, followers=None, age=age)  # set at fit
        labels.own_ids.append(post.id)
    return labels


def held_out(post_id: str, share: float) -> bool:
    """Whether the bot's own post `post_id` is one of the `share` the reward model never trains
    on (a hash of the id: the same posts for every version, on every machine)."""
    return zlib.crc32(f"rm-monitor:{post_id}".encode()) % 1000 < round(share * 1000)


def _own_followers(rt: Runtime, bot: Bot) -> int | None:
    """The bot account's follower count (one user read), None when the platform cannot say."""
    from vibeforge.platforms.base import PlatformError

    platform = rt.platform_for(bot.name)
    if not bot.account or platform is None:  # (a runtime without a platform: tests, offline)
        return None
    try:
        return platform.account(handle=bot.account).followers_count
    except (PlatformError, LookupError, ValueError) as exc:
        log.info("bot %s: follower count unknown (%s)", bot.name, type(exc).__name__)
        return None


def refit_reward_model(rt: Runtime, bot: Bot, report: LearnReport) -> None:
    """A new reward-model version when labels grew by rm_min_new_labels, or at once (given
    min_examples) when the agreement monitor paused RL on the current version."""
    from vibeforge.learn.reward_model import RewardModelConfig, fit_reward_model

    c = rt.config
    config = RewardModelConfig(heads=c.rm_heads, pessimism=c.rm_pessimism, seed=c.seed)
    current = rt.reward_model(bot.name)
    labels = _labelled(rt, bot)
    texts = labels.texts
    seen = current.info.n_train if current else 0
    paused = _agreement_state(rt, bot.name).get("paused") or {}
    forced = current is not None and paused.get("version") == current.info.version
    if len(texts) < config.min_examples:
        if forced:
            log.warning(
                "bot %s: reward model refit due but only %d labelled posts (need %d)",
                bot.name,
                len(texts),
                config.min_examples,
            )
        return
    if not forced and len(texts) - seen < c.rm_min_new_labels:
        return
    version = (current.info.version + 1) if current else 1
    followers = _own_followers(rt, bot)  # one user read, only when it refits
    labels.followers = [
        followers if o else f for f, o in zip(labels.followers, labels.own, strict=True)
    ]
    spec = rt.reward_spec()
    nominal = sum(a * w for a, w in zip(spec.ages_s, spec.age_weights, strict=True)) / max(
        sum(spec.age_weights), 1e-9
    )
    model = fit_reward_model(
        bot=bot.name,
        texts=texts,
        rewards=labels.rewards,
        own=labels.own,
        followers=labels.followers,
        age_hours=labels.age_hours,
        predict_followers=followers,
        nominal_age_hours=nominal / 3600.0,
        version=version,
        config=config,
        extra={
            "own_posts": sorted(labels.own_ids),  # the monitor judges it on the others only
            "fixed_age_labels": labels.fixed_age,
            "rate_prior": None if labels.prior is None else asdict(labels.prior),
        },
    )
    model.save(rt.reward_model_dir(bot.name))
    report.reward_model_version = version
    report.reward_model_spearman = model.info.spearman
    report.reward_model_forced = forced
    if forced:
        _update_agreement(rt, bot.name, paused=None)
    log.info(
        "bot %s: reward model v%d (held-out Spearman %s%s)",
        bot.name,
        version,
        model.info.spearman,
        ", forced by the agreement monitor" if forced else "",
    )


# ------------------------------------------------------------ trusting the reward model


def _agreement_state(rt: Runtime, bot: str) -> dict[str, Any]:
    with session_scope(rt.engine) as s:
        return q.get_flag(s, name=AGREEMENT_FLAG.format(bot=bot)) or {}


_KEEP = object()


def _update_agreement(
    rt: Runtime, bot: str, *, entry: dict[str, Any] | None = None, paused: Any = _KEEP
) -> None:
    """Append `entry` to the bot's agreement history (capped) and/or set its pause."""
    name = AGREEMENT_FLAG.format(bot=bot)
    with session_scope(rt.engine) as s:
        state = q.get_flag(s, name=name) or {}
        history = list(state.get("history", []))
        if entry is not None:
            history = [*history, entry][-AGREEMENT_HISTORY:]
        current = state.get("paused") if paused is _KEEP else paused
        q.set_flag(s, name=name, value={"history": history, "paused": current})


def held_out_gate(model: RewardModel, floor: float) -> str | None:
    """Why the reward model's held-out agreement is too weak for RL (None: good enough)."""
    v, rho = model.info.version, model.info.spearman
    if rho is None:
        return f"reward model v{v} has no held-out Spearman (too few or constant labels)"
    if rho < floor:
        return f"reward model v{v} held-out Spearman {rho:.2f} < floor {floor:.2f}"
    if rho <= 0:
        return f"reward model v{v} held-out Spearman {rho:.2f} is not positive"
    return None


def upper_bound(rho: float, n: int, confidence: float) -> float:
    """The one-sided `confidence` upper bound of a Spearman correlation `rho` of `n` pairs
    (Fisher z, standard error 1/sqrt(n - 3)); `rho` itself for confidence 0 or n <= 3."""
    import math
    from statistics import NormalDist

    if confidence <= 0 or n <= 3:
        return rho
    z = math.atanh(max(min(rho, 0.999999), -0.999999))
    return math.tanh(z + NormalDist().inv_cdf(confidence) / math.sqrt(n - 3))


def monitor_agreement(rt: Runtime, bot: Bot, model: RewardModel, report: LearnReport) -> str | None:
    """Rank agreement of `model`'s rewards with the realised rewards of the bot's published posts
    it was not trained on; recorded (report and flag). Returns why RL must pause, or None."""
    from vibeforge.learn.reward_model import spearman

    floor = rt.config.rm_min_spearman
    trained = set(model.info.extra.get("own_posts", ()))
    realised = {
        pid: value
        for pid, value in post_rewards(rt.engine, bot=bot.name, spec=rt.reward_spec()).items()
        if pid not in trained
    }
    state = _agreement_state(rt, bot.name)
    paused = state.get("paused") or {}
    if len(realised) >= 3:
        with session_scope(rt.engine) as s:
            text = {p.id: p.text for p in q.list_posts(s, bot=bot.name) if p.id in realised}
        ids = [pid for pid in realised if pid in text]
        predicted = model.predict([text[pid] for pid in ids])
        rho = spearman(predicted, [realised[pid] for pid in ids])
        report.rm_agreement, report.rm_agreement_posts = rho, len(ids)
        entry = {
            "at": rt.clock().isoformat(),
            "version": model.info.version,
            "spearman": None if rho is None else round(rho, 4),
            "posts": len(ids),
        }
        bound = None if rho is None else upper_bound(rho, len(ids), rt.config.rm_monitor_confidence)
        trips = (
            rho is not None
            and bound is not None
            and len(ids) >= rt.config.rm_monitor_min_posts
            and (bound <= 0 or bound < floor)
            and paused.get("version") != model.info.version
        )
        if trips:
            assert rho is not None and bound is not None
            sure = f" (upper bound {bound:.2f})" if bound != rho else ""
            paused = {
                "version": model.info.version,
                "reason": (
                    f"reward model v{model.info.version} agrees with the realised rewards of "
                    f"{len(ids)} published posts at Spearman {rho:.2f}{sure} < floor "
                    f"{max(floor, 0.0):.2f}; RL paused until it refits"
                ),
            }
            log.warning("bot %s: %s", bot.name, paused["reason"])
            _update_agreement(rt, bot.name, entry=entry, paused=paused)
        else:
            _update_agreement(rt, bot.name, entry=entry)
    if paused.get("version") == model.info.version:
        return str(paused.get("reason") or f"reward model v{model.info.version} paused")
    return None


def rl_ready(rt: Runtime, bots: Sequence[Bot], reports: dict[str, LearnReport]) -> list[Bot]:
    """The bots RL may run for: an adapter, and a reward model whose held-out and realised
    agreement are good enough. The others' reports say why they wait."""
    from vibeforge.errors import NotFoundError

    bank = rt.bank()
    ready: list[Bot] = []
    for bot in bots:
        try:
            bank.get(bot.name)
        except NotFoundError:
            continue
        model = rt.reward_model(bot.name)
        if model is None:
            continue
        report = reports.setdefault(bot.name, LearnReport())
        paused = monitor_agreement(rt, bot, model, report)
        reason = held_out_gate(model, rt.config.rm_min_spearman) or paused
        if reason is not None:
            report.rl_waiting = reason
            log.info("bot %s: RL waits: %s", bot.name, reason)
            continue
        ready.append(bot)
    return ready


def sampled_prompt(rt: Runtime, bot: Bot, timeline: Sequence[str], rng: random.Random) -> list[int]:
    """The bot's prompt showing `context_posts` posts drawn at random from its `timeline`."""
    sample = sample_context(timeline, k=rt.config.context_posts, rng=rng)
    return bot_prompt(rt.bank().base.tokenizer, persona=bot.persona, context=sample)


def rl(rt: Runtime, bots: Sequence[Bot], reports: dict[str, LearnReport]) -> None:
    """GRPO steps for every bot ready for RL (`rl_ready`), all groups in one mixed batch, then
    save."""
    from vibeforge.learn.guard import guarded_rewards, run_guard
    from vibeforge.learn.rl import Completions

    if rt.config.rl_steps == 0:
        return
    ready = rl_ready(rt, bots, reports)
    if not ready:
        return
    by_name = {b.name: b for b in ready}

    def reward_fn(name: str, texts: Sequence[str]) -> list[float]:
        model = rt.reward_model(name)
        assert model is not None
        # engagement as the reward model predicts it, plus how human the text reads next to
        # the bot's own recent samples (learn.critic; λ = rl_humanlike)
        readable = [postable(t) for t in texts]  # as the humans' side reads (no placeholders)
        predicted = critic.rewards(name, model.predict(list(texts)), readable, humans[name])
        with session_scope(rt.engine) as s:
            recent = [p.text for p in q.list_posts(s, bot=name, limit=200)]
        verdicts = run_guard(
            texts,
            recent=recent,
            memorization=rt.memorization,
            pii=rt.pii(),
            finish_reasons=texts.finish_reasons if isinstance(texts, Completions) else None,
            fluency=rt.fluency(by_name[name].timeline),  # garbled samples fail (base model)
        )
        return guarded_rewards(predicted, verdicts)  # guard failures rank below the group

    trainer = rt.trainer()
    rng = random.Random(rt.config.seed)
    timelines = {bot.name: rt.timeline_texts(bot.timeline, limit=50) for bot in ready}
    critic = rt.critic()
    humans = {
        bot.name: rt.timeline_texts(bot.timeline, limit=critic.config.max_human) for bot in ready
    }
    # one mixed batch per chunk of bots the bank keeps resident (a big fleet pages through)
    size = rt.bank().config.capacity
    for chunk in (ready[i : i + size] for i in range(0, len(ready), size)):
        for _ in range(rt.config.rl_steps):
            prompts = [(b.name, sampled_prompt(rt, b, timelines[b.name], rng)) for b in chunk]
            step = trainer.step(prompts, reward_fn=reward_fn)
            for name, value in step.mean_reward.items():
                reports[name].rl_mean_reward[name] = value
        _save_rl(rt, chunk, by_name, reports)


def _save_rl(
    rt: Runtime, bots: Sequence[Bot], by_name: dict[str, Bot], reports: dict[str, LearnReport]
) -> None:
    """The off-policy update of each bot, then its RL version saved."""
    bank = rt.bank()
    for bot in bots:
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
