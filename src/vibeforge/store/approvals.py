"""The approval queue: when enabled, chosen candidates wait for a person before the outbox.

A store workflow (the CLI and the dashboard drive it; the loop only queues candidates and later
publishes what the outbox holds). Approving a queued candidate writes its outbox row
(idempotency key `<bot>:<candidate id>`), so approving twice publishes once; rejecting marks it
rejected. A reply the platform's policy lets out only with approval is queued with its outbox
row already written, `held` (the row keeps what it replies to): approving moves that row to
pending, rejecting to failed. Like every query function these take a `Session` and never commit.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from vibeforge.domain import Candidate, CandidateStatus, Publication, PublicationStatus
from vibeforge.errors import VibeforgeError
from vibeforge.store import queries as q


def idempotency_key(candidate: Candidate) -> str:
    return f"{candidate.bot}:{candidate.id}"


def queued(session: Session, *, bot: str | None = None) -> list[Candidate]:
    return q.list_candidates(session, bot=bot, status=CandidateStatus.QUEUED)


def _queued_candidate(session: Session, candidate_id: int) -> Candidate:
    matches = [c for c in q.list_candidates(session) if c.id == candidate_id]
    if not matches:
        raise VibeforgeError(f"no candidate {candidate_id}; see 'vibeforge approvals list'")
    candidate = matches[0]
    if candidate.status is not CandidateStatus.QUEUED:
        raise VibeforgeError(
            f"candidate {candidate_id} is {candidate.status.value}, not queued for approval"
        )
    return candidate


def held_publication(session: Session, candidate: Candidate) -> Publication | None:
    """The candidate's outbox row held for approval (a reply), if it has one."""
    key = idempotency_key(candidate)
    held = q.list_publications(session, bot=candidate.bot, statuses=[PublicationStatus.HELD])
    return next((p for p in held if p.idempotency_key == key), None)


def approve(session: Session, *, candidate_id: int) -> Publication:
    """Move a queued candidate to the outbox; the loop publishes it on its next act step."""
    candidate = _queued_candidate(session, candidate_id)
    q.set_candidate_status(session, candidate_id=candidate_id, status=CandidateStatus.CHOSEN)
    if held_publication(session, candidate) is not None:
        return q.transition_publication(
            session, idempotency_key=idempotency_key(candidate), status=PublicationStatus.PENDING
        )
    return q.enqueue_publication(
        session,
        publication=Publication(
            idempotency_key=idempotency_key(candidate),
            bot=candidate.bot,
            text=candidate.text,
            candidate_id=candidate.id,
        ),
    )


def reject(session: Session, *, candidate_id: int) -> Candidate:
    candidate = _queued_candidate(session, candidate_id)
    q.set_candidate_status(session, candidate_id=candidate_id, status=CandidateStatus.REJECTED)
    if held_publication(session, candidate) is not None:
        q.transition_publication(
            session,
            idempotency_key=idempotency_key(candidate),
            status=PublicationStatus.FAILED,
            error="rejected in the approval queue",
        )
    return candidate
