"""One round of the loop over a set of bots: ingest → compliance → observe → learn → act.

    ingest   each followed timeline that is due, once, whatever the number of its bots; a
             timeline whose poll fails is logged and reported, and the others go on
    compliance  each followed timeline and each bot's own posts, at most once per
             compliance_interval_s: stored posts deleted or withheld on the platform are
             removed from the store and the regurgitation index (loop.compliance)
    observe  each bot's own posts reaching a reward age: metrics read, rewards stored; then
             up to relabel_posts posts of each followed timeline re-read at the same ages
             (not where the platform policy keeps timeline content out of training)
    learn    per bot: vibe SFT and reward-model refit when enough new data (from the timeline
             only where the policy or `learn_from_timeline` allows); then RL for the ready
             bots due to post (`rl_cadence`) in mixed-adapter batches of at most
             `adapters_resident` bots
    act      every bot due to post: K candidates in mixed batches, guard, choose, outbox,
             publish (unless dry-run or the approval queue is on)

Which bots each step is for is read for the whole fleet with a fixed number of grouped queries
(loop.due): a bot due for nothing costs the round no query, page-in or platform call of its own.

Every step reads its inputs from the store and commits its outputs, so a round killed at any
line can simply run again. The kill switch (`vibeforge stop`) is checked between steps.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.exc import OperationalError

from vibeforge.domain import Bot, BotStatus
from vibeforge.errors import StoreUnavailableError, VibeforgeError
from vibeforge.loop import act as act_step
from vibeforge.loop import learn as learn_step
from vibeforge.loop.compliance import ComplianceReport, check_bot, check_timeline, due_scopes
from vibeforge.loop.due import Posting
from vibeforge.loop.ingest import IngestReport, poll_timeline
from vibeforge.loop.observe import ObserveReport, fleet_due, observe, observe_timeline
from vibeforge.loop.policy import learning_view, learns_from_timeline
from vibeforge.loop.runtime import Runtime
from vibeforge.platforms.base import AuthError, BudgetExceeded, PlatformUnavailable, RateLimited
from vibeforge.store import queries as q
from vibeforge.store import session_scope

log = logging.getLogger(__name__)


class Stopped(VibeforgeError):
    """The kill switch is on; the round ended after its current step."""


@dataclass
class RoundReport:
    ingest: list[IngestReport] = field(default_factory=list)
    observe: dict[str, ObserveReport] = field(default_factory=dict)
    learn: dict[str, learn_step.LearnReport] = field(default_factory=dict)
    act: dict[str, act_step.ActReport] = field(default_factory=dict)
    relabelled: dict[str, int] = field(default_factory=dict)  # timeline → posts re-read
    compliance: list[ComplianceReport] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # step → wall time it took


def _check_stop(rt: Runtime) -> None:
    if rt.stopped():
        raise Stopped("the kill switch is on ('vibeforge stop'); clear it with 'vibeforge run'")


def active_bots(rt: Runtime, names: Sequence[str] | None = None) -> list[Bot]:
    with session_scope(rt.engine) as s:
        bots = q.list_bots(s, status=BotStatus.ACTIVE)
    return [b for b in bots if names is None or b.name in names]


# failures of the platform or the store as a whole, not of one timeline: they end the round
# (the supervisor backs off on outages) instead of being charged to each timeline in turn
ROUND_ERRORS: tuple[type[Exception], ...] = (
    PlatformUnavailable,
    RateLimited,
    AuthError,
    BudgetExceeded,
    StoreUnavailableError,
    OperationalError,
)


def ingest_all(rt: Runtime, bots: Sequence[Bot]) -> list[IngestReport]:
    names = sorted({b.timeline for b in bots if b.timeline})
    with session_scope(rt.engine) as s:
        timelines = [q.get_timeline(s, name=n) for n in names]
    reports = []
    for t in timelines:
        try:
            report = poll_timeline(
                rt.engine,
                platform=rt.platform,
                timeline=t,
                scrubber=rt.scrubber,
                pseudonymize=rt.pseudonymize,
                now=rt.clock(),
                index=rt.memorization,
            )
        except ROUND_ERRORS:
            raise
        except Exception as exc:  # one timeline's failure must not starve the others
            report = IngestReport(timeline=t.name, error=_describe(exc))
            log.error(
                "timeline %s: ingest failed (%s); the other timelines go on", t.name, report.error
            )
            log.debug("timeline %s: ingest failure", t.name, exc_info=exc)
        reports.append(report)
    return reports


def comply_all(rt: Runtime, bots: Sequence[Bot]) -> list[ComplianceReport]:
    """The compliance step: each followed timeline once, then each bot's own posts, for the
    scopes whose re-check interval has passed (`due_scopes`: one query for the fleet); one
    scope's failure is logged and reported, and the others go on."""
    now = rt.clock()
    timelines = sorted({b.timeline for b in bots if b.timeline})
    owners = [b for b in bots if b.account]
    scopes = [f"timeline:{t}" for t in timelines] + [f"bot:{b.name}" for b in owners]
    due = due_scopes(rt.engine, scopes=scopes, now=now, config=rt.config)

    def check(scope: str) -> ComplianceReport:
        kind, _, name = scope.partition(":")
        if kind == "timeline":
            return check_timeline(
                rt.engine,
                platform=rt.platform,  # charged like the timeline's polls
                timeline=name,
                now=now,
                config=rt.config,
                index=rt.memorization,
                force=True,  # due_scopes said so
            )
        bot = next(b for b in owners if b.name == name)
        return check_bot(
            rt.engine,
            platform=rt.platform_for(name),
            bot=bot,
            now=now,
            config=rt.config,
            force=True,
        )

    reports = []
    for scope in scopes:
        if scope not in due:
            reports.append(ComplianceReport(scope=scope, skipped=True))
            continue
        try:
            report = check(scope)
        except ROUND_ERRORS:
            raise
        except Exception as exc:
            report = ComplianceReport(scope=scope, error=_describe(exc))
            log.error("compliance %s failed (%s); the others go on", scope, report.error)
            log.debug("compliance %s: failure", scope, exc_info=exc)
        reports.append(report)
    return reports


