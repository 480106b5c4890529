"""Act: generate K candidates per due bot (one mixed batch), guard, choose, publish.

A bot is due when its last post is older than its interval (24 h / posts_per_day) with a
deterministic ± jitter. A candidate cut by max_new_tokens is trimmed to its last sentence or
word end (one that cannot be fails the guard's "truncated" check); one the base model finds far
less likely than the timeline's human posts fails "fluency"; one too close to anything the
fleet posted lately fails "fleet_duplicate" (the platform policy's near-duplicate guard,
`loop.policy`). Candidates are stored with their guard verdicts; the best passing one by the
reward model is chosen (ties: the first). Chosen posts go to the approval queue when it is on
(or the policy wants a person for them), else to the outbox, which the publisher sends
(unless dry-run). Budgets: a bot stops at ceil(posts_per_day) posts per platform day, all
bots at `global_posts_per_day`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from vibeforge.domain import (
    Bot,
    Candidate,
    CandidateStatus,
    SamplingTrace,
)
from vibeforge.learn.prompt import bot_prompt
from vibeforge.loop.due import WAITING, Posting
from vibeforge.loop.outbox import publish_pending
from vibeforge.loop.policy import submit, with_fleet_guard
from vibeforge.loop.runtime import Runtime
from vibeforge.privacy.patterns import postable
from vibeforge.store import fleet, session_scope
from vibeforge.store import queries as q

log = logging.getLogger(__name__)


@dataclass
class ActReport:
    generated: int = 0
    rejected: int = 0
    chosen: str | None = None
    queued: bool = False
    published: list[str] = field(default_factory=list)
    budget: str | None = None  # why the bot did not post (budget spent)
    # candidates failing each guard check by its name ("fleet_duplicate": too close to a post
    # of the fleet); a candidate failing several counts under each
    reasons: dict[str, int] = field(default_factory=dict)


def due_to_post(
    rt: Runtime, bot: Bot, *, now: datetime, posting: Posting | None = None
) -> tuple[bool, str | None]:
    """(due?, why not when a budget stops it); `posting`: the fleet's state when the caller
    has read it (a round reads it once for every bot)."""
    posting = posting or Posting.read(rt.engine, now=now)
    return posting.due(
        bot, now=now, jitter_amount=rt.config.jitter, global_cap=rt.config.global_posts_per_day
    )


def act(rt: Runtime, bots: Sequence[Bot], *, now: datetime) -> dict[str, ActReport]:
    """Generate, guard and choose for every due bot in mixed batches (as many bots as the bank
    keeps resident and its batch rows allow); then publish their outbox."""
    from vibeforge.learn.guard import run_guard
    from vibeforge.models.generate import SamplingParams

    reports = {b.name: ActReport() for b in bots}
    due: list[Bot] = []
    posting = Posting.read(rt.engine, now=now)  # the whole fleet's in four queries
    for bot in bots:
        ok, why = due_to_post(rt, bot, now=now, posting=posting)
        if why:
            reports[bot.name].budget = why
            log.info(why)
        if ok:
            due.append(bot)
    bank = rt.bank() if due else None
    if due and bank is not None:
        k = rt.config.candidates
        params = SamplingParams(
            max_new_tokens=rt.config.max_new_tokens, temperature=rt.config.temperature
        )
        # one mixed batch per chunk of bots that fits the bank's resident set and batch rows
        size = max(1, min(bank.config.capacity, bank.config.max_batch_rows // k))
        for chunk in (due[i : i + size] for i in range(0, len(due), size)):
            requests = []
            for bot in chunk:
                context = list(rt.timeline_texts(bot.timeline, limit=rt.config.context_posts))
                bank.get_or_create(bot.name)
                prompt = bot_prompt(bank.base.tokenizer, persona=bot.persona, context=context)
                requests.extend([(bot.name, prompt)] * k)
            gens = bank.generate(requests, params)
            for i, bot in enumerate(chunk):
                _choose(rt, bot, gens[i * k : (i + 1) * k], reports[bot.name], run_guard, now=now)
    if not rt.config.dry_run:
        # only bots with something in the outbox (pending, or sent and unsettled by a crash)
        with session_scope(rt.engine) as s:
            counts = fleet.publication_counts(s)  # one query for the fleet
        for bot in bots:
            if bot.account and any(counts.get(bot.name, {}).get(st) for st in WAITING):
                pub = publish_pending(
                    rt.engine,
                    platform=rt.platform_for(bot.name),
                    bot=bot,
                    now=now,
                    policy=rt.policy,
                    images=rt.image_source(bot),  # loop.images: none unless configured
                )
                reports[bot.name].published.extend(pub.confirmed)
                if pub.stopped:
                    reports[bot.name].budget = pub.stopped
    return reports


def _choose(
    rt: Runtime, bot: Bot, gens: Sequence, report: ActReport, run_guard, *, now: datetime
) -> None:
    from vibeforge.models.generate import trim_generation

    # a post cut by max_new_tokens ends at its last sentence or word, tokens with it (the
    # chosen one's trace feeds the off-policy update); one that cannot be fails "truncated"
    tokenizer = rt.bank().base.tokenizer
    gens = [trim_generation(g, tokenizer) or g for g in gens]
    texts = [postable(g.text) for g in gens]  # no scrubbing placeholders reach the platform
    report.generated = len(texts)
    with session_scope(rt.engine) as s:
        recent = [p.text for p in q.list_posts(s, bot=bot.name, limit=200)]
    verdicts = run_guard(
        texts,
        recent=recent,
        memorization=rt.memorization,
        pii=rt.pii(),
        finish_reasons=[g.finish_reason for g in gens],
        fluency=rt.fluency(bot.timeline),  # far less likely than the niche's posts: rejected
    )
    verdicts = with_fleet_guard(rt, texts, verdicts, now=now)  # no bot repeats the fleet
    for v in verdicts:
        for name in v.failed():
            report.reasons[name] = report.reasons.get(name, 0) + 1
    model = rt.reward_model(bot.name)
    predicted = model.predict(texts) if model is not None else [0.0] * len(texts)
    passing = [i for i, v in enumerate(verdicts) if v.ok and texts[i]]
    report.rejected = len(texts) - len(passing)
    best = max(passing, key=lambda i: float(predicted[i])) if passing else None
    version = rt.bank().version(bot.name)
    candidates = []
    for i, (g, v) in enumerate(zip(gens, verdicts, strict=True)):
        if i == best:
            status = CandidateStatus.QUEUED if rt.config.approval else CandidateStatus.CHOSEN
        else:
            status = CandidateStatus.DISCARDED if v.ok else CandidateStatus.REJECTED
        candidates.append(
            Candidate(
                bot=bot.name,
                text=texts[i],
                adapter_version=version.version if version else None,
                predicted_reward=float(predicted[i]),
                guard=v.as_json(),
                status=status,
                trace=SamplingTrace(
                    prompt_ids=tuple(g.prompt_ids),
                    token_ids=tuple(g.token_ids),
                    logprobs=tuple(g.logprobs),
                    temperature=rt.config.temperature,
                )
                if i == best
                else None,
            )
        )
    with session_scope(rt.engine) as s:
        stored = q.add_candidates(s, candidates=candidates)
        if best is None:
            log.info("bot %s: all %d candidates failed the guard", bot.name, len(texts))
            return
        chosen = stored[best]
        report.chosen = chosen.text
        # the outbox, or the approval queue (the config's, or the policy's for a reply)
        report.queued = submit(s, policy=rt.policy, candidate=chosen, approval=rt.config.approval)
