"""A fleet that mixes platforms: two runtimes on one store, one bot on the sandbox's X face and
one on its Bluesky face, each running its rounds through its own client."""

from __future__ import annotations

from pathlib import Path

import pytest

from vibeforge.domain import Bot, Timeline, TimelineKind
from vibeforge.loop.build import RuntimeSpec, fleet
from vibeforge.loop.cycle import run_round
from vibeforge.models.testing import TINY_TEST_MODEL
from vibeforge.paths import Home
from vibeforge.platforms.bluesky import BlueskyClient
from vibeforge.platforms.x import XClient
from vibeforge.privacy.memorization import MemorizationIndex
from vibeforge.sandbox import start_sandbox
from vibeforge.store import make_engine, session_scope, upgrade
from vibeforge.store import queries as q

from .conftest import FAST


def test_two_bots_on_two_faces_of_one_sandbox_share_a_store(tmp_path: Path) -> None:
    with start_sandbox(home=tmp_path / "sb", world="tiny", seed=0, speed=0) as sb:
        sb.create_account("xbot", niche="airlines", followers=100)
        sb.create_account("skybot", niche="apple", followers=100)
        db_url = Home(tmp_path).database_url
        engine = make_engine(db_url)
        upgrade(engine)
        with session_scope(engine) as s:
            q.create_timeline(
                s,
                timeline=Timeline(
                    name="airlines",
                    kind=TimelineKind.LIST,
                    source=sb.list_ids()["airlines"],
                    platform="sandbox",
                ),
            )
            q.create_timeline(
                s,
                timeline=Timeline(
                    name="apple",
                    kind=TimelineKind.LIST,
                    source=sb.list_uris()["apple"],
                    platform="sandbox_bluesky",
                ),
            )
            for name, timeline, account in (
                ("xbot", "airlines", "xbot"),
                ("skybot", "apple", sb.handle("skybot")),
            ):
                q.create_bot(
                    s,
                    bot=Bot(
                        name=name,
                        timeline=timeline,
                        account=account,
                        base_model=TINY_TEST_MODEL,
                        posts_per_day=4,
                    ),
                )
        common = {"db_url": db_url, "home": tmp_path, "config": FAST, "ner": False}
        on_x = RuntimeSpec.for_sandbox(sb, face="x", bots=["xbot"], **common)
        on_bsky = RuntimeSpec.for_sandbox(sb, face="bluesky", bots=["skybot"], **common)
        assert dict(on_x.context.user_tokens) == {"xbot": sb.user_token("xbot")}
        assert dict(on_bsky.context.user_tokens) == {"skybot.test": sb.user_token("skybot")}
        rx, rb = fleet([on_x, on_bsky])
        assert isinstance(rx.platform, XClient) and isinstance(rb.platform, BlueskyClient)
        assert rb.bank() is rx.bank() and rb.memorization is rx.memorization

        published: dict[str, list[str]] = {"xbot": [], "skybot": []}
        for _ in range(4):  # a round each, until each bot has posted (the guard may refuse)
            for rt, name in ((rx, "xbot"), (rb, "skybot")):
                report = run_round(rt, [name], steps=("ingest", "observe", "act"))
                assert set(report.act) == {name}  # a runtime runs its own bots only
                published[name] += report.act[name].published
            if all(published.values()):
                break
            sb.advance(hours=7)
        sb.advance(hours=1.1)
        for rt, name in ((rx, "xbot"), (rb, "skybot")):
            run_round(rt, [name], steps=("observe",))

        x_id, bsky_id = published["xbot"][0], published["skybot"][0]
        assert x_id.isdigit()  # an X post id, published with the X client
        assert bsky_id.startswith(sb.did("skybot") + "/")  # did/rkey, by the Bluesky client
        world = sb.world.store
        for username, text_count in (("xbot", 1), ("skybot", 1)):
            n = world.count(
                "SELECT COUNT(*) FROM posts p JOIN users u ON u.id = p.author_id "
                "WHERE u.username = ?",
                (username,),
            )
            assert n >= text_count, username  # each landed in the one world, as its account
        with session_scope(engine) as s:
            x_read = q.list_posts(s, timeline="airlines", limit=50)
            b_read = q.list_posts(s, timeline="apple", limit=50)
            x_metrics = q.metrics_history(s, post_id=x_id, platform="x")
            # each bot's own post is stored under the platform that published it
            b_metrics = q.metrics_history(s, post_id=bsky_id, platform="bluesky")
            calls = q.list_api_calls(s)
            total = q.count_posts(s, timeline="airlines") + q.count_posts(s, timeline="apple")
        assert x_read and {p.platform for p in x_read} == {"x"}
        assert b_read and {p.platform for p in b_read} == {"bluesky"}
        with session_scope(engine) as s:
            own = {p.id: p.platform for p in q.list_posts(s, bot="skybot")}
        assert own and set(own.values()) == {"bluesky"}
        assert x_metrics and b_metrics  # observe read both bots' posts on their own faces
        kinds = {(c.bot, c.kind) for c in calls}
        assert ("xbot", "post_create") in kinds and ("skybot", "bsky_write") in kinds
        assert ("xbot", "bsky_write") not in kinds and ("skybot", "post_create") not in kinds
        # one regurgitation index for the fleet: every ingested post of both timelines is in it
        assert len(MemorizationIndex.open(Home(tmp_path).memorization)) == total


def test_a_fleet_shares_one_store_home_and_model(tmp_path: Path) -> None:
    a = RuntimeSpec(db_url="sqlite://", home=tmp_path, platform="sandbox", context=None)  # type: ignore[arg-type]
    b = RuntimeSpec(db_url="sqlite://", home=tmp_path / "other", platform="x", context=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="share one store, home and base model"):
        fleet([a, b])
    with pytest.raises(ValueError, match="at least one"):
        fleet([])
