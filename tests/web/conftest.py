"""A store filled through the public query functions, for the dashboard's page tests.

`filled` is the one place the page tests get their data from: to run them on a real short
sandbox run instead, replace `fill_store` with a fixture that runs the loop and returns the
same `StoreFacts` (names the assertions look for).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest

from vibeforge.analytics.trends import TrendEvent
from vibeforge.domain import (
    AdapterVersion,
    ApiCall,
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
    Timeline,
    TimelineKind,
)

T0 = datetime(2026, 11, 20, 6, tzinfo=UTC)
TOKEN = "test-dashboard-token-1234"
BACKGROUND = [
    "flight delayed again at the gate",
    "great crew on my flight today",
    "lost luggage and a long queue",
    "window seat views over the clouds",
    "boarding took forever this morning",
]


@dataclass
class StoreFacts:
    bots: list[str]
    niche: str  # a niche with a known trend
    trend_term: str  # a hashtag that bursts in that niche
    events: list[TrendEvent]
    queued: dict[str, int]  # queued candidate text -> id
    rejected_check: str  # a guard check that rejected something
    elder: str
    spawned: str  # a bot spawned from the elder
    capture_lag_h: float  # the bot's known time-to-capture of the trend
    total_cost: float
    extra: dict[str, object] = field(default_factory=dict)


def fill_store(engine) -> StoreFacts:  # type: ignore[no-untyped-def]
    from vibeforge.store import queries as q
    from vibeforge.store import session_scope

    with session_scope(engine) as s:
        q.create_timeline(s, timeline=Timeline(name="airlines", kind=TimelineKind.LIST, source="1"))
        q.create_timeline(
            s, timeline=Timeline(name="apple", kind=TimelineKind.HANDLES, source="tim,phil")
        )
        q.create_bot(s, bot=Bot(name="skybot", timeline="airlines", persona="jokes about delays"))
        q.create_bot(s, bot=Bot(name="fruitbot", timeline="apple", parent_elder="elder-one"))
        q.create_bot(s, bot=Bot(name="quietbot", status=BotStatus.PAUSED))

        humans = []
        for h in range(8):
            for k in range(10):
                at = T0 + timedelta(hours=h, minutes=5 * k)
                text = BACKGROUND[(h + k) % len(BACKGROUND)] + f" (h{h}k{k})"
                if h >= 6 and k < 5:
                    text = f"pilot strike grounds everything #strike {h}{k}"
                m = Metrics(observed_at=at + timedelta(hours=1), like_count=3, impression_count=100)
                humans.append(
                    Post(id=f"h{h}-{k}", text=text, author_id=f"p{k}", created_at=at, metrics=m)
                )
        # a quote chain and a reply under the first post: one cascade of 4, depth 2
        chain = [("c1", "h0-0", None), ("c2", "c1", None), ("c3", None, "h0-0")]
        for i, (pid, quoted, replied) in enumerate(chain):
            humans.append(
                Post(
                    id=pid,
                    text=f"{BACKGROUND[i]} (c{i})",
                    author_id="pq",
                    created_at=T0 + timedelta(hours=1, minutes=i),
                    quote_of_id=quoted,
                    in_reply_to_id=replied,
                )
            )
        q.add_posts(s, posts=humans, timeline="airlines")
        apple = [
            Post(
                id=f"a{i}",
                text=f"the new keynote shows a faster chip number {i}",
                author_id="pa",
                created_at=T0 + timedelta(hours=i % 8, minutes=i),
                metrics=Metrics(
                    observed_at=T0 + timedelta(hours=9), like_count=10, impression_count=200
                ),
            )
            for i in range(20)
        ]
        q.add_posts(s, posts=apple, timeline="apple")

        sky_texts = [
            (1.0, "gate agents deserve medals honestly"),
            (3.0, "my suitcase is on a better trip than me"),
            (5.0, "delayed again, the snacks are the real crew"),
            (7.5, "the #strike means my connecting flight is a rumor"),
            (7.8, "strike day: we all live at the airport now"),
        ]
        own = [
            Post(
                id=f"s{i}",
                text=text,
                author_id="skybot-account",
                created_at=T0 + timedelta(hours=hrs),
                made_with_ai=True,
                metrics=Metrics(
                    observed_at=T0 + timedelta(hours=hrs + 1),
                    like_count=4 + i,
                    reply_count=1,
                    impression_count=50,
                ),
            )
            for i, (hrs, text) in enumerate(sky_texts)
        ]
        q.add_posts(s, posts=own, bot="skybot")
        # 6 h and 24 h read-backs of s0 and s1 (engagement keeps growing with age)
        for hrs, likes in ((6, 12), (24, 16)):
            q.add_metrics(
                s,
                observations={
                    f"s{i}": Metrics(
                        observed_at=own[i].created_at + timedelta(hours=hrs),
                        like_count=likes + i,
                        impression_count=90,
                    )
                    for i in (1, 2)
                },
            )
        q.add_metrics(
            s,
            observations={
                "s0": Metrics(
                    observed_at=T0 + timedelta(hours=6), like_count=9, impression_count=80
                )
            },
        )
        for i, post in enumerate(own):
            q.add_reward(
                s,
                reward=Reward(
                    bot="skybot", post_id=post.id, value=0.02 + 0.01 * i, preset="x", age_s=3600
                ),
            )
        q.add_reward(
            s, reward=Reward(bot="skybot", post_id="s0", value=0.08, preset="x", age_s=21600)
        )

        sha = "ab" * 32
        q.add_adapter_version(
            s,
            adapter=AdapterVersion(
                bot="skybot",
                version=1,
                path="/a/1",
                sha256=sha,
                kind="sft",
                window_start=T0,
                window_end=T0 + timedelta(hours=4),
                metrics={"loss": 2.1},
            ),
        )
        q.add_adapter_version(
            s,
            adapter=AdapterVersion(
                bot="skybot", version=2, path="/a/2", sha256=sha, kind="rl", parent=1
            ),
        )
        q.add_adapter_version(
            s,
            adapter=AdapterVersion(
                bot="skybot", version=3, path="/a/3", sha256=sha, kind="rl", parent=2
            ),
        )
        q.add_adapter_version(
            s,
            adapter=AdapterVersion(
                bot="fruitbot", version=1, path="/f/1", sha256=sha, kind="spawn"
            ),
        )

        ok = {"ok": True}
        cands = q.add_candidates(
            s,
            candidates=[
                Candidate(
                    bot="skybot",
                    text="pilot strike grounds everything #strike 60",
                    status=CandidateStatus.REJECTED,
                    guard={
                        "regurgitation": {"ok": False, "longest_shared": 9},
                        "length": {"ok": True, "weighted_length": 44},
                    },
                ),
                Candidate(
                    bot="skybot",
                    text="x" * 300,
                    status=CandidateStatus.REJECTED,
                    guard={"length": {"ok": False, "weighted_length": 300}, "regurgitation": ok},
                ),
                Candidate(
                    bot="skybot",
                    text="queued: the gate moved three times, I am now a nomad",
                    status=CandidateStatus.QUEUED,
                    predicted_reward=0.041,
                    guard={"length": ok, "toxicity": ok},
                ),
                Candidate(
                    bot="skybot",
                    text="queued: airline food review, the pretzel was emotional",
                    status=CandidateStatus.QUEUED,
                    predicted_reward=0.033,
                    guard={"length": ok},
                ),
                Candidate(
                    bot="fruitbot",
                    text="queued: the chip is faster, my wallet is slower",
                    status=CandidateStatus.QUEUED,
                    predicted_reward=0.05,
                    guard={"length": ok},
                ),
                Candidate(
                    bot="skybot",
                    text="gate agents deserve medals honestly",
                    status=CandidateStatus.CHOSEN,
                ),
            ],
        )
        pub = q.enqueue_publication(
            s,
            publication=Publication(
                idempotency_key="skybot:pub0",
                bot="skybot",
                text=cands[5].text,
                candidate_id=cands[5].id,
            ),
        )
        q.transition_publication(
            s, idempotency_key=pub.idempotency_key, status=PublicationStatus.SENT
        )
        q.transition_publication(
            s,
            idempotency_key=pub.idempotency_key,
            status=PublicationStatus.CONFIRMED,
            platform_post_id="s0",
        )

        q.upsert_elder(
            s,
            elder=Elder(
                name="elder-one",
                base_model="gemma3-270m",
                bots=("skybot", "fruitbot"),
                niches=("airlines", "apple"),
                path="/e/1",
            ),
        )
        costs = [
            ApiCall(
                day=date(2026, 11, 20),
                bot="*",
                kind="post_read",
                endpoint="/2/lists/:id/tweets",
                calls=40,
                units=400,
                cost_usd=2.0,
            ),
            ApiCall(
                day=date(2026, 11, 20),
                bot="skybot",
                kind="post_create",
                endpoint="/2/tweets",
                calls=5,
                units=5,
                cost_usd=0.05,
            ),
            ApiCall(
                day=date(2026, 11, 21),
                bot="skybot",
                kind="post_read",
                endpoint="/2/tweets",
                calls=3,
                units=30,
                cost_usd=0.15,
            ),
        ]
        for call in costs:
            q.record_api_call(s, call=call)
    return StoreFacts(
        bots=["fruitbot", "quietbot", "skybot"],
        niche="airlines",
        trend_term="#strike",
        events=[
            TrendEvent(
                niche="airlines",
                start=T0 + timedelta(hours=6),
                terms=("strike",),
                label="pilot strike",
            )
        ],
        queued={
            c.text: c.id for c in cands if c.status is CandidateStatus.QUEUED and c.id is not None
        },
        rejected_check="regurgitation",
        elder="elder-one",
        spawned="fruitbot",
        capture_lag_h=1.5,
        total_cost=2.2,
    )


@pytest.fixture
def filled(engine) -> StoreFacts:  # type: ignore[no-untyped-def]
    """The store of `engine`, filled with a small known ecosystem."""
    return fill_store(engine)