def _describe(exc: Exception) -> str:
    """The error's kind, and its message only where it is ours (never posts' content)."""
    if isinstance(exc, VibeforgeError):
        return f"{type(exc).__name__}: {exc}"
    return type(exc).__name__


STEPS = ("ingest", "compliance", "observe", "learn", "act")


def rl_due(rt: Runtime, bots: Sequence[Bot]) -> list[Bot]:
    """The bots whose RL steps run this round: those due to post (`rl_cadence: post`), or
    all (`round`); `learn.rl` then keeps those whose reward model it can trust."""
    if rt.config.rl_cadence == "round":
        return list(bots)
    now = rt.clock()
    posting = Posting.read(rt.engine, now=now)
    return [b for b in bots if act_step.due_to_post(rt, b, now=now, posting=posting)[0]]


def run_round(
    rt: Runtime, names: Sequence[str] | None = None, *, steps: Sequence[str] = STEPS
) -> RoundReport:
    """One round for the active bots (optionally only `names`, only some `steps`)."""
    unknown = sorted(set(steps) - set(STEPS))
    if unknown:
        raise ValueError(f"unknown steps {unknown}; choose from {list(STEPS)}")
    report = RoundReport()
    bots = active_bots(rt, names)
    if not bots:
        return report
    _check_stop(rt)
    clock = time.perf_counter()

    def timed(step: str) -> None:  # the wall time since the previous step ended
        nonlocal clock
        now = time.perf_counter()
        report.seconds[step] = round(now - clock, 3)
        clock = now

    if "ingest" in steps:
        report.ingest = ingest_all(rt, bots)
        timed("ingest")
        _check_stop(rt)
    if "compliance" in steps:
        report.compliance = comply_all(rt, bots)
        timed("compliance")
        _check_stop(rt)
    if "observe" in steps:
        spec = rt.reward_spec()
        due = fleet_due(rt.engine, spec=spec, now=rt.clock())  # two queries for the fleet
        for bot in bots:
            if bot.name not in due:
                report.observe[bot.name] = ObserveReport()
                continue
            report.observe[bot.name] = observe(
                rt.engine,
                platform=rt.platform_for(bot.name),
                bot=bot,
                spec=spec,
                now=rt.clock(),
                due=due[bot.name],
            )
        # timeline labels only feed the reward model: not read where it may not learn from them
        relabel = learns_from_timeline(rt)
        for timeline in sorted({b.timeline for b in bots if b.timeline and relabel}):
            report.relabelled[timeline] = observe_timeline(
                rt.engine,
                platform=rt.platform,  # shared timelines are charged like their polls
                timeline=timeline,
                spec=spec,
                now=rt.clock(),
                budget=rt.config.relabel_posts,
            )
        timed("observe")
    if "learn" in steps:
        learners = [learning_view(rt, b) for b in bots]  # no timeline where training on it
        sft_due, refit_due = learn_step.learning_due(rt, learners)  # is against the policy
        for learner in learners:
            report.learn[learner.name] = learn_step.LearnReport()
        for learner in sft_due:
            _check_stop(rt)
            learn_step.sft(rt, learner, report.learn[learner.name])
        for learner in refit_due:
            _check_stop(rt)
            learn_step.refit_reward_model(rt, learner, report.learn[learner.name])
        timed("sft_and_reward_model")
        _check_stop(rt)
        learn_step.rl(rt, rl_due(rt, bots), report.learn)
        timed("rl")
    if "act" in steps:
        _check_stop(rt)
        report.act = act_step.act(rt, bots, now=rt.clock())
        timed("act")
    return report
