"""Analytics against a real sandbox run: ground truth from the sandbox, data through the loop.

The sandbox is a real server on loopback (speed 0: the test moves its clock). Timelines reach
the store through the loop's ingest (X client, scrubber, pseudonyms), the bot's posts go out
through the outbox, and its metrics come back through the loop's observe step. The expected
answers are read from the sandbox's own database and its hidden engagement model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any

import httpx
import pytest

from vibeforge.analytics import queries as aq
from vibeforge.analytics.text import mentions
from vibeforge.analytics.trends import BurstConfig, TrendEvent
from vibeforge.domain import Bot, Publication, Timeline, TimelineKind
from vibeforge.loop.build import RuntimeSpec
from vibeforge.loop.cycle import ingest_all
from vibeforge.loop.observe import observe
from vibeforge.loop.outbox import publish_pending
from vibeforge.models.testing import TINY_TEST_MODEL
from vibeforge.paths import Home
from vibeforge.store import make_engine, session_scope, upgrade
from vibeforge.store import queries as q

from .test_spread import _brute_virality

TERM = "delayed"  # common enough in the airline tweets for a trend event to amplify it
LAG = timedelta(hours=2)  # the bot posts the trend this long after it reached the timeline
HOUR = timedelta(hours=1)


@dataclass
class Run:
    sandbox: Any  # RunningSandbox
    rt: Any  # Runtime
    bot: Bot

    def admin(self, method: str, path: str, **kw: Any) -> Any:
        r = httpx.request(
            method,
            self.sandbox.base_url + path,
            headers={"Authorization": f"Bearer {self.sandbox.admin_token}"},
            timeout=30,
            **kw,
        )
        r.raise_for_status()
        return r.json()

    def user(self, handle: str, body: dict[str, Any]) -> str:
        """POST /2/tweets as `handle` (quotes and replies the loop's publish does not make)."""
        r = httpx.post(
            self.sandbox.base_url + "/2/tweets",
            headers={"Authorization": f"Bearer {self.sandbox.user_token(handle)}"},
            json=body,
            timeout=30,
        )
        assert r.status_code == 201, r.text
        return str(r.json()["data"]["id"])

    def now(self) -> datetime:
        return self.rt.clock()  # type: ignore[no-any-return]

    def advance_to(self, at: datetime) -> None:
        seconds = (at - self.now()).total_seconds()
        assert seconds >= 0, f"the clock cannot go back to {at}"
        self.sandbox.advance(seconds=seconds)

    def ingest(self) -> int:
        return sum(r.stored for r in ingest_all(self.rt, [self.bot]))

    def publish(self, text: str) -> str:
        """Through the outbox, as the loop publishes; returns the platform's post id."""
        with session_scope(self.rt.engine) as s:
            q.enqueue_publication(
                s,
                publication=Publication(idempotency_key=f"t:{text}", bot=self.bot.name, text=text),
            )
        report = publish_pending(
            self.rt.engine, platform=self.rt.platform, bot=self.bot, now=self.now()
        )
        [post_id] = report.confirmed
        return post_id

    def sandbox_posts(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        return list(self.sandbox.world.store.all(sql, args))


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Run]]:
    """start(timeline_for, **world) -> Run: a tiny sandbox world, the store, one bot."""
    from vibeforge.sandbox import start_sandbox

    running: list[Any] = []

    def _start(timeline_for: Callable[[Any], Timeline], **world: Any) -> Run:
        sb = start_sandbox(home=tmp_path, world="tiny", seed=0, speed=0, **world)
        running.append(sb)
        db_url = Home(tmp_path).database_url
        engine = make_engine(db_url)
        upgrade(engine)
        sb.create_account("skybot", niche="airlines", followers=300)
        bot = Bot(name="skybot", timeline="airlines", account="skybot")
        with session_scope(engine) as s:
            q.create_timeline(s, timeline=timeline_for(sb))
            q.create_bot(s, bot=bot)
        spec = RuntimeSpec.for_sandbox(
            sb, db_url=db_url, home=tmp_path, model=TINY_TEST_MODEL, ner=False, key="k" * 32
        )
        return Run(sandbox=sb, rt=spec(), bot=bot)

    yield _start
    for sb in running:
        sb.stop()


