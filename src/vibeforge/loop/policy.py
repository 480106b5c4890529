"""The platform's policy (`vibeforge.platforms.policy`), enforced where the loop acts.

AI label          the outbox publishes only through a client that marks its posts as
                  AI-made (`ai_marking`: X's made_with_ai, Bluesky's bot self-label)
fleet duplicate   act drops a candidate whose embedding cosine with anything any bot of the
                  fleet posted in the last N days (confirmed posts; outbox rows on their
                  way or held; candidates waiting for approval) exceeds the threshold,
                  as guard check "fleet_duplicate", and takes the next best candidate
replies, quotes   a reply to or quote of someone else's post goes to the approval queue
                  (its outbox row held) where the policy says so; the outbox refuses an
                  unapproved one
timeline learning SFT and the reward model see the bot without its timeline where the
                  policy forbids training on the platform's content, unless the loop
                  config opts in (`learn_from_timeline: true`)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy.orm import Session

from vibeforge.domain import Bot, Candidate, CandidateStatus, Publication, PublicationStatus
from vibeforge.loop.runtime import Runtime
from vibeforge.platforms.base import Platform
from vibeforge.platforms.policy import PlatformPolicy
from vibeforge.store import queries as q
from vibeforge.store import session_scope

if TYPE_CHECKING:
    from vibeforge.learn.guard import GuardResult

FLEET_DUPLICATE = "fleet_duplicate"  # the act report's and the guard verdicts' name for it
_IN_FLIGHT = [PublicationStatus.PENDING, PublicationStatus.SENT, PublicationStatus.HELD]


# ------------------------------------------------------------ learning from the timeline


def learns_from_timeline(rt: Runtime) -> bool:
    """Whether the timeline's posts may train this runtime's bots: the loop config's
    `learn_from_timeline` when set, else the platform policy's default."""
    configured = rt.config.learn_from_timeline
    return rt.policy.learn_from_timeline if configured is None else configured


def learning_view(rt: Runtime, bot: Bot) -> Bot:
    """The bot as SFT and the reward-model refit see it: without its timeline where the
    policy keeps timeline content out of training (they then learn from its own posts)."""
    return bot if learns_from_timeline(rt) else replace(bot, timeline=None)


# ------------------------------------------------------------ the fleet's near duplicates


def fleet_duplicate_rule(rt: Runtime) -> tuple[float, float] | None:
    """(cosine threshold, days) of the near-duplicate guard; None where no rule applies."""
    c = rt.config
    cosine = (
        c.fleet_duplicate_cosine
        if c.fleet_duplicate_cosine is not None
        else rt.policy.fleet_duplicate_cosine
    )
    days = c.fleet_duplicate_days or rt.policy.fleet_duplicate_days
    return None if cosine is None else (cosine, days)


def fleet_texts(session: Session, *, since: datetime) -> list[tuple[str, str]]:
    """(bot, text) of what the fleet published since `since` (platform time) and what is on
    its way: outbox rows pending, sent or held, and candidates waiting for approval."""
    out: list[tuple[str, str]] = []
    for bot in q.list_bots(session):
        out.extend((bot.name, p.text) for p in q.list_posts(session, bot=bot.name, since=since))
    out.extend((p.bot, p.text) for p in q.list_publications(session, statuses=_IN_FLIGHT))
    out.extend((c.bot, c.text) for c in q.list_candidates(session, status=CandidateStatus.QUEUED))
    return list(dict.fromkeys((b, t) for b, t in out if t.strip()))


def fleet_duplicates(rt: Runtime, texts: Sequence[str], *, now: datetime) -> list[dict | None]:
    """Per text: None, or {"cosine", "bot"} of the fleet's nearest post when it is closer than
    the rule allows."""
    rule = fleet_duplicate_rule(rt)
    if rule is None or not any(t.strip() for t in texts):
        return [None] * len(texts)
    threshold, days = rule
    with session_scope(rt.engine) as s:
        fleet = fleet_texts(s, since=now - timedelta(days=days))
    if not fleet:
        return [None] * len(texts)
    embedder = rt.text_embedder()
    mine = np.asarray(embedder.encode(list(texts)), dtype=np.float32)  # (N, D), unit rows
    theirs = np.asarray(embedder.encode([t for _, t in fleet]), dtype=np.float32)  # (M, D)
    cosine = mine @ theirs.T  # (N, M)
    out: list[dict | None] = []
    for i, text in enumerate(texts):
        j = int(np.argmax(cosine[i]))
        value = float(cosine[i, j])
        near = bool(text.strip()) and value > threshold
        out.append({"cosine": round(value, 4), "bot": fleet[j][0]} if near else None)
    return out


