"""vibeforge's X client with reposts and quotes, against the sandbox on loopback: reposts are
posts of their own (marked `repost_of_id`; asked away where X takes `exclude=retweets`), and
`publish(quote_of=)` creates a quote post, checked like a reply's target before anything is
sent (X's spec makes media and a quoted post mutually exclusive)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import httpx
import pytest
from tests.sandbox.conftest import make_png

from vibeforge.domain import Image, Timeline, TimelineKind
from vibeforge.platforms.auth import BearerAuth
from vibeforge.platforms.base import InvalidRequest, Platform
from vibeforge.platforms.bluesky import BlueskyClient
from vibeforge.platforms.x import XClient
from vibeforge.sandbox.server import RunningSandbox, start_sandbox


@pytest.fixture(scope="module")
def sb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    with start_sandbox(
        home=tmp_path_factory.mktemp("x_reposts"), world="tiny", seed=0, speed=0
    ) as sandbox:
        sandbox.advance(hours=24)
        yield sandbox


def client(sb: RunningSandbox, *handles: str) -> XClient:
    return XClient(
        base_url=sb.base_url,
        auth=BearerAuth(sb.app_token),
        user_auth={h: BearerAuth(sb.user_token(h)) for h in handles},
    )


def human_of(sb: RunningSandbox, niche: str) -> tuple[str, str]:
    """(user id, username) of a human on the niche's List."""
    row = sb.world.store.one(
        "SELECT u.id, u.username FROM users u JOIN list_members m ON m.user_id = u.id "
        "JOIN lists l ON l.id = m.list_id WHERE l.niche = ? ORDER BY u.id LIMIT 1",
        (niche,),
    )
    assert row is not None
    return str(row[0]), str(row[1])


def repost(sb: RunningSandbox, handle: str, post_id: str) -> str:
    """`handle` reposts `post_id` through the API; returns the repost's own id."""
    token = sb.user_token(handle)
    uid = token.split("-")[0]
    with httpx.Client(base_url=sb.base_url, headers={"Authorization": f"Bearer {token}"}) as c:
        c.post(f"/2/users/{uid}/retweets", json={"tweet_id": post_id}).raise_for_status()
        newest = c.get(f"/2/users/{uid}/tweets", params={"max_results": 5}).json()["data"][0]
    return str(newest["id"])


def test_reposts_are_marked_and_left_out_where_x_can_leave_them_out(sb: RunningSandbox) -> None:
    sb.create_account("quotedbot", niche="airlines")
    x = client(sb, "quotedbot")
    original = x.publish(
        account="quotedbot", text="Which airport lounge is worth the detour?", idempotency_key="o"
    )
    _, human = human_of(sb, "airlines")
    rid = repost(sb, human, original.id)

    listed = x.timeline(
        source=Timeline(name="air", kind=TimelineKind.LIST, source=sb.list_ids()["airlines"]),
        max_posts=20,
    )
    marked = {p.id: p for p in listed}[rid]
    assert marked.repost_of_id == original.id and marked.text.startswith("RT @quotedbot: ")
    assert all(p.repost_of_id is None for p in listed if p.id != rid)
    assert [p.repost_of_id for p in x.get_posts(post_ids=[rid, original.id])] == [
        original.id,
        None,
    ]

    # an account's posts and a home timeline are asked without reposts
    own = x.timeline(source=Timeline(name="h", kind=TimelineKind.HANDLES, source=human))
    assert own and rid not in {p.id for p in own}
    sb.create_account("homebot", niche="airlines")  # follows the niche's humans
    home = client(sb, "homebot").timeline(
        source=Timeline(name="home", kind=TimelineKind.HOME, source="homebot"), max_posts=50
    )
    assert home and rid not in {p.id for p in home}
    assert all(p.repost_of_id is None for p in own + home)
    # and reconciliation never mistakes a repost for the post it looks for
    assert x.find_published(account=human, text=marked.text, since=listed[-1].created_at) is None


def test_publish_a_quote(sb: RunningSandbox) -> None:
    sb.create_account("quoter", niche="airlines")
    x = client(sb, "quoter")
    _, human = human_of(sb, "airlines")
    [target] = x.timeline(
        source=Timeline(name="h", kind=TimelineKind.HANDLES, source=human), max_posts=1
    )
    ref = x.publish(
        account="quoter",
        text="This is the gate change everyone is talking about.",
        idempotency_key="q1",
        quote_of=target.id,
    )
    [stored] = sb.world.store.all(
        "SELECT quote_of, made_with_ai FROM posts WHERE id = ?", (ref.id,)
    )
    assert (str(stored[0]), stored[1]) == (target.id, 1)
    [read] = x.get_posts(post_ids=[ref.id])
    assert read.quote_of_id == target.id and read.in_reply_to_id is None
    assert ref.id in {p.id for p in x.quotes(post_id=target.id)}


def test_a_bad_quote_is_refused_before_anything_is_sent(sb: RunningSandbox) -> None:
    sb.create_account("badquoter", niche="apple")
    x = client(sb, "badquoter")
    picture = Image(data=make_png(20, 10), mime="image/png", alt="a chart")
    with pytest.raises(InvalidRequest, match="post id to quote"):
        x.publish(account="badquoter", text="look", idempotency_key="b1", quote_of="12ab")
    with pytest.raises(InvalidRequest, match="not both"):
        x.publish(
            account="badquoter", text="look", idempotency_key="b2", quote_of="1", images=[picture]
        )
    assert x.ledger.entries() == []  # nothing uploaded, nothing created

    # the sandbox answers as the spec says: media and quote_tweet_id are mutually exclusive
    media_id = x.upload_media(account="badquoter", data=picture.data, mime=picture.mime)
    quoted = sb.world.store.one("SELECT id FROM posts WHERE deleted = 0 LIMIT 1")[0]
    token = sb.user_token("badquoter")
    with httpx.Client(base_url=sb.base_url, headers={"Authorization": f"Bearer {token}"}) as c:
        answer = c.post(
            "/2/tweets",
            json={
                "text": "look",
                "quote_tweet_id": str(quoted),
                "media": {"media_ids": [media_id]},
            },
        )
    assert answer.status_code == 400
    assert answer.json()["parameter"] == "quote_tweet_id"


def test_publish_takes_the_same_keywords_on_every_platform() -> None:
    def keywords(method: object) -> dict[str, object]:
        params = inspect.signature(method).parameters.values()  # type: ignore[arg-type]
        return {p.name: p.default for p in params if p.kind is p.KEYWORD_ONLY}

    wanted = keywords(Platform.publish)
    assert wanted["quote_of"] is None and wanted["reply_to"] is None
    assert keywords(XClient.publish) == keywords(BlueskyClient.publish) == wanted
