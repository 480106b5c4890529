"""Untrusted platform text at ingest: NULs and other control characters, oversize posts, a
failing timeline. Posts are published to the real sandbox through the X client and ingested
into SQLite and PostgreSQL (`db_url`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from vibeforge.domain import Bot, Post, Timeline, TimelineKind
from vibeforge.loop import ingest
from vibeforge.loop.cycle import run_round
from vibeforge.loop.ingest import normalise_post, poll_timeline
from vibeforge.platforms.auth import BearerAuth
from vibeforge.platforms.x import XClient
from vibeforge.privacy.scrub import Scrubber, ScrubConfig
from vibeforge.store import queries as q
from vibeforge.store import session_scope

from .conftest import Eco, make_eco

HANDLE = "untrusted_post"


@pytest.fixture
def eco_db(tmp_path, db_url: str) -> Iterator[Eco]:
    """The loop's small ecosystem on `db_url`, plus a timeline of one account's posts that a
    third bot follows."""
    eco = make_eco(tmp_path, db_url=db_url)
    eco.sandbox.create_account(HANDLE, niche="airlines")
    rt = eco.spec()
    with session_scope(rt.engine) as s:
        q.create_timeline(
            s, timeline=Timeline(name="untrusted", kind=TimelineKind.HANDLES, source=HANDLE)
        )
        q.create_bot(s, bot=Bot(name="readbot", timeline="untrusted", account="readbot"))
    yield eco
    eco.sandbox.stop()


def _publish(eco: Eco, *texts: str) -> list[str]:
    sb = eco.sandbox
    client = XClient(
        base_url=sb.base_url,  # type: ignore[attr-defined]
        auth=BearerAuth(sb.app_token),  # type: ignore[attr-defined]
        user_auth={HANDLE: BearerAuth(sb.user_token(HANDLE))},  # type: ignore[attr-defined]
    )
    return [
        client.publish(account=HANDLE, text=text, idempotency_key=f"k{i}").id
        for i, text in enumerate(texts)
    ]


def test_a_nul_in_a_post_is_removed_on_every_backend_and_the_timeline_goes_on(eco_db) -> None:  # type: ignore[no-untyped-def]
    bad, nxt = _publish(
        eco_db,
        "gate B12\x00 closed again\r\nmail jane.doe\x00@example.com\x07 now",
        "boarding finally started",
    )
    rt = eco_db.spec()
    report = run_round(rt, steps=("ingest",))
    by_name = {r.timeline: r for r in report.ingest}
    assert by_name["untrusted"].fetched == 2 and by_name["untrusted"].stored == 2
    assert by_name["airlines"].stored > 0 and by_name["apple"].stored > 0
    with session_scope(rt.engine) as s:
        stored = {p.id: p for p in q.list_posts(s, timeline="untrusted")}
        cursor = q.get_timeline(s, name="untrusted").since_id
    # normalised before the scrubber: the NUL no longer hides the email from it
    assert stored[bad].text == "gate B12 closed again\nmail <email> now"
    assert stored[nxt].text == "boarding finally started"
    assert cursor == nxt
    assert all(p.author_id.startswith("u_") for p in stored.values())


def test_one_oversize_post_is_skipped_and_the_rest_of_the_poll_stored(eco_db, caplog) -> None:  # type: ignore[no-untyped-def]
    secret = "confidential-" + "x" * 300  # a long link: 23 weighted characters on X
    first, _oversize, last = _publish(
        eco_db, "first post of the day", f"look https://example.com/{secret} wow", "last post"
    )
    rt = eco_db.spec()
    with session_scope(rt.engine) as s:
        timeline = q.get_timeline(s, name="untrusted")
    report = poll_timeline(
        rt.engine,
        platform=rt.platform,
        timeline=timeline,
        scrubber=Scrubber(ScrubConfig(ner=False, max_chars=280)),
        pseudonymize=rt.pseudonymize,
        now=rt.clock(),
    )
    assert (report.fetched, report.stored, report.rejected) == (3, 2, 1)
    with session_scope(rt.engine) as s:
        stored = {p.id: p.text for p in q.list_posts(s, timeline="untrusted")}
        cursor = q.get_timeline(s, name="untrusted").since_id
    assert set(stored) == {first, last} and cursor == last  # the cursor moves past it
    assert "skipped a post" in caplog.text and "max_chars" in caplog.text
    assert "confidential" not in caplog.text and "example.com" not in caplog.text


def test_a_failing_timeline_does_not_stop_the_others(eco_db, caplog) -> None:  # type: ignore[no-untyped-def]
    rt = eco_db.spec()
    with session_scope(rt.engine) as s:
        q.create_timeline(
            s, timeline=Timeline(name="gone", kind=TimelineKind.HANDLES, source="nobody_here")
        )
        q.create_bot(s, bot=Bot(name="lostbot", timeline="gone", account="lostbot"))
    _publish(eco_db, "still here")
    report = run_round(rt, steps=("ingest",))
    by_name = {r.timeline: r for r in report.ingest}
    assert by_name["gone"].error and by_name["gone"].stored == 0
    assert by_name["untrusted"].stored == 1 and by_name["airlines"].stored > 0
    assert "timeline gone: ingest failed" in caplog.text


@pytest.mark.postgres
def test_a_value_the_database_refuses_skips_that_post_only(
    tmp_path, postgres_server, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Without the normaliser, PostgreSQL refuses the NUL: that post alone is skipped."""
    eco = make_eco(tmp_path, db_url=postgres_server.create_database())
    try:
        eco.sandbox.create_account(HANDLE, niche="airlines")
        _, _, after = _publish(eco, "one\x00", "two\x00 three", "four")
        monkeypatch.setattr(ingest, "normalise_text", lambda text: text)
        rt = eco.spec()
        timeline = Timeline(name="raw", kind=TimelineKind.HANDLES, source=HANDLE)
        with session_scope(rt.engine) as s:
            q.create_timeline(s, timeline=timeline)
        report = poll_timeline(
            rt.engine,
            platform=rt.platform,
            timeline=timeline,
            scrubber=rt.scrubber,
            pseudonymize=rt.pseudonymize,
            now=rt.clock(),
        )
        assert (report.fetched, report.stored, report.rejected) == (3, 1, 2)
        with session_scope(rt.engine) as s:
            assert [p.id for p in q.list_posts(s, timeline="raw")] == [after]
            assert q.get_timeline(s, name="raw").since_id == after
    finally:
        eco.sandbox.stop()