def with_fleet_guard(
    rt: Runtime, texts: Sequence[str], verdicts: Sequence[GuardResult], *, now: datetime
) -> list[GuardResult]:
    """The guard's verdicts with the "fleet_duplicate" check added (failing near duplicates)."""
    from vibeforge.learn.guard import GuardResult, Verdict

    rule = fleet_duplicate_rule(rt)
    if rule is None:
        return list(verdicts)
    near = fleet_duplicates(rt, texts, now=now)
    out = []
    for result, found in zip(verdicts, near, strict=True):
        detail: dict[str, Any] = dict(found) if found else {}
        detail["threshold"] = rule[0]
        check = Verdict(ok=found is None, detail=detail)
        out.append(
            GuardResult(
                ok=result.ok and check.ok, verdicts={**result.verdicts, FLEET_DUPLICATE: check}
            )
        )
    return out


# ------------------------------------------------------------ replies, quotes and approval


def _own_post(session: Session, *, bot: str, post_id: str) -> bool:
    return any(p.id == post_id for p in q.list_posts(session, bot=bot))


def needs_approval(session: Session, *, policy: PlatformPolicy, bot: str, target: str) -> bool:
    """Whether a reply to or quote of the post `target` waits for a person: it is someone
    else's post, under a policy that wants a person's approval for those (X: AI-generated
    replies only with approval); a bot's own post is not someone else's."""
    return policy.replies_need_approval and not _own_post(session, bot=bot, post_id=target)


def _targets_need_approval(
    session: Session, *, policy: PlatformPolicy, bot: str, targets: Sequence[str | None]
) -> bool:
    return any(
        t is not None and needs_approval(session, policy=policy, bot=bot, target=t) for t in targets
    )


def submit(
    session: Session,
    *,
    policy: PlatformPolicy,
    candidate: Candidate,
    reply_to: str | None = None,
    quote_of: str | None = None,
    approval: bool = False,
) -> bool:
    """Send a stored, chosen candidate on its way: the outbox, or the approval queue when the
    loop config asks for it (`approval`) or the policy does for this reply or quote. Every
    publication the loop makes goes through here. Returns True when it waits for a person.

    A queued reply's or quote's outbox row is written held (it keeps what it replies to and
    quotes; approving it makes it pending); a queued top-level post gets its row when it is
    approved.
    """
    assert candidate.id is not None, "submit a stored candidate"
    queued = approval or _targets_need_approval(
        session, policy=policy, bot=candidate.bot, targets=(reply_to, quote_of)
    )
    status = CandidateStatus.QUEUED if queued else CandidateStatus.CHOSEN
    q.set_candidate_status(session, candidate_id=candidate.id, status=status)
    if queued and reply_to is None and quote_of is None:
        return True
    q.enqueue_publication(
        session,
        publication=Publication(
            idempotency_key=f"{candidate.bot}:{candidate.id}",
            bot=candidate.bot,
            text=candidate.text,
            candidate_id=candidate.id,
            reply_to=reply_to,
            quote_of=quote_of,
            status=PublicationStatus.HELD if queued else PublicationStatus.PENDING,
        ),
    )
    return queued


def engagement_refusal(session: Session, *, policy: PlatformPolicy, pub: Publication) -> str | None:
    """Why the outbox must not send this row (None: it may): a reply or quote the policy lets
    out only with approval, that no person approved (its candidate is not chosen, or it has
    none)."""
    if not _targets_need_approval(
        session, policy=policy, bot=pub.bot, targets=(pub.reply_to, pub.quote_of)
    ):
        return None
    if pub.candidate_id is not None:
        chosen = q.list_candidates(session, bot=pub.bot, status=CandidateStatus.CHOSEN)
        if any(c.id == pub.candidate_id for c in chosen):
            return None
    return (
        f"policy ({policy.name}): a reply to or quote of another account's post needs a "
        "person's approval ('vibeforge approvals'); this one has none"
    )


def ai_label_refusal(policy: PlatformPolicy, platform: Platform) -> str | None:
    """Why nothing may be published through `platform` (None: it may): the policy wants every
    post marked AI-made and the client says it marks none (`ai_marking` None)."""
    if policy.ai_label and getattr(platform, "ai_marking", "") is None:
        return (
            f"policy ({policy.name}): every post must be marked AI-generated "
            f"({policy.ai_label_how}), and this client marks none"
        )
    return None
