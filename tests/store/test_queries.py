"""The store's queries, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from vibeforge.domain import (
    AdapterVersion,
    Bot,
    BotStatus,
    Candidate,
    CandidateStatus,
    Elder,
    Metrics,
    Post,
    Publication,
    PublicationStatus,
    Reward,
    SamplingTrace,
    Timeline,
    TimelineKind,
)
from vibeforge.errors import AlreadyExistsError, NotFoundError, VibeforgeError
from vibeforge.store import queries as q
from vibeforge.store import session_scope

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _seed(engine) -> None:
    with session_scope(engine) as s:
        q.create_timeline(
            s, timeline=Timeline(name="air", kind=TimelineKind.HANDLES, source="delta,united")
        )
        q.create_bot(s, bot=Bot(name="sky", timeline="air", persona="frequent flyer"))


def test_bot_round_trip_and_uniqueness(engine) -> None:
    _seed(engine)
    with session_scope(engine) as s:
        bot = q.get_bot(s, name="sky")
    assert bot.timeline == "air" and bot.persona == "frequent flyer"
    assert bot.status is BotStatus.ACTIVE
    assert bot.created_at is not None and bot.created_at.tzinfo is not None
    with pytest.raises(AlreadyExistsError, match="already exists"), session_scope(engine) as s:
        q.create_bot(s, bot=Bot(name="sky"))
    with pytest.raises(NotFoundError, match="known: sky"), session_scope(engine) as s:
        q.get_bot(s, name="nope")
    with pytest.raises(NotFoundError, match="no timeline"), session_scope(engine) as s:
        q.create_bot(s, bot=Bot(name="other", timeline="missing"))


def test_pause_resume_and_filter(engine) -> None:
    _seed(engine)
    with session_scope(engine) as s:
        q.create_bot(s, bot=Bot(name="b2", timeline="air"))
        q.set_bot_status(s, name="sky", status=BotStatus.PAUSED)
    with session_scope(engine) as s:
        assert [b.name for b in q.list_bots(s, status=BotStatus.ACTIVE)] == ["b2"]
        assert [b.name for b in q.list_bots(s)] == ["b2", "sky"]


def test_posts_dedup_by_id_and_content_hash(engine) -> None:
    _seed(engine)
    posts = [
        Post(id="1", text="Delayed again at JFK", author_id="p1", created_at=T0),
        Post(id="2", text="  delayed AGAIN at jfk ", author_id="p2", created_at=T0),  # same hash
        Post(id="3", text="Lovely crew today", author_id="p1", created_at=T0 + timedelta(hours=1)),
    ]
    with session_scope(engine) as s:
        added = q.add_posts(s, posts=posts, timeline="air")
    assert [p.id for p in added] == ["1", "3"]
    with session_scope(engine) as s:
        assert q.add_posts(s, posts=posts, timeline="air") == []
        assert q.count_posts(s, timeline="air") == 2
        newest = q.list_posts(s, timeline="air")
    assert [p.id for p in newest] == ["3", "1"]  # newest first


def test_count_posts_of_bots_since(engine) -> None:
    _seed(engine)
    with session_scope(engine) as s:
        q.create_bot(s, bot=Bot(name="b2", timeline="air"))
        for i, (bot, hours) in enumerate([("sky", 0), ("sky", 5), ("b2", 6), (None, 7)]):
            post = Post(id=f"o{i}", text=f"own post {i}", author_id="a", created_at=T0)
            q.add_posts(
                s,
                posts=[replace(post, created_at=T0 + timedelta(hours=hours))],
                timeline=None if bot else "air",
                bot=bot,
            )
    with session_scope(engine) as s:
        assert q.count_posts(s, bots=["sky", "b2"]) == 3
        assert q.count_posts(s, bots=["sky", "b2"], since=T0 + timedelta(hours=1)) == 2
        assert q.count_posts(s, bots=["sky"], since=T0 + timedelta(hours=1)) == 1
        assert q.count_posts(s, bots=[]) == 0 and q.count_posts(s) == 4


def test_metrics_are_time_stamped_observations(engine) -> None:
    _seed(engine)
    with session_scope(engine) as s:
        q.add_posts(
            s,
            posts=[
                Post(
                    id="9",
                    text="hello",
                    author_id="p",
                    created_at=T0,
                    metrics=Metrics(observed_at=T0 + timedelta(hours=1), like_count=2),
                )
            ],
            timeline="air",
        )
    with session_scope(engine) as s:
        q.add_metrics(
            s,
            observations={
                "9": Metrics(
                    observed_at=T0 + timedelta(hours=6), like_count=5, impression_count=100
                )
            },
        )
    with session_scope(engine) as s:
        history = q.metrics_history(s, post_id="9")
        latest = q.list_posts(s, timeline="air", with_metrics=True)[0].metrics
    assert [m.like_count for m in history] == [2, 5]
    assert history[1].impression_count == 100 and history[0].impression_count is None
    assert latest is not None and latest.like_count == 5
    with pytest.raises(NotFoundError), session_scope(engine) as s:
        q.add_metrics(s, observations={"404": Metrics(observed_at=T0)})


def test_outbox_idempotency_and_transitions(engine) -> None:
    _seed(engine)
    pub = Publication(idempotency_key="sky:2026-01-01:1", bot="sky", text="hi")
    with session_scope(engine) as s:
        first = q.enqueue_publication(s, publication=pub)
        again = q.enqueue_publication(s, publication=pub)
    assert (
        first.status is PublicationStatus.PENDING and again.idempotency_key == first.idempotency_key
    )
    with session_scope(engine) as s:
        assert len(q.list_publications(s, bot="sky")) == 1
        q.transition_publication(
            s, idempotency_key=pub.idempotency_key, status=PublicationStatus.SENT
        )
    with (
        pytest.raises(VibeforgeError, match="needs the platform's post id"),
        session_scope(engine) as s,
    ):
        q.transition_publication(
            s, idempotency_key=pub.idempotency_key, status=PublicationStatus.CONFIRMED
        )
    with session_scope(engine) as s:
        done = q.transition_publication(
            s,
            idempotency_key=pub.idempotency_key,
            status=PublicationStatus.CONFIRMED,
            platform_post_id="123",
        )
    assert done.attempts == 1 and done.platform_post_id == "123"
    with (
        pytest.raises(VibeforgeError, match="cannot go from confirmed"),
        session_scope(engine) as s,
    ):
        q.transition_publication(
            s, idempotency_key=pub.idempotency_key, status=PublicationStatus.SENT
        )


def test_candidates_rewards_adapters_elders(engine) -> None:
    _seed(engine)
    with session_scope(engine) as s:
        [c] = q.add_candidates(
            s,
            candidates=[
                Candidate(bot="sky", text="t", guard={"length": {"ok": True}}, predicted_reward=0.4)
            ],
        )
        assert c.id is not None
        q.set_candidate_status(s, candidate_id=c.id, status=CandidateStatus.CHOSEN)
        reward = Reward(bot="sky", post_id="p1", value=0.25, preset="x2026", age_s=3600.0)
        assert q.add_reward(s, reward=reward) is True
        assert q.add_reward(s, reward=reward) is False  # idempotent
        q.add_adapter_version(
            s, adapter=AdapterVersion(bot="sky", version=1, path="/a/1", sha256="0" * 64)
        )
        q.add_adapter_version(
            s,
            adapter=AdapterVersion(
                bot="sky",
                version=2,
                path="/a/2",
                sha256="1" * 64,
                parent=1,
                metrics={"loss": [2.0, 1.5]},
            ),
        )
        q.upsert_elder(
            s, elder=Elder(name="e1", base_model="gemma", bots=("sky",), niches=("air",))
        )
    with session_scope(engine) as s:
        [chosen] = q.list_candidates(s, bot="sky", status=CandidateStatus.CHOSEN)
        assert chosen.guard == {"length": {"ok": True}}
        latest = q.latest_adapter_version(s, bot="sky")
        assert latest is not None and latest.version == 2 and latest.metrics == {"loss": [2.0, 1.5]}
        assert q.get_elder(s, name="e1").bots == ("sky",)
        stats = q.bot_stats(s, name="sky")
        assert stats["adapter_versions"] == 2 and stats["mean_reward"] == pytest.approx(0.25)
        with pytest.raises(AlreadyExistsError):
            q.add_adapter_version(
                s, adapter=AdapterVersion(bot="sky", version=2, path="/x", sha256="2" * 64)
            )


def test_sampling_traces_round_trip_and_read_the_stored_json_shape(engine) -> None:
    from vibeforge.store.tables import CandidateRow

    _seed(engine)
    trace = SamplingTrace(
        prompt_ids=(5, 6), token_ids=(7, 8), logprobs=(-0.1234567, -2.0), temperature=0.9
    )
    with session_scope(engine) as s:
        [c] = q.add_candidates(s, candidates=[Candidate(bot="sky", text="t", trace=trace)])
        # a row as vibeforge has always written it: a JSON object of lists
        s.add(
            CandidateRow(
                bot="sky",
                text="older",
                status="chosen",
                guard={},
                trace={"prompt_ids": [1], "token_ids": [2], "logprobs": [-1.5], "temperature": 1},
            )
        )
    with session_scope(engine) as s:
        row = s.get(CandidateRow, c.id)
        assert row is not None and row.trace == {
            "prompt_ids": [5, 6],
            "token_ids": [7, 8],
            "logprobs": [-0.123457, -2.0],
            "temperature": 0.9,
        }
        by_text = {x.text: x for x in q.list_candidates(s, bot="sky")}
    assert by_text["t"].trace == replace(trace, logprobs=(-0.123457, -2.0))
    assert by_text["older"].trace == SamplingTrace(
        prompt_ids=(1,), token_ids=(2,), logprobs=(-1.5,), temperature=1.0
    )


def test_delete_bot_cascades_but_keeps_posts(engine) -> None:
    _seed(engine)
    with session_scope(engine) as s:
        q.add_posts(
            s, posts=[Post(id="own", text="mine", author_id="sky", created_at=T0)], bot="sky"
        )
        q.enqueue_publication(s, publication=Publication(idempotency_key="k", bot="sky", text="x"))
        q.add_reward(s, reward=Reward(bot="sky", post_id="own", value=1.0, preset="p", age_s=1.0))
    with session_scope(engine) as s:
        q.delete_bot(s, name="sky")
    with session_scope(engine) as s:
        assert q.list_bots(s) == []
        assert q.list_publications(s) == []
        assert q.list_rewards(s, bot="sky") == []
        assert [p.id for p in q.list_posts(s)] == ["own"]  # the published post stays


def test_timeline_cursor_only_moves_forward(engine) -> None:
    _seed(engine)
    with session_scope(engine) as s:
        q.set_timeline_cursor(s, name="air", since_id="200", polled_at=T0)
        q.set_timeline_cursor(s, name="air", since_id="99", polled_at=T0 + timedelta(minutes=15))
    with session_scope(engine) as s:
        t = q.get_timeline(s, name="air")
    assert t.since_id == "200" and t.last_polled_at == T0 + timedelta(minutes=15)


def test_naive_datetimes_are_refused(engine) -> None:
    _seed(engine)
    with pytest.raises(Exception, match="naive datetime"), session_scope(engine) as s:
        q.add_posts(
            s, posts=[Post(id="n", text="x", author_id="a", created_at=datetime(2026, 1, 1))]
        )


def test_api_call_ledger_aggregates_per_day(engine) -> None:
    from datetime import date

    from vibeforge.domain import ApiCall

    day = date(2026, 3, 1)
    call = ApiCall(
        day=day,
        bot="sky",
        kind="post_read",
        endpoint="GET /2/tweets",
        calls=1,
        units=100,
        cost_usd=0.5,
    )
    with session_scope(engine) as s:
        q.record_api_call(s, call=call)
        q.record_api_call(s, call=call)
        q.record_api_call(
            s,
            call=ApiCall(
                day=day,
                bot="*",
                kind="user_read",
                endpoint="GET /u",
                calls=1,
                units=1,
                cost_usd=0.01,
            ),
        )
    with session_scope(engine) as s:
        [line] = q.list_api_calls(s, day=day, bot="sky")
        assert (line.calls, line.units) == (2, 200) and line.cost_usd == pytest.approx(1.0)
        assert len(q.list_api_calls(s, day=day)) == 2


def test_flags_set_get_clear(engine) -> None:
    with session_scope(engine) as s:
        assert q.get_flag(s, name="stop") is None
        q.set_flag(s, name="stop", value={"by": "cli"})
    with session_scope(engine) as s:
        assert q.get_flag(s, name="stop") == {"by": "cli"}
        q.set_flag(s, name="stop", value=None)
    with session_scope(engine) as s:
        assert q.get_flag(s, name="stop") is None
