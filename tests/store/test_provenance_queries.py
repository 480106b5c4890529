"""Provenance records and compliance deletes through the keyword-only queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vibeforge.domain import Bot, Metrics, Post, Provenance, Reward, Timeline, TimelineKind
from vibeforge.errors import NotFoundError
from vibeforge.store import queries as q
from vibeforge.store import session_scope

T0 = datetime(2026, 9, 1, 12, tzinfo=UTC)


def _record(post_id: str, **kw) -> Provenance:  # type: ignore[no-untyped-def]
    base = {
        "platform": "x",
        "post_id": post_id,
        "bot": "sky",
        "publication_key": f"sky:{post_id}",
        "base_model": "tiny",
        "prompt_version": "v2",
        "published_at": T0,
        "ai_flag": True,
        "ai_label": "made_with_ai",
    }
    return Provenance(**{**base, **kw})


def test_provenance_is_recorded_once_and_read_back(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        first = q.record_provenance(s, provenance=_record("11", adapter_version=1))
        again = q.record_provenance(s, provenance=_record("11", adapter_version=9))
        q.record_provenance(s, provenance=_record("12", platform="bluesky"))
    assert again.adapter_version == first.adapter_version == 1  # the first record stands
    with session_scope(engine) as s:
        assert q.get_provenance(s, post_id="11").adapter_version == 1
        assert set(q.provenance_for_posts(s, post_ids=["11", "12", "13"])) == {"11", "12"}
        assert set(q.provenance_for_posts(s, post_ids=["11", "12"], platform="x")) == {"11"}
        with pytest.raises(NotFoundError, match="no published post '12' on x"):
            q.get_provenance(s, post_id="12", platform="x")
        assert q.mark_provenance_removed(s, platform="x", post_ids=["11", "13"], at=T0) == 1
        assert q.mark_provenance_removed(s, platform="x", post_ids=["11"], at=T0) == 0
    with session_scope(engine) as s:
        assert q.get_provenance(s, post_id="11").removed_at == T0


def test_delete_posts_takes_metrics_and_rewards_with_them(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        q.create_timeline(s, timeline=Timeline(name="t", kind=TimelineKind.LIST, source="1"))
        q.create_bot(s, bot=Bot(name="sky", timeline="t"))
        m = Metrics(observed_at=T0 + timedelta(hours=1), like_count=2)
        humans = [
            Post(id=f"h{i}", text=f"human post {i}", author_id="p", created_at=T0, metrics=m)
            for i in range(3)
        ]
        q.add_posts(s, posts=humans, timeline="t")
        own = Post(id="b1", text="bot post", author_id="sky", created_at=T0, metrics=m)
        q.add_posts(s, posts=[own], bot="sky")
        q.add_reward(s, reward=Reward(bot="sky", post_id="b1", value=1.0, preset="x", age_s=3600))
    with session_scope(engine) as s:
        gone = q.delete_posts(s, platform="x", post_ids=["h1", "b1", "nope"])
    assert sorted(p.id for p in gone) == ["b1", "h1"]
    with session_scope(engine) as s:
        assert set(q.post_ids(s, platform="x", timeline="t")) == {"h0", "h2"}
        assert sorted(q.ingested_texts(s)) == ["human post 0", "human post 2"]
        assert q.list_rewards(s, bot="sky") == []
        with pytest.raises(NotFoundError):
            q.metrics_history(s, post_id="h1")
        assert len(q.metrics_history(s, post_id="h0")) == 1
