"""The Bluesky client against the sandbox's XRPC face, through the real atproto SDK."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from vibeforge.domain import Timeline, TimelineKind
from vibeforge.loop.platform_kinds import SandboxClock
from vibeforge.platforms.base import (
    AuthError,
    Forbidden,
    InvalidRequest,
    NotFound,
    RateLimited,
)
from vibeforge.platforms.bluesky import BlueskyClient, Image
from vibeforge.platforms.bluesky_parse import is_hashed, rkey_for
from vibeforge.platforms.x import XClient
from vibeforge.sandbox.server import RunningSandbox, start_sandbox
from vibeforge.sandbox.xrpc_limits import XrpcLimits

BOT = "blue-bot.test"


@pytest.fixture(scope="module")
def sb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    home: Path = tmp_path_factory.mktemp("bsky")
    with start_sandbox(
        home=home,
        world="tiny",
        seed=2,
        speed=0,
        tweets_per_niche=600,
        history_days=10,
        horizon_days=2,
    ) as s:
        s.create_account("blue_bot", niche="airlines", followers=60)
        yield s


def _client(sb: RunningSandbox, **kw) -> BlueskyClient:  # type: ignore[no-untyped-def]
    return BlueskyClient(
        base_url=sb.xrpc_url,
        credentials={BOT: sb.user_token("blue_bot")},
        clock=SandboxClock(sb.base_url, sb.admin_token),
        **kw,
    )


def _on_platform(sb: RunningSandbox, text: str) -> int:
    return sb.world.store.count(
        "SELECT COUNT(*) FROM posts WHERE text = ? AND deleted = 0", (text,)
    )


def test_publish_is_idempotent_labelled_and_faceted(sb: RunningSandbox) -> None:
    client = _client(sb)
    text = "Boarding now @blue-bot.test ✈️ https://example.com/gate #travel"
    ref = client.publish(account=BOT, text=text, idempotency_key="bot:1")
    again = client.publish(account=BOT, text=text, idempotency_key="bot:1")
    assert again.id == ref.id and _on_platform(sb, text) == 1
    did, rkey = ref.id.split("/")
    assert did == sb.did("blue_bot") and rkey == rkey_for(did, "bot:1") and is_hashed(rkey)
    fresh = _client(sb)  # another process after a crash: same key, same post
    assert fresh.publish(account=BOT, text=text, idempotency_key="bot:1").id == ref.id
    assert _on_platform(sb, text) == 1
    with pytest.raises(Forbidden, match="another text"):
        client.publish(account=BOT, text="something else", idempotency_key="bot:1")
    # the record: facets with UTF-8 byte offsets, the bot self-label, on the profile too
    record = (
        client.session(BOT)
        .com.atproto.repo.get_record(
            {"repo": did, "collection": "app.bsky.feed.post", "rkey": rkey}
        )
        .value
    )
    spans = {
        type(f.features[0]).__name__: text.encode()[f.index.byte_start : f.index.byte_end].decode()
        for f in record.facets
    }
    assert spans == {
        "Mention": "@blue-bot.test",
        "Link": "https://example.com/gate",
        "Tag": "#travel",
    }
    assert record.facets[0].features[0].did == did or any(
        getattr(f.features[0], "did", None) == did for f in record.facets
    )
    assert [v.val for v in record.labels.values] == ["bot"]
    profile = client.session(BOT).get_profile(did)
    assert [x.val for x in profile.labels] == ["bot"]
    post = client.get_posts(post_ids=[ref.id])[0]
    assert post.made_with_ai and post.platform == "bluesky" and post.text == text
    # the ledger counts points: a create is 3, the profile label an update of 2
    writes = [e for e in client.ledger.entries() if e.kind == "bsky_write"]
    assert [(e.endpoint, e.units) for e in writes] == [
        ("com.atproto.repo.putRecord", 2),
        ("com.atproto.repo.createRecord", 3),
    ]
    assert client.ledger.spent() == 0.0


def test_replies_quotes_images_and_delete(sb: RunningSandbox) -> None:
    client = _client(sb)
    source = Timeline(name="air", kind=TimelineKind.LIST, source=sb.list_uris()["airlines"])
    target = client.timeline(source=source, max_posts=5)[0]
    reply = client.publish(account=BOT, text="Same here!", idempotency_key="r1", reply_to=target.id)
    nested = client.publish(account=BOT, text="And again", idempotency_key="r2", reply_to=reply.id)
    quote = client.publish(
        account=BOT, text="Look at this", idempotency_key="q1", quote_of=target.id
    )
    image = client.publish(
        account=BOT,
        text="Our gate",
        idempotency_key="i1",
        images=[Image(data=b"\x89PNG\r\n fake", mime="image/png", alt="gate B12")],
    )
    posts = {p.id: p for p in client.get_posts(post_ids=[reply.id, nested.id, quote.id, image.id])}
    assert posts[reply.id].in_reply_to_id == target.id
    assert posts[nested.id].in_reply_to_id == reply.id
    assert posts[quote.id].quote_of_id == target.id
    view = client.session(BOT).get_posts([f"at://{image.id.replace('/', '/app.bsky.feed.post/')}"])
    assert view.posts[0].embed.images[0].alt == "gate B12"
    nested_record = (
        client.session(BOT)
        .get_posts([f"at://{nested.id.replace('/', '/app.bsky.feed.post/')}"])
        .posts[0]
        .record
    )
    assert nested_record.reply.root.uri.endswith(target.id.split("/")[1])  # root stays the thread's
    assert [p.id for p in client.quotes(post_id=target.id)] == [quote.id]
    assert client.delete(account=BOT, post_id=image.id)
    assert client.get_posts(post_ids=[image.id]) == []
    with pytest.raises(Forbidden):
        client.delete(account=BOT, post_id=target.id)  # not ours
    with pytest.raises(NotFound):
        client.publish(account=BOT, text="to nothing", idempotency_key="r3", reply_to=image.id)
    with pytest.raises(InvalidRequest):
        client.publish(account=BOT, text="x", idempotency_key="i2", images=[Image(data=b"1")] * 5)


def test_timelines_are_incremental(sb: RunningSandbox) -> None:
    client = _client(sb)
    airlines = Timeline(name="air", kind=TimelineKind.LIST, source=sb.list_uris()["airlines"])
    posts = client.timeline(source=airlines, max_posts=300)
    assert len(posts) > 100 and len({p.id for p in posts}) == len(posts)  # paged by cursor
    times = [p.created_at for p in posts]
    assert times == sorted(times, reverse=True)
    assert client.timeline(source=airlines, since_id=posts[0].id) == []
    assert [p.id for p in client.timeline(source=airlines, since_id=posts[7].id)] == [
        p.id for p in posts[:7]
    ]
    feed = Timeline(name="apple", kind=TimelineKind.FEED, source=sb.feed_uris()["apple"])
    apple = client.timeline(source=feed, max_posts=20)
    assert len(apple) == 20 and not {p.author_id for p in apple} & {p.author_id for p in posts}
    authors = sorted({p.author_id for p in posts})[:2]
    handles = ",".join(authors)
    by_handles = client.timeline(
        source=Timeline(name="h", kind=TimelineKind.HANDLES, source=handles), max_posts=50
    )
    assert {p.author_id for p in by_handles} == set(authors)
    home = client.timeline(
        source=Timeline(name="home", kind=TimelineKind.HOME, source=BOT), max_posts=30
    )
    assert home and {p.author_id for p in home} & {p.author_id for p in posts}
    with pytest.raises(InvalidRequest):
        client.timeline(source=Timeline(name="bad", kind=TimelineKind.LIST, source="1500000"))
    with pytest.raises(InvalidRequest):  # X has no custom feeds
        XClient(base_url=sb.base_url).timeline(source=feed)


def test_metrics_and_spread_grow_with_platform_time(sb: RunningSandbox) -> None:
    client = _client(sb)
    airlines = Timeline(name="air", kind=TimelineKind.LIST, source=sb.list_uris()["airlines"])
    ids = [p.id for p in client.timeline(source=airlines, max_posts=40)]
    before = client.metrics(post_ids=ids)
    sb.advance(hours=8)
    after = client.metrics(post_ids=ids)
    assert set(after) == set(ids)  # 40 ids: two getPosts calls of at most 25
    calls = [e for e in client.ledger.entries() if e.endpoint == "app.bsky.feed.getPosts"]
    assert len(calls) == 4
    assert sum(m.like_count for m in after.values()) > sum(m.like_count for m in before.values())
    assert all(m.impression_count is None for m in after.values())
    top = max(after, key=lambda i: after[i].like_count)
    assert len(client.likers(post_id=top)) == after[top].like_count
    reposted = max(after, key=lambda i: after[i].repost_count)
    assert len(client.reposters(post_id=reposted)) == after[reposted].repost_count


def test_accounts_and_error_paths(sb: RunningSandbox, tmp_path: Path) -> None:
    client = _client(sb)
    account = client.account(handle=BOT)
    assert account.id == sb.did("blue_bot") and account.followers_count == 60
    with pytest.raises(NotFound):
        client.account(handle="nobody.test")
    wrong = BlueskyClient(base_url=sb.xrpc_url, credentials={BOT: "not-the-password"})
    with pytest.raises(AuthError):
        wrong.publish(account=BOT, text="hi", idempotency_key="w1")
    with pytest.raises(AuthError, match="no app password"):
        client.publish(account="stranger.test", text="hi", idempotency_key="w2")
    with pytest.raises(InvalidRequest):
        client.get_posts(post_ids=["12345"])
    with pytest.raises(ValueError):
        BlueskyClient(credentials={}, reader="someone.test")


def test_rate_limits_wait_and_say_why(tmp_path: Path) -> None:
    limits = XrpcLimits(points_per_hour=8, sessions_per_5min=1)
    with start_sandbox(home=tmp_path, world="tiny", seed=1, speed=0, xrpc_limits=limits) as s:
        token = s.create_account("busy_bot")
        slept: list[float] = []
        client = BlueskyClient(
            base_url=s.xrpc_url,
            credentials={"busy-bot.test": token},
            label_bot=False,
            sleep=slept.append,
            max_rate_limit_waits=2,
            max_wait_s=3 * 3600,
            home=tmp_path,
        )
        client.publish(account="busy-bot.test", text="one", idempotency_key="1")
        client.publish(account="busy-bot.test", text="two", idempotency_key="2")
        with pytest.raises(RateLimited, match=r"8 write points per hour \(policy 8;w=3600\)"):
            client.publish(account="busy-bot.test", text="three", idempotency_key="3")
        assert len(slept) == 2 and all(3000 < x < 3602 for x in slept)  # it waited, then gave up
        bounded = BlueskyClient(
            base_url=s.xrpc_url,
            credentials={"busy-bot.test": token},
            label_bot=False,
            home=tmp_path,
        )
        with pytest.raises(RateLimited, match="would pass the 900 s bound"):
            bounded.publish(account="busy-bot.test", text="three", idempotency_key="3")
        raising = BlueskyClient(
            base_url=s.xrpc_url,
            credentials={"busy-bot.test": token},
            label_bot=False,
            on_rate_limit="raise",
            home=tmp_path,
        )
        # its session was saved (owner-only): no second createSession, which would be refused
        saved = tmp_path / "tokens" / "bluesky-busy-bot.test.json"
        assert stat.S_IMODE(saved.stat().st_mode) == 0o600
        with pytest.raises(RateLimited) as err:
            raising.publish(account="busy-bot.test", text="three", idempotency_key="3")
        assert err.value.reset_at is not None
        assert s.world.store.count("SELECT COUNT(*) FROM posts WHERE text = 'three'") == 0
        fresh = BlueskyClient(
            base_url=s.xrpc_url, credentials={"busy-bot.test": token}, on_rate_limit="raise"
        )
        with pytest.raises(RateLimited, match="logins per account"):
            fresh.account(handle="busy-bot.test")


def test_registered_kinds_build_the_bluesky_client(sb: RunningSandbox, tmp_path: Path) -> None:
    from vibeforge.errors import ConfigError
    from vibeforge.loop.build import RuntimeSpec, sandbox_context
    from vibeforge.platforms.registry import PlatformContext, platform_factory

    ctx = sandbox_context(sb, home=tmp_path, handles=["blue_bot"])
    platform = platform_factory("sandbox_bluesky")(ctx)
    assert (
        platform.name == "bluesky" and platform.now() == SandboxClock(sb.base_url, sb.admin_token)()
    )
    ref = platform.publish(account="blue_bot", text="via the registry", idempotency_key="reg1")
    assert ref.id.startswith(sb.did("blue_bot") + "/")
    with pytest.raises(ConfigError, match="admin token"):
        platform_factory("sandbox_bluesky")(PlatformContext(home=tmp_path, base_url=sb.base_url))
    real = platform_factory("bluesky")
    with pytest.raises(ConfigError, match="handle:app-password"):
        real(PlatformContext(home=tmp_path, secrets={"app_passwords": "no-colon-here"}))
    with pytest.raises(ConfigError, match=r"needs an app password for sky\.example"):
        real(PlatformContext(home=tmp_path, handles=("sky.example",)))
    client = real(
        PlatformContext(
            home=tmp_path,
            handles=("sky.example",),
            secrets={"app_passwords": "sky.example:abcd-efgh-ijkl-mnop"},
        )
    )
    assert client.base_url == "https://bsky.social" and client.reader == "sky.example"
    with pytest.raises(ValueError, match="face"):
        RuntimeSpec.for_sandbox(sb, db_url="sqlite://", home=tmp_path, face="mastodon")


def test_config_takes_bluesky_sources_and_handles() -> None:
    from pydantic import ValidationError

    from vibeforge.config import BotSpec, PlatformSettings, TimelineSpec

    uri = "at://did:plc:abc/app.bsky.graph.list/3kabc"
    assert TimelineSpec(name="a", kind=TimelineKind.LIST, source=uri).source == uri
    feed = "at://did:plc:abc/app.bsky.feed.generator/airlines"
    assert TimelineSpec(name="f", kind=TimelineKind.FEED, source=feed).kind is TimelineKind.FEED
    assert BotSpec(name="b", account="@sky.bsky.social").account == "sky.bsky.social"
    assert PlatformSettings(kind="sandbox", face="bluesky").face == "bluesky"
    for kind, source in (
        (TimelineKind.FEED, "1500000"),
        (TimelineKind.LIST, "at://did:plc:abc/app.bsky.feed.post/3kabc"),
        (TimelineKind.HANDLES, "-bad-.bsky.social"),
    ):
        with pytest.raises(ValidationError):
            TimelineSpec(name="x", kind=kind, source=source)
    with pytest.raises(ValidationError):
        BotSpec(name="b", account="not a handle")
    with pytest.raises(ValidationError):
        PlatformSettings(face="mastodon")  # type: ignore[arg-type]
