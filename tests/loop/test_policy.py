"""The platform policy enforced by the loop: the fleet's near duplicates dropped, replies on X
through the approval queue, X timeline content kept out of training unless opted in, every post
marked AI-made. Tiny model, SQLite, the sandbox on loopback (speaking X API v2)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import torch

from vibeforge.domain import (
    Bot,
    Candidate,
    CandidateStatus,
    Image,
    Post,
    Publication,
    PublicationStatus,
    Timeline,
    TimelineKind,
)
from vibeforge.loop.act import act
from vibeforge.loop.config import LoopConfig
from vibeforge.loop.cycle import run_round
from vibeforge.loop.learn import labelled_posts
from vibeforge.loop.outbox import PublishReport, publish_pending
from vibeforge.loop.platform_kinds import sandbox_client
from vibeforge.loop.policy import FLEET_DUPLICATE, learning_view, submit
from vibeforge.loop.runtime import Runtime
from vibeforge.models.adapters import AdapterStore
from vibeforge.models.bank import AdapterBank
from vibeforge.models.testing import tiny_base
from vibeforge.platforms.bluesky import BlueskyClient
from vibeforge.platforms.policy import SANDBOX_POLICY, X_POLICY
from vibeforge.privacy.pseudonym import pseudonymizer
from vibeforge.privacy.scrub import Scrubber, ScrubConfig
from vibeforge.sandbox.embed import HashingEmbedder
from vibeforge.store import approvals, make_engine, session_scope, upgrade
from vibeforge.store import queries as q

from .conftest import FAST, Eco, make_eco

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
DELAY = "Gate 12 again, third delay this week and nobody says why."
DELAY_AGAIN = "Gate 12 again, third delay this week, nobody says why!"  # cosine 0.93 (hashing)
UPGRADE = "Free upgrade on the red-eye, the crew was lovely."
ALPS = "Window seat, clear skies and the Alps below us."


# ------------------------------------------------------------ the fleet's near duplicates


def _dry_runtime(tmp_path: Path, bots: list[Bot], texts: list[str], monkeypatch) -> Runtime:  # type: ignore[no-untyped-def]
    """A dry-run runtime whose tiny model's candidates read `texts`, in request order."""
    engine = make_engine(f"sqlite:///{tmp_path / 'vibeforge.db'}")
    upgrade(engine)
    with session_scope(engine) as s:
        q.create_timeline(s, timeline=Timeline(name="airlines", kind=TimelineKind.LIST, source="1"))
        for bot in bots:
            q.create_bot(s, bot=bot)
    bank = AdapterBank(tiny_base(seed=0), AdapterStore(tmp_path / "adapters"))
    real_generate = bank.generate

    def scripted(requests, params):  # type: ignore[no-untyped-def]
        out = real_generate(requests, params)
        assert len(out) == len(texts)
        return [
            dataclasses.replace(g, text=t, finish_reason="eos")
            for g, t in zip(out, texts, strict=True)
        ]

    monkeypatch.setattr(bank, "generate", scripted)
    torch.manual_seed(0)
    return Runtime(
        engine=engine,
        platform=None,  # type: ignore[arg-type]  # dry run: the platform is never called
        home=tmp_path,
        clock=lambda: T0,
        config=LoopConfig(dry_run=True, candidates=2, max_new_tokens=8),
        bank_factory=lambda: bank,
        scrubber=Scrubber(ScrubConfig(ner=False)),
        pseudonymize=pseudonymizer("k" * 32),
        embedder=HashingEmbedder(),
    )


