"""Compliance: a post deleted on the platform leaves the store, the dataset source and the
regurgitation index within 24 h of platform time (the sandbox, SQLite, the tiny model)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from vibeforge.errors import NotFoundError
from vibeforge.loop.compliance import FLAG
from vibeforge.loop.cycle import run_round
from vibeforge.paths import Home
from vibeforge.privacy import shingles as sh
from vibeforge.privacy.memorization import MemorizationIndex
from vibeforge.sandbox.remote import RemoteSandbox
from vibeforge.store import queries as q
from vibeforge.store import session_scope

from .conftest import FAST, make_eco

STEPS = ("ingest", "compliance")  # no model work: these tests are about the store and index


def _grams(text: str) -> set[int]:
    return set(sh.ngram_hashes(sh.token_hashes(sh.tokenize(text)), 8).tolist())


def _unique_post(rt, timeline: str):  # type: ignore[no-untyped-def]
    """A stored post of `timeline` with 8-grams no other stored post has (so the index's
    verdict on its text depends on it alone)."""
    with session_scope(rt.engine) as s:
        posts = q.list_posts(s, timeline=timeline)
        everything = [p.text for p in q.list_posts(s)]
    for post in posts:
        mine = _grams(post.text)
        if len(mine) < 3:
            continue
        others = [t for t in everything if t != post.text]
        if not any(mine & _grams(t) for t in others):
            return post
    pytest.fail("no stored post with unshared 8-grams")


def test_a_deleted_human_post_is_gone_within_24_hours(tmp_path) -> None:
    eco = make_eco(tmp_path)
    try:
        rt = eco.spec()
        first = run_round(rt, steps=STEPS)
        checked = {c.scope: c for c in first.compliance}
        assert checked["timeline:airlines"].checked > 0
        assert checked["timeline:airlines"].removed == 0
        assert {"timeline:apple", "bot:skybot", "bot:fruitbot"} <= set(checked)
        assert rt.memorization is not None
        post = _unique_post(rt, "airlines")
        assert not rt.memorization.check(post.text).ok  # the guard knows it
        docs = len(rt.memorization)

        # its author deletes it right after a check, through the sandbox's admin API
        RemoteSandbox(eco.sandbox.base_url, eco.sandbox.admin_token).delete_post(post.id)
        deleted_at = rt.clock()

        removed_after, ingested = None, 0
        while rt.clock() - deleted_at <= timedelta(hours=24):
            eco.sandbox.advance(hours=3)
            report = run_round(rt, steps=STEPS)
            ingested += sum(r.stored for r in report.ingest)
            done = {c.scope: c for c in report.compliance}["timeline:airlines"]
            with session_scope(rt.engine) as s:
                stored = post.id in q.post_ids(s, platform="x", timeline="airlines")
            if not stored:
                assert done.removed == 1 and not done.skipped
                removed_after = rt.clock() - deleted_at
                break
            assert done.skipped  # at most one check per interval of platform time
        assert removed_after is not None, "still stored 24 h after it was deleted"
        assert removed_after >= timedelta(seconds=FAST.compliance_interval_s) - timedelta(hours=3)

        with session_scope(rt.engine) as s:
            # the store and what SFT reads (the timeline's stored posts)
            assert post.id not in {p.id for p in q.list_posts(s, timeline="airlines")}
            assert post.text not in q.ingested_texts(s)
            with pytest.raises(NotFoundError):
                q.metrics_history(s, post_id=post.id)
            assert "timeline:airlines" in (q.get_flag(s, name=FLAG) or {})
        # the regurgitation index, in memory and as persisted
        assert rt.memorization.check(post.text).ok
        assert len(rt.memorization) == docs + ingested - 1
        reopened = MemorizationIndex.open(Home(eco.home).memorization)
        assert reopened.check(post.text).ok and len(reopened) == docs + ingested - 1
    finally:
        eco.sandbox.stop()


def test_a_check_that_finds_most_posts_gone_removes_nothing(tmp_path) -> None:
    eco = make_eco(tmp_path, config=dataclasses.replace(FAST, compliance_max_removed_share=0.1))
    try:
        rt = eco.spec()
        run_round(rt, steps=("ingest",))
        with session_scope(rt.engine) as s:
            ids = q.post_ids(s, platform="x", timeline="apple")
        assert len(ids) >= 20
        for pid in ids[: len(ids) // 2]:
            eco.sandbox.delete_post(pid)
        report = run_round(rt, steps=("compliance",))
        apple = {c.scope: c for c in report.compliance}["timeline:apple"]
        assert apple.held and "compliance_max_removed_share" in apple.held
        assert apple.removed == 0
        with session_scope(rt.engine) as s:
            assert q.post_ids(s, platform="x", timeline="apple") == ids
            assert "timeline:apple" not in (q.get_flag(s, name=FLAG) or {})  # checked again
    finally:
        eco.sandbox.stop()


def test_compliance_on_the_bluesky_face(tmp_path) -> None:
    from vibeforge.domain import Bot, Timeline, TimelineKind
    from vibeforge.loop.build import RuntimeSpec
    from vibeforge.models.testing import TINY_TEST_MODEL
    from vibeforge.sandbox import start_sandbox
    from vibeforge.sandbox.atids import tid_value
    from vibeforge.store import make_engine, upgrade

    with start_sandbox(home=tmp_path / "sb", world="tiny", seed=0, speed=0) as sb:
        sb.create_account("fruitbot", niche="apple", followers=100)
        db_url = Home(tmp_path).database_url
        engine = make_engine(db_url)
        upgrade(engine)
        with session_scope(engine) as s:
            q.create_timeline(
                s,
                timeline=Timeline(
                    name="apple",
                    kind=TimelineKind.LIST,
                    source=sb.list_uris()["apple"],
                    platform="sandbox_bluesky",
                ),
            )
            q.create_bot(
                s,
                bot=Bot(
                    name="fruitbot",
                    timeline="apple",
                    account=sb.handle("fruitbot"),
                    base_model=TINY_TEST_MODEL,
                ),
            )
        rt = RuntimeSpec.for_sandbox(
            sb, face="bluesky", db_url=db_url, home=tmp_path, config=FAST, ner=False, key="k" * 32
        )()
        first = run_round(rt, steps=STEPS)
        assert all(c.error is None for c in first.compliance), first.compliance
        with session_scope(engine) as s:
            ids = q.post_ids(s, platform="bluesky", timeline="apple")
        assert ids and all("/" in i for i in ids)  # did/rkey
        victim = ids[len(ids) // 2]
        sandbox_id = tid_value(victim.split("/")[1])
        assert sandbox_id is not None
        sb.delete_post(str(sandbox_id))
        sb.advance(hours=13)
        report = run_round(rt, steps=("compliance",))
        apple = {c.scope: c for c in report.compliance}["timeline:apple"]
        assert apple.error is None and apple.removed == 1 and apple.checked == len(ids)
        with session_scope(engine) as s:
            left = q.post_ids(s, platform="bluesky", timeline="apple")
        assert victim not in left and len(left) == len(ids) - 1