def _ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def test_time_to_capture_of_a_sandbox_trend_event(start: Callable[..., Run]) -> None:
    run = start(
        lambda sb: Timeline(
            name="airlines",
            kind=TimelineKind.LIST,
            source=sb.list_ids()["airlines"],
            poll_interval_s=60,
        ),
        # a dense airline timeline: 1,500 tweets over three days, ~20 an hour
        tweets_per_niche=1500,
        history_days=1.0,
        horizon_days=2.0,
    )
    created = run.admin(
        "POST", "/admin/trends", json={"niche": "airlines", "text": TERM, "in_hours": 12}
    )
    [row] = run.admin("GET", "/admin/trends")["data"]
    event = TrendEvent.from_sandbox(row, niche="airlines")
    assert _ms(event.start) == created["at_ms"] and event.terms == (TERM,)

    # ground truth, from the sandbox's database: the first human post carrying the term
    word = re.compile(rf"\b{TERM}\b", re.IGNORECASE)
    first_ms = next(
        ms
        for ms, text in run.sandbox_posts(
            "SELECT p.created_ms, p.text FROM posts p JOIN users u ON u.id = p.author_id "
            "WHERE u.kind = 'human' AND p.niche = 'airlines' AND p.created_ms >= ? "
            "ORDER BY p.created_ms, p.id",
            created["at_ms"],
        )
        if word.search(text)
    )
    seen_at = _at(first_ms)
    assert event.start <= seen_at < event.start + 2 * HOUR

    # the bot: an hourly post, one about the term before the event (it must not count), and
    # the first after the event exactly LAG after the trend reached the timeline
    t0 = run.now()
    captured_at = None
    for h in range(25):
        run.advance_to(max(run.now(), t0 + h * HOUR))
        assert run.ingest() > 0
        run.publish(f"hour {h}: sitting by the window, watching the planes")
        if h == 3:
            run.publish(f"{TERM} once more, hour {h} before any trend")
        if captured_at is None and run.now() >= seen_at:
            assert run.now() < seen_at + LAG  # the timeline is polled hourly
            run.advance_to(seen_at + LAG)
            captured_at = run.now()
            run.publish(f"everyone is {TERM} today, the whole terminal sighs")

    config = BurstConfig(window_s=6 * 3600, baseline_windows=2)
    with session_scope(run.rt.engine) as s:
        report = aq.niche_trends(s, niche="airlines", config=config, events=[event])
        stored = q.list_posts(s, timeline="airlines")
    assert len(stored) > 600  # a day of history and a day of polls

    [(got_event, per_bot)] = report.events
    capture = per_bot["skybot"]
    assert got_event == event
    assert capture.timeline_first_at is not None and capture.bot_first_at is not None
    assert abs((capture.timeline_first_at - seen_at).total_seconds()) <= 1
    assert abs((capture.bot_first_at - captured_at).total_seconds()) <= 1  # type: ignore[operator]
    assert capture.lag_s == pytest.approx(LAG.total_seconds(), abs=2)
    assert capture.since_event_s == pytest.approx(
        (captured_at - event.start).total_seconds(), abs=2
    )  # type: ignore[operator]

    # trend detection finds the term bursting in the window where the event starts
    onsets = sorted(b.start for b in report.bursts if mentions(b.term, TERM))
    assert onsets, [b.term for b in report.bursts]
    first = min(onsets, key=lambda t: abs(t - event.start))
    assert abs(first - event.start) <= timedelta(seconds=config.window_s)
    before = [t for t in onsets if t + timedelta(seconds=config.window_s) <= event.start]
    assert not before, f"{TERM} burst before the event: {before}"
    topic = next(t for t in report.topics if any(mentions(term, TERM) for term in t.terms))
    assert abs(topic.start - event.start) <= timedelta(seconds=config.window_s)


