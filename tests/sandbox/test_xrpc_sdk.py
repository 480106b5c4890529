"""The real atproto SDK, unchanged, against the sandbox's XRPC face: every method served, parsed
into the SDK's own models, and Bluesky's error shapes, status codes and rate limits."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from atproto import Client, models
from atproto_client import exceptions as sdk
from atproto_core.cid import CID

from vibeforge.sandbox.server import RunningSandbox, start_sandbox
from vibeforge.sandbox.xrpc_limits import XrpcLimits


@pytest.fixture(scope="module")
def sb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    home: Path = tmp_path_factory.mktemp("xrpc")
    with start_sandbox(home=home, world="tiny", seed=0, speed=0, tweets_per_niche=400) as s:
        yield s


@pytest.fixture(scope="module")
def bot(sb: RunningSandbox) -> Client:
    token = sb.create_account("sdk_bot", niche="airlines", followers=40)
    client = Client(base_url=sb.xrpc_url)
    client.login(sb.handle("sdk_bot"), token)
    return client


def _error(exc: sdk.RequestErrorBase) -> tuple[int, str]:
    assert exc.response is not None
    return exc.response.status_code, exc.response.content.error  # type: ignore[union-attr]


def test_sessions_create_get_and_refresh(sb: RunningSandbox, bot: Client) -> None:
    assert bot.me is not None and bot.me.handle == "sdk-bot.test"
    assert bot.me.did == sb.did("sdk_bot") and bot.me.did.startswith("did:plc:")
    assert bot.me.followers_count == 40
    session = bot.com.atproto.server.get_session()
    assert (session.did, session.handle) == (bot.me.did, "sdk-bot.test")
    old = bot.export_session_string()
    refreshed = bot.com.atproto.server.refresh_session(
        headers={"Authorization": f"Bearer {bot._session.refresh_jwt}"}  # type: ignore[union-attr]
    )
    assert refreshed.did == bot.me.did and refreshed.access_jwt not in old
    # the session string survives a new client (the SDK decodes the JWT's exp itself)
    again = Client(base_url=sb.xrpc_url)
    again.login(session_string=old)
    assert again.com.atproto.server.get_session().did == bot.me.did
    assert bot.resolve_handle("sdk-bot.test").did == bot.me.did


def test_posting_reading_and_deleting_records(sb: RunningSandbox, bot: Client) -> None:
    text = "Delayed again @sdk-bot.test, see https://example.com #airlines"
    sent = bot.send_post(text, facets=bot.detect_facets(text))
    assert sent.uri.startswith(f"at://{bot.me.did}/app.bsky.feed.post/")  # type: ignore[union-attr]
    assert CID.decode(sent.cid).codec == 0x71  # a real dag-cbor CID
    got = bot.com.atproto.repo.get_record(
        {"repo": bot.me.did, "collection": "app.bsky.feed.post", "rkey": sent.uri.split("/")[-1]}  # type: ignore[union-attr]
    )
    assert got.cid == sent.cid and got.value.text == text
    kinds = sorted(type(f.features[0]).__name__ for f in got.value.facets)
    assert kinds == ["Link", "Mention", "Tag"]
    view = bot.get_posts([sent.uri]).posts[0]
    assert view.record.text == text and view.author.handle == "sdk-bot.test"
    assert view.like_count == 0 and view.indexed_at
    # reply and quote with strong refs
    ref = models.create_strong_ref(view)
    reply = bot.send_post("me too", reply_to=models.AppBskyFeedPost.ReplyRef(parent=ref, root=ref))
    quote = bot.send_post("look", embed=models.AppBskyEmbedRecord.Main(record=ref))
    quotes = bot.app.bsky.feed.get_quotes({"uri": sent.uri})
    assert [p.uri for p in quotes.posts] == [quote.uri]
    reply_view = bot.get_posts([reply.uri]).posts[0]
    assert reply_view.record.reply.parent.uri == sent.uri
    quote_view = bot.get_posts([quote.uri]).posts[0]
    assert quote_view.embed.record.uri == sent.uri
    # an image: uploadBlob, an images embed with alt text, getBlob
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    )
    image = bot.send_image("a plane", image=png, image_alt="a plane at the gate")
    image_view = bot.get_posts([image.uri]).posts[0]
    assert image_view.embed.images[0].alt == "a plane at the gate"
    blob_cid = image_view.record.embed.images[0].image.ref.link
    blob = httpx.get(image_view.embed.images[0].fullsize)
    assert blob.content == png and CID.decode(blob_cid).codec == 0x55
    # delete: gone from getPosts and getRecord
    assert bot.delete_post(image.uri)
    assert bot.get_posts([image.uri]).posts == []
    with pytest.raises(sdk.BadRequestError) as err:
        bot.com.atproto.repo.get_record(
            {
                "repo": bot.me.did,
                "collection": "app.bsky.feed.post",
                "rkey": image.uri.split("/")[-1],
            }  # type: ignore[union-attr]
        )
    assert _error(err.value) == (400, "RecordNotFound")


def test_profile_put_with_self_label(bot: Client) -> None:
    did = bot.me.did  # type: ignore[union-attr]
    labels = models.ComAtprotoLabelDefs.SelfLabels(
        values=[models.ComAtprotoLabelDefs.SelfLabel(val="bot")]
    )
    put = bot.com.atproto.repo.put_record(
        models.ComAtprotoRepoPutRecord.Data(
            repo=did,
            collection="app.bsky.actor.profile",
            rkey="self",
            record=models.AppBskyActorProfile.Record(display_name="SDK bot", labels=labels),
        )
    )
    profile = bot.get_profile(did)
    assert profile.display_name == "SDK bot"
    assert [label.val for label in profile.labels or []] == ["bot"]
    with pytest.raises(sdk.BadRequestError) as err:  # a stale swap is refused
        bot.com.atproto.repo.put_record(
            models.ComAtprotoRepoPutRecord.Data(
                repo=did,
                collection="app.bsky.actor.profile",
                rkey="self",
                record=models.AppBskyActorProfile.Record(display_name="x"),
                swap_record="bafyreidwmdrkiw2yoa3roboq2qcd4zyfwmb3f5xwasfuorqkzwg2rfciz4",
            )
        )
    assert _error(err.value) == (400, "InvalidSwap")
    # posts of a bot-labelled account carry the label into the world (made_with_ai)
    post = bot.send_post("labelled by my profile")
    assert [x.val for x in bot.get_posts([post.uri]).posts[0].author.labels] == ["bot"]
    assert put.cid


def test_feeds_lists_and_engagement(sb: RunningSandbox, bot: Client) -> None:
    lists = bot.app.bsky.graph.get_lists({"actor": "sandbox.test"}).lists
    assert sorted(x.name for x in lists) == ["airlines", "apple"]
    airlines = sb.list_uris()["airlines"]
    listed = bot.app.bsky.graph.get_list({"list": airlines, "limit": 2})
    assert listed.list.name == "airlines" and len(listed.items) == 2 and listed.cursor
    rest = bot.app.bsky.graph.get_list({"list": airlines, "cursor": listed.cursor})
    members = {i.subject.did for i in listed.items + rest.items}
    assert len(members) == listed.list.list_item_count == 4
    # a list feed, paged by cursor, newest first, only the list's members
    first = bot.app.bsky.feed.get_list_feed({"list": airlines, "limit": 10})
    second = bot.app.bsky.feed.get_list_feed(
        {"list": airlines, "limit": 10, "cursor": first.cursor}
    )
    posts = [i.post for i in first.feed + second.feed]
    assert len({p.uri for p in posts}) == 20 and {p.author.did for p in posts} <= members
    times = [p.indexed_at for p in posts]
    assert times == sorted(times, reverse=True)
    # the niche's feed generator, listed by getActorFeeds
    feeds = bot.app.bsky.feed.get_actor_feeds({"actor": "sandbox.test"}).feeds
    assert sorted(f.display_name for f in feeds) == ["airlines", "apple"]
    apple = bot.app.bsky.feed.get_feed({"feed": sb.feed_uris()["apple"], "limit": 5})
    assert len(apple.feed) == 5 and not {i.post.author.did for i in apple.feed} & members
    # author feed and home timeline (the bot follows the niche's humans)
    author = posts[0].author.did
    assert {i.post.author.did for i in bot.get_author_feed(author, limit=5).feed} == {author}
    home = bot.get_timeline(limit=30).feed
    assert {i.post.author.did for i in home} & members
    # engagement accrues with platform time; likers and reposters match the counts
    sb.advance(hours=12)
    views = bot.get_posts([p.uri for p in posts]).posts
    liked = max(views, key=lambda v: v.like_count or 0)
    assert (liked.like_count or 0) > 0
    likes, cursor = [], None
    while True:
        page = bot.get_likes(liked.uri, limit=100, cursor=cursor)
        likes += page.likes
        cursor = page.cursor
        if not cursor:
            break
    assert len(likes) == liked.like_count and len({x.actor.did for x in likes}) == len(likes)
    stamps = [x.created_at for x in likes]
    assert stamps == sorted(stamps, reverse=True)
    reposted = max(views, key=lambda v: v.repost_count or 0)
    by = bot.get_reposted_by(reposted.uri, limit=100).reposted_by
    assert len(by) == min(100, reposted.repost_count or 0)


def test_error_shapes(sb: RunningSandbox, bot: Client) -> None:
    token = sb.user_token("sdk_bot")
    with pytest.raises(sdk.UnauthorizedError) as err:
        Client(base_url=sb.xrpc_url).login("sdk-bot.test", token + "x")
    assert _error(err.value) == (401, "AuthenticationRequired")
    with pytest.raises(sdk.BadRequestError) as err:
        bot.get_profile("nobody-here.test")
    assert _error(err.value) == (400, "InvalidRequest")
    with pytest.raises(sdk.BadRequestError) as err:
        bot.app.bsky.feed.get_feed({"feed": "at://did:plc:abc/app.bsky.feed.generator/none"})
    assert _error(err.value) == (400, "UnknownFeed")
    with pytest.raises(sdk.BadRequestError) as err:
        bot.app.bsky.feed.get_list_feed({"list": "at://did:plc:abc/app.bsky.graph.list/3kabc"})
    assert _error(err.value) == (400, "InvalidRequest")
    with pytest.raises(sdk.BadRequestError) as err:
        bot.send_post("x" * 301)
    assert "300 graphemes" in err.value.response.content.message  # type: ignore[union-attr]
    with pytest.raises(sdk.BadRequestError):  # a reply to a post that does not exist
        missing = models.ComAtprotoRepoStrongRef.Main(
            uri=f"at://{bot.me.did}/app.bsky.feed.post/3kaaaaaaaaaaa",  # type: ignore[union-attr]
            cid="bafyreidwmdrkiw2yoa3roboq2qcd4zyfwmb3f5xwasfuorqkzwg2rfciz4",
        )
        bot.send_post("hm", reply_to=models.AppBskyFeedPost.ReplyRef(parent=missing, root=missing))
    # a chosen record key is taken once
    record = models.AppBskyFeedPost.Record(text="keyed", created_at=bot.get_current_time_iso())
    data = models.ComAtprotoRepoCreateRecord.Data(
        repo=bot.me.did,
        collection="app.bsky.feed.post",
        rkey="3kzzzzzzzzzz2",
        record=record,  # type: ignore[union-attr]
    )
    bot.com.atproto.repo.create_record(data)
    with pytest.raises(sdk.BadRequestError) as err:
        bot.com.atproto.repo.create_record(data)
    assert _error(err.value) == (400, "InvalidRequest")
    # another account's repo, a too large blob
    other = sb.create_account("sdk_other")
    with pytest.raises(sdk.UnauthorizedError) as err:
        bot.com.atproto.repo.create_record(
            models.ComAtprotoRepoCreateRecord.Data(
                repo=sb.did("sdk_other"), collection="app.bsky.feed.post", record=record
            )
        )
    assert _error(err.value) == (401, "AuthenticationRequired")
    assert other
    with pytest.raises(sdk.BadRequestError) as err:
        bot.upload_blob(b"x" * 1_000_001)
    assert _error(err.value) == (400, "BlobTooLarge")
    # raw HTTP: tokens of the wrong kind or expired, an unknown method, bad params
    http = httpx.Client(base_url=sb.xrpc_url)
    refresh = {"Authorization": f"Bearer {bot._session.refresh_jwt}"}  # type: ignore[union-attr]
    answer = http.get("/com.atproto.server.getSession", headers=refresh)
    assert (answer.status_code, answer.json()["error"]) == (400, "InvalidToken")
    assert set(answer.json()) == {"error", "message"}
    header, payload, _ = bot._session.access_jwt.split(".")  # type: ignore[union-attr]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["exp"] = 1
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    answer = http.get(
        "/com.atproto.server.getSession", headers={"Authorization": f"Bearer {header}.{forged}.x"}
    )
    assert (answer.status_code, answer.json()["error"]) == (400, "InvalidToken")
    answer = http.get("/app.bsky.unspecced.whatever")
    assert (answer.status_code, answer.json()["error"]) == (501, "MethodNotImplemented")
    answer = http.get("/app.bsky.feed.getAuthorFeed", params={"actor": "sdk-bot.test", "limit": 0})
    assert (answer.status_code, answer.json()["error"]) == (400, "InvalidRequest")
    answer = http.get(
        "/app.bsky.feed.getAuthorFeed", params={"actor": "sdk-bot.test", "cursor": "!"}
    )
    assert answer.status_code == 400
    answer = http.get("/app.bsky.feed.getTimeline")
    assert (answer.status_code, answer.json()["error"]) == (401, "AuthenticationRequired")


def test_expired_access_token_says_so(sb: RunningSandbox) -> None:
    from vibeforge.sandbox.atids import ACCESS_SCOPE, sign_jwt

    expired = sign_jwt(
        bytes.fromhex(sb.world.store.get_meta("at_jwt_secret")),
        did=sb.did("sdk_bot"),
        scope=ACCESS_SCOPE,
        ttl_s=10,
        now=1000,
    )
    answer = httpx.get(
        f"{sb.xrpc_url}/com.atproto.server.getSession",
        headers={"Authorization": f"Bearer {expired}"},
    )
    assert (answer.status_code, answer.json()["error"]) == (400, "ExpiredToken")


def test_write_points_and_session_limits(tmp_path: Path) -> None:
    limits = XrpcLimits(points_per_hour=7, sessions_per_5min=2)
    with start_sandbox(home=tmp_path, world="tiny", seed=1, speed=0, xrpc_limits=limits) as s:
        token = s.create_account("busy")
        client = Client(base_url=s.xrpc_url)
        client.login("busy", token)
        first = client.send_post("one")  # 3 points
        client.send_post("two")  # 6 points
        with pytest.raises(sdk.RateLimitExceededError) as err:  # a third create would be 9
            client.send_post("three")
        assert _error(err.value) == (429, "RateLimitExceeded")
        assert err.value.policy == "7;w=3600" and err.value.remaining == 1
        assert err.value.reset_at is not None
        assert client.delete_post(first.uri)  # a delete costs 1: it still fits
        with pytest.raises(sdk.RateLimitExceededError):
            client.delete_post(first.uri)
        Client(base_url=s.xrpc_url).login("busy", token)  # the second login of 5 minutes
        with pytest.raises(sdk.RateLimitExceededError) as err:
            Client(base_url=s.xrpc_url).login("busy", token)
        assert err.value.policy == "2;w=300"