def test_normalise_post_cleans_every_string_field() -> None:
    post = Post(
        id="17\x00",
        text="hi\x00 there",
        author_id="42\x00\ud800",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        in_reply_to_id="9" * 65,  # wider than the store's column: dropped
        quote_of_id="\x00",  # empty once normalised: dropped
        lang="en\x00",
    )
    clean = normalise_post(post)
    assert (clean.id, clean.text, clean.author_id) == ("17", "hi there", "42\ufffd")
    assert (clean.in_reply_to_id, clean.quote_of_id, clean.lang) == (None, None, "en")
    assert normalise_post(clean) == clean


class _Feed:
    """A platform whose timeline is a fixed list of raw posts (values no sandbox would send)."""

    def __init__(self, posts: list[Post]) -> None:
        self.posts = posts

    def timeline(self, **_: object) -> list[Post]:
        return self.posts


def test_posts_without_a_storable_id_or_author_are_skipped(engine) -> None:  # type: ignore[no-untyped-def]
    from vibeforge.privacy.pseudonym import pseudonymizer

    at = datetime(2026, 1, 1, tzinfo=UTC)
    raw = [
        Post(id="\x00", text="no id", author_id="1", created_at=at),
        Post(id="9" * 65, text="an id too long for the store", author_id="1", created_at=at),
        Post(id="5", text="no author", author_id="\x00\x01", created_at=at),
        Post(id="7", text="fine\x00", author_id="1", created_at=at, lang="x" * 17),
    ]
    timeline = Timeline(name="feed", kind=TimelineKind.HANDLES, source="someone")
    with session_scope(engine) as s:
        q.create_timeline(s, timeline=timeline)
    report = poll_timeline(
        engine,
        platform=_Feed(raw),  # type: ignore[arg-type]
        timeline=timeline,
        scrubber=Scrubber(ScrubConfig(ner=False)),
        pseudonymize=pseudonymizer("k" * 32),
        now=at,
    )
    assert (report.fetched, report.stored, report.rejected) == (4, 1, 3)
    with session_scope(engine) as s:
        [post] = q.list_posts(s, timeline="feed")
        assert (post.id, post.text, post.lang) == ("7", "fine", None)
        assert q.get_timeline(s, name="feed").since_id == "7"
