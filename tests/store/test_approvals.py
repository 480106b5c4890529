"""Approving a queued candidate writes one outbox row; rejecting never does."""

from __future__ import annotations

import pytest

from vibeforge.domain import Bot, Candidate, CandidateStatus
from vibeforge.errors import VibeforgeError
from vibeforge.store import approvals, session_scope
from vibeforge.store import queries as q


def test_approve_and_reject(engine) -> None:
    with session_scope(engine) as s:
        q.create_bot(s, bot=Bot(name="sky"))
        a, b = q.add_candidates(
            s,
            candidates=[
                Candidate(bot="sky", text="first", status=CandidateStatus.QUEUED),
                Candidate(bot="sky", text="second", status=CandidateStatus.QUEUED),
            ],
        )
    with session_scope(engine) as s:
        assert [c.text for c in approvals.queued(s)] == ["first", "second"]
        pub = approvals.approve(s, candidate_id=a.id)
        approvals.reject(s, candidate_id=b.id)
    assert pub.idempotency_key == f"sky:{a.id}" and pub.text == "first"
    with session_scope(engine) as s:
        assert approvals.queued(s) == []
        assert [p.text for p in q.list_publications(s, bot="sky")] == ["first"]
        with pytest.raises(VibeforgeError, match="not queued"):
            approvals.approve(s, candidate_id=a.id)
        with pytest.raises(VibeforgeError, match="no candidate"):
            approvals.reject(s, candidate_id=999)