def test_cascades_and_growth_from_a_sandbox_run(start: Callable[..., Run]) -> None:
    quoters = ("quoter_a", "quoter_b", "quoter_c")

    def handles_timeline(sb: Any) -> Timeline:
        for handle in quoters:
            sb.create_account(handle, niche="airlines", followers=600)
        humans = [
            r[0]
            for r in sb.world.store.all(
                "SELECT username FROM users WHERE kind = 'human' AND niche = 'airlines'"
            )
        ]
        return Timeline(
            name="airlines",
            kind=TimelineKind.HANDLES,
            source=",".join([*humans, *quoters]),
            poll_interval_s=60,
        )

    run = start(handles_timeline)
    # the root: the visible human airline post the audience reposts most (hidden truth)
    top = run.sandbox_posts(
        "SELECT p.id, p.created_ms, p.text FROM posts p JOIN users u ON u.id = p.author_id "
        "JOIN truth t ON t.post_id = p.id WHERE u.kind = 'human' AND p.niche = 'airlines' "
        "ORDER BY t.reposts DESC, p.id"
    )
    now_ms = _ms(run.now())
    root = str(next(pid for pid, ms, _ in top if ms <= now_ms))
    # the quotes and the bot's posts say what the niche likes: well-reposted airline tweets
    # that humans will only post days later (so none is a near-duplicate of an earlier post)
    later = [text for _, ms, text in top if ms > now_ms + 48 * 3_600_000][:8]
    # root ◄ a1 (quote) ◄ b1 (quote) ◄ c2 (reply);  root ◄ c1 (quote)
    a1 = run.user("quoter_a", {"text": later[0], "quote_tweet_id": root})
    b1 = run.user("quoter_b", {"text": later[1], "quote_tweet_id": a1})
    c1 = run.user("quoter_c", {"text": later[2], "quote_tweet_id": root})
    c2 = run.user("quoter_c", {"text": later[3], "reply": {"in_reply_to_tweet_id": b1}})
    explicit = [(a1, root), (b1, a1), (c1, root), (c2, b1)]

    # the bot's own posts, observed by the loop at 1 h, 6 h and 24 h
    t0 = run.now()
    own = [run.publish(text) for text in later[4:8]]
    spec = run.rt.reward_spec()
    for hours in (1, 6, 24):
        run.advance_to(t0 + hours * HOUR)
        observed = observe(
            run.rt.engine, platform=run.rt.platform, bot=run.bot, spec=spec, now=run.now()
        )
        assert observed.read == len(own)
    assert run.ingest() > 0  # the timeline, with the quotes, read 24 h after they were posted

    # ground truth: what the sandbox shows for these posts now (the clock has not moved since)
    shown = run.sandbox.world.metrics([int(x) for x in (root, *dict(explicit))])
    reposts = {str(k): v["repost"] for k, v in shown.items()}
    assert sum(reposts.values()) > 0, "no reposts to test with; raise the quoters' followers"
    leaves = [(f"{node}#r{i}", node) for node, k in reposts.items() for i in range(k)]
    with session_scope(run.rt.engine) as s:
        cascades = {c.root: c for c in aq.niche_cascades(s, niche="airlines", top=1000)}
        growth = aq.growth(s, bot="skybot")
        stored_root = q.list_posts(s, timeline="airlines", with_metrics=True)
    assert any(p.id == root for p in stored_root)
    c = cascades[root]
    assert c.reposts == sum(reposts.values())
    assert c.size == 5 + sum(reposts.values())
    # depth: root → a1 → b1 → c2, one deeper if c2 was reposted
    assert c.depth == 3 + (reposts[c2] > 0)
    assert c.max_breadth == max(2 + reposts[root], 1 + reposts[a1] + reposts[c1], 1 + reposts[b1])
    assert c.structural_virality == pytest.approx(_brute_virality(explicit + leaves))

    # growth with age: exactly the sandbox's accrual of each post's hidden final counts
    tau_h = run.sandbox.world.params.accrual_hours
    kinds = ("like", "repost", "reply", "quote", "bookmark")
    finals = [run.sandbox.world.truth(int(pid))["final"] for pid in own]
    by_age = {p.age_s: p for p in growth}
    assert set(by_age) == {3600.0, 6 * 3600.0, 24 * 3600.0}
    for hours in (1, 6, 24):
        share = -math.expm1(-hours / tau_h)
        expected = [sum(math.floor(f[k] * share + 1e-9) for k in kinds) for f in finals]
        point = by_age[hours * 3600.0]
        assert point.posts == len(own)
        assert point.median_count == pytest.approx(median(expected))
    assert by_age[3600.0].median_count < by_age[6 * 3600.0].median_count
    assert by_age[24 * 3600.0].median_fraction == pytest.approx(1.0)
    assert by_age[3600.0].median_fraction is not None and by_age[3600.0].median_fraction < 0.5