def test_two_bots_with_near_identical_texts_the_second_takes_its_next_candidate(
    tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    bots = [
        Bot(name=n, timeline="airlines", persona="a frequent flyer") for n in ("first", "second")
    ]
    rt = _dry_runtime(tmp_path, bots, [DELAY, UPGRADE, DELAY_AGAIN, ALPS], monkeypatch)

    reports = act(rt, bots, now=T0)

    assert reports["first"].chosen == DELAY
    assert reports["second"].chosen == ALPS  # its best was first's post again: next one
    assert reports["second"].reasons == {FLEET_DUPLICATE: 1}
    assert FLEET_DUPLICATE not in reports["first"].reasons
    with session_scope(rt.engine) as s:
        held = {c.text: c for c in q.list_candidates(s, bot="second")}[DELAY_AGAIN]
        outbox = [p.text for p in q.list_publications(s)]
    assert held.status is CandidateStatus.REJECTED
    verdict = held.guard[FLEET_DUPLICATE]
    assert not verdict["ok"] and verdict["bot"] == "first" and verdict["cosine"] > 0.9
    assert sorted(outbox) == sorted([DELAY, ALPS])


@pytest.mark.parametrize(("days_ago", "held"), [(1, True), (8, False)])
def test_a_fleet_post_counts_for_seven_days(tmp_path, monkeypatch, days_ago, held) -> None:  # type: ignore[no-untyped-def]
    bots = [Bot(name=n, timeline="airlines", persona="a frequent flyer") for n in ("old", "new")]
    rt = _dry_runtime(tmp_path, bots[1:], [DELAY_AGAIN, ALPS], monkeypatch)
    with session_scope(rt.engine) as s:
        q.create_bot(s, bot=bots[0])
        q.add_posts(  # confirmed earlier by another bot of the fleet (platform time)
            s,
            posts=[
                Post(id="9", text=DELAY, author_id="old", created_at=T0 - timedelta(days=days_ago))
            ],
            bot="old",
        )

    report = act(rt, bots[1:], now=T0)["new"]

    assert report.chosen == (ALPS if held else DELAY_AGAIN)
    assert report.reasons.get(FLEET_DUPLICATE, 0) == int(held)


def test_every_candidate_a_near_duplicate_publishes_nothing(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    bots = [Bot(name=n, timeline="airlines", persona="a frequent flyer") for n in ("a", "b")]
    rt = _dry_runtime(tmp_path, bots, [DELAY, UPGRADE, DELAY_AGAIN, DELAY], monkeypatch)
    reports = act(rt, bots, now=T0)
    assert reports["a"].chosen == DELAY
    assert reports["b"].chosen is None and reports["b"].reasons[FLEET_DUPLICATE] == 2
    with session_scope(rt.engine) as s:
        assert [p.bot for p in q.list_publications(s)] == ["a"]


# ------------------------------------------------------------ replies on X and the AI label


def _posts_by(sb, handle: str) -> list[tuple[str, int | None, int]]:  # type: ignore[no-untyped-def]
    uid = sb.world.store.one("SELECT id FROM users WHERE username = ?", (handle,))[0]
    rows = sb.world.store.all(
        "SELECT text, reply_to, made_with_ai FROM posts WHERE author_id = ?", (uid,)
    )
    return [(str(r[0]), r[1], int(r[2])) for r in rows]


def test_a_reply_on_x_waits_for_approval_then_goes_out_marked_ai(tmp_path) -> None:  # type: ignore[no-untyped-def]
    eco = make_eco(tmp_path)
    sb = eco.sandbox
    try:
        token = sb.create_account("fan", niche="airlines")
        fan = sandbox_client(
            dataclasses.replace(eco.spec.context, user_tokens={"fan": token}, handles=("fan",))
        )
        target = fan.publish(
            account="fan", text="@skybot is the 7am to Lisbon on time?", idempotency_key="fan:1"
        )
        rt = eco.spec()
        rt.policy = X_POLICY  # the sandbox speaks X API v2: X's rules on the same client
        with session_scope(rt.engine) as s:
            bot = q.get_bot(s, name="skybot")
            [reply] = q.add_candidates(
                s, candidates=[Candidate(bot="skybot", text="Boarding 6:40 at B12, on time.")]
            )
            assert submit(s, policy=rt.policy, candidate=reply, reply_to=target.id)
        act(rt, [bot], now=rt.clock())  # not due (its reply waits), publishes what may go
        assert _posts_by(sb, "skybot") == []
        with session_scope(rt.engine) as s:
            [queued] = approvals.queued(s, bot="skybot")
            [row] = q.list_publications(s, bot="skybot")
            assert queued.id == reply.id
            assert row.status is PublicationStatus.HELD and row.reply_to == target.id
            approvals.approve(s, candidate_id=reply.id)

        report = act(rt, [bot], now=rt.clock())["skybot"]

        assert len(report.published) == 1
        [(text, reply_to, made_with_ai)] = _posts_by(sb, "skybot")
        assert text == reply.text and str(reply_to) == target.id
        assert made_with_ai == 1  # X's AI flag on the post itself
        with session_scope(rt.engine) as s:
            [stored] = q.list_posts(s, bot="skybot")
            assert stored.made_with_ai and stored.in_reply_to_id == target.id
    finally:
        sb.stop()


def test_unapproved_replies_never_reach_x_and_other_platforms_need_no_approval(
    tmp_path,
) -> None:  # type: ignore[no-untyped-def]
    eco = make_eco(tmp_path)
    try:
        rt = eco.spec()
        rt.policy = X_POLICY
        with session_scope(rt.engine) as s:
            bot = q.get_bot(s, name="skybot")
            # written straight to the outbox, past the approval queue: the outbox refuses it
            q.enqueue_publication(
                s,
                publication=Publication(
                    idempotency_key="skybot:direct", bot="skybot", text="hi there", reply_to="1"
                ),
            )
            [rejected] = q.add_candidates(s, candidates=[Candidate(bot="skybot", text="no")])
            assert submit(s, policy=X_POLICY, candidate=rejected, reply_to="2")
            approvals.reject(s, candidate_id=rejected.id)
        act(rt, [bot], now=rt.clock())
        assert _posts_by(eco.sandbox, "skybot") == []
        with session_scope(rt.engine) as s:
            rows = {p.idempotency_key: p for p in q.list_publications(s, bot="skybot")}
            assert rows["skybot:direct"].status is PublicationStatus.FAILED
            assert "approval" in (rows["skybot:direct"].error or "")
            assert rows[f"skybot:{rejected.id}"].status is PublicationStatus.FAILED
            # the sandbox's policy: the same reply goes to the outbox at once
            [c] = q.add_candidates(s, candidates=[Candidate(bot="fruitbot", text="yes")])
            assert not submit(s, policy=SANDBOX_POLICY, candidate=c, reply_to="3")
            [row] = q.list_publications(s, bot="fruitbot")
            assert row.status is PublicationStatus.PENDING and row.reply_to == "3"
    finally:
        eco.sandbox.stop()


# ------------------------------------------------------------ quotes on X


class _CountingImages:
    """An image source that would attach a picture to every post, and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def image_for(self, bot: Bot, text: str) -> Image | None:
        self.calls += 1
        return Image(data=b"\x89PNG\r\n\x1a\n", alt="chart")


def _fan_post(eco: Eco, text: str) -> str:
    """The id of a post by another account of the sandbox (not a bot's)."""
    sb: Any = eco.sandbox
    token = sb.create_account("fan", niche="airlines")
    fan = sandbox_client(
        dataclasses.replace(eco.spec.context, user_tokens={"fan": token}, handles=("fan",))
    )
    return fan.publish(account="fan", text=text, idempotency_key="fan:1").id


def _quotes_by(sb: Any, handle: str) -> list[tuple[str, int | None, int | None]]:
    uid = sb.world.store.one("SELECT id FROM users WHERE username = ?", (handle,))[0]
    rows = sb.world.store.all(
        "SELECT text, quote_of, reply_to FROM posts WHERE author_id = ?", (uid,)
    )
    return [(str(r[0]), r[1], r[2]) for r in rows]


def test_a_quote_on_x_waits_for_approval_then_goes_out_as_a_quote(tmp_path: Path) -> None:
    eco = make_eco(tmp_path)
    sb: Any = eco.sandbox
    try:
        target = _fan_post(eco, "Lisbon finally got its second runway.")
        rt = eco.spec()
        rt.policy = X_POLICY  # the sandbox speaks X API v2: X's rules on the same client
        images = _CountingImages()
        with session_scope(rt.engine) as s:
            bot = q.get_bot(s, name="skybot")
            [quote] = q.add_candidates(
                s, candidates=[Candidate(bot="skybot", text="Only took them twenty years.")]
            )
            assert quote.id is not None
            assert submit(s, policy=rt.policy, candidate=quote, quote_of=target)
            [queued] = approvals.queued(s, bot="skybot")
            [row] = q.list_publications(s, bot="skybot")
            assert queued.id == quote.id
            assert row.status is PublicationStatus.HELD
            assert row.quote_of == target and row.reply_to is None

        def send() -> PublishReport:
            return publish_pending(
                rt.engine,
                platform=rt.platform_for("skybot"),
                bot=bot,
                now=rt.clock(),
                policy=rt.policy,
                images=images,
            )

        assert send().confirmed == []  # held: nothing goes out
        assert _quotes_by(sb, "skybot") == []
        with session_scope(rt.engine) as s:
            approvals.approve(s, candidate_id=quote.id)

        report = send()

        assert len(report.confirmed) == 1 and report.failed == 0
        [(text, quote_of, reply_to)] = _quotes_by(sb, "skybot")
        assert text == quote.text and str(quote_of) == target and reply_to is None
        assert images.calls == 0  # a quote goes text only (X refuses media with a quote)
        with session_scope(rt.engine) as s:
            [stored] = q.list_posts(s, bot="skybot")
            assert stored.id == report.confirmed[0]
            assert stored.quote_of_id == target and stored.in_reply_to_id is None
    finally:
        sb.stop()


def test_an_unapproved_quote_never_reaches_x(tmp_path: Path) -> None:
    eco = make_eco(tmp_path)
    sb: Any = eco.sandbox
    try:
        target = _fan_post(eco, "Lisbon finally got its second runway.")
        rt = eco.spec()
        with session_scope(rt.engine) as s:
            bot = q.get_bot(s, name="skybot")
            # written straight to the outbox, past the approval queue: the outbox refuses it
            q.enqueue_publication(
                s,
                publication=Publication(
                    idempotency_key="skybot:direct",
                    bot="skybot",
                    text="about time",
                    quote_of=target,
                ),
            )
        report = publish_pending(
            rt.engine, platform=rt.platform_for("skybot"), bot=bot, now=rt.clock(), policy=X_POLICY
        )
        assert report.failed == 1 and report.confirmed == []
        assert _quotes_by(sb, "skybot") == []
        with session_scope(rt.engine) as s:
            [row] = q.list_publications(s, bot="skybot")
            assert row.status is PublicationStatus.FAILED and row.quote_of == target
            assert "approval" in (row.error or "")
    finally:
        sb.stop()


def test_the_sandbox_policy_sends_a_quote_at_once(tmp_path: Path) -> None:
    eco = make_eco(tmp_path)
    sb: Any = eco.sandbox
    try:
        target = _fan_post(eco, "Lisbon finally got its second runway.")
        rt = eco.spec()
        assert rt.policy.name == "sandbox"
        with session_scope(rt.engine) as s:
            bot = q.get_bot(s, name="skybot")
            [quote] = q.add_candidates(s, candidates=[Candidate(bot="skybot", text="About time.")])
            assert not submit(s, policy=rt.policy, candidate=quote, quote_of=target)
            [row] = q.list_publications(s, bot="skybot")
            assert row.status is PublicationStatus.PENDING and row.quote_of == target
        report = publish_pending(
            rt.engine, platform=rt.platform_for("skybot"), bot=bot, now=rt.clock(), policy=rt.policy
        )
        assert len(report.confirmed) == 1
        assert _quotes_by(sb, "skybot") == [(quote.text, int(target), None)]
    finally:
        sb.stop()


def test_nothing_is_published_through_a_client_that_marks_no_post_ai_made(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'vibeforge.db'}")
    upgrade(engine)
    bot = Bot(name="sky", account="sky.test")
    with session_scope(engine) as s:
        q.create_bot(s, bot=bot)
        q.enqueue_publication(
            s, publication=Publication(idempotency_key="sky:1", bot="sky", text="hello")
        )
    unlabelled = BlueskyClient(
        base_url="http://127.0.0.1:9", credentials={"sky.test": "pw"}, label_bot=False
    )
    report = publish_pending(engine, platform=unlabelled, bot=bot, now=T0, policy=SANDBOX_POLICY)
    assert report.stopped and "AI-generated" in report.stopped and not report.confirmed
    with session_scope(engine) as s:
        [row] = q.list_publications(s)
        assert row.status is PublicationStatus.PENDING  # untouched: nothing was sent


# ------------------------------------------------------------ learning from the timeline


@pytest.mark.parametrize("opt_in", [None, True])
def test_x_timeline_learning_is_off_unless_opted_in(tmp_path, opt_in) -> None:  # type: ignore[no-untyped-def]
    config = dataclasses.replace(FAST, rl_steps=0, learn_from_timeline=opt_in)
    eco = make_eco(tmp_path, config=config)
    try:
        rt = eco.spec()
        rt.policy = X_POLICY
        report = run_round(rt, steps=("ingest", "observe", "learn"))
        assert sum(r.stored for r in report.ingest) > 0  # X content was read (prompts, guard)
        with session_scope(rt.engine) as s:
            versions = {b: q.latest_adapter_version(s, bot=b) for b in ("skybot", "fruitbot")}
            bot = q.get_bot(s, name="skybot")
        _, _, own = labelled_posts(rt, learning_view(rt, bot))
        if opt_in:
            assert all(v is not None for v in versions.values())  # SFT on the timeline
            assert own and not any(own)  # the reward model's timeline labels
            assert set(report.relabelled) == {"airlines", "apple"}
        else:
            assert versions == {"skybot": None, "fruitbot": None}  # no SFT on X content
            assert own == []  # no timeline labels (and no own posts yet)
            assert report.relabelled == {}  # timeline metrics not even re-read
            assert learning_view(rt, bot).timeline is None and bot.timeline == "airlines"
    finally:
        eco.sandbox.stop()


def test_the_sandbox_learns_from_its_timeline_by_default(tmp_path: Path) -> None:
    eco = make_eco(tmp_path, config=dataclasses.replace(FAST, rl_steps=0))
    try:
        rt = eco.spec()
        assert rt.policy.name == "sandbox"
        with session_scope(rt.engine) as s:
            bot = q.get_bot(s, name="skybot")
        assert learning_view(rt, bot) is bot
    finally:
        eco.sandbox.stop()
