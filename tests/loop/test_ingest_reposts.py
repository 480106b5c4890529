"""Ingest passes over reposts: on X a repost is a post of its own in a List's timeline (`RT
@author: ...`, someone else's words cut to 140 characters), which must not be stored as the
niche's own post for training; the cursor still moves past it. The sandbox on loopback, the X
client, SQLite."""

from __future__ import annotations

import httpx

from vibeforge.domain import Timeline, TimelineKind
from vibeforge.loop.ingest import poll_timeline
from vibeforge.platforms.auth import BearerAuth
from vibeforge.platforms.x import XClient
from vibeforge.privacy.pseudonym import pseudonymizer
from vibeforge.privacy.scrub import Scrubber, ScrubConfig
from vibeforge.sandbox import start_sandbox
from vibeforge.store import make_engine, session_scope, upgrade
from vibeforge.store import queries as q

LONG = "Delayed again at the gate and the crew has no idea when the new plane lands. " * 3


def test_a_lists_reposts_are_passed_over_and_the_cursor_moves_past_them(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with start_sandbox(home=tmp_path / "sb", world="tiny", seed=0, speed=0) as sb:
        sb.advance(hours=24)
        token = sb.create_account("gatebot", niche="airlines")
        x = XClient(
            base_url=sb.base_url,
            auth=BearerAuth(sb.app_token),
            user_auth={"gatebot": BearerAuth(token)},
        )
        original = x.publish(account="gatebot", text=LONG.strip(), idempotency_key="k")
        # a human of the airlines List reposts it with their own token
        human = sb.world.store.one(
            "SELECT u.id, u.username FROM users u JOIN list_members m ON m.user_id = u.id "
            "JOIN lists l ON l.id = m.list_id WHERE l.niche = 'airlines' ORDER BY u.id LIMIT 1"
        )
        headers = {"Authorization": f"Bearer {sb.user_token(human[1])}"}
        with httpx.Client(base_url=sb.base_url, headers=headers) as c:
            c.post(f"/2/users/{human[0]}/retweets", json={"tweet_id": original.id})
        listed = x.timeline(
            source=Timeline(name="air", kind=TimelineKind.LIST, source=sb.list_ids()["airlines"]),
            max_posts=5,
        )
        repost = listed[0]  # the List's newest: the member's repost
        assert repost.repost_of_id == original.id and repost.text.endswith("…")

        engine = make_engine(f"sqlite:///{tmp_path / 'v.db'}")
        upgrade(engine)
        timeline = Timeline(name="air", kind=TimelineKind.LIST, source=sb.list_ids()["airlines"])
        with session_scope(engine) as s:
            q.create_timeline(s, timeline=timeline)
        report = poll_timeline(
            engine,
            platform=x,
            timeline=timeline,
            scrubber=Scrubber(ScrubConfig(ner=False)),
            pseudonymize=pseudonymizer("k" * 32),
            now=x.now(),
            max_posts=400,
        )
    assert report.reposts == 1 and report.fetched - 1 >= report.stored > 20
    with session_scope(engine) as s:
        stored = q.list_posts(s, timeline="air")
        cursor = q.get_timeline(s, name="air").since_id
    assert repost.id not in {p.id for p in stored}
    # no stored post is the repost's text (the corpus's own old-style "RT @" tweets may be)
    assert not any(p.text.startswith("RT @gatebot") for p in stored)
    assert cursor == repost.id  # passed over, not fetched again on the next poll
