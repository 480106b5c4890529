"""Reposts as posts of their own on the sandbox's X face, as X serves them: their own id,
author and time, `RT @author: text`, `referenced_tweets` type retweeted, in the reposter's
timeline (unless `exclude=retweets`), home timelines, Lists and search (`is:retweet`), gone
when undone or when the original goes; engagement stays the original's and the audience never
sees a repost as a new post. Driven with X's SDK (xdk), tweepy and plain HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from xdk import Client
from xdk.posts.models import CreateRequest
from xdk.users.models import LikePostRequest, RepostPostRequest

from vibeforge.sandbox.limits import RateLimits
from vibeforge.sandbox.reposts import repost_text
from vibeforge.sandbox.server import RunningSandbox, start_sandbox
from vibeforge.sandbox.tweepy_adapter import attach

tweepy = pytest.importorskip("tweepy")
NOT_FOUND = "https://api.x.com/2/problems/resource-not-found"


@pytest.fixture(scope="module")
def sb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    home: Path = tmp_path_factory.mktemp("reposts")
    with start_sandbox(
        home=home, world="tiny", seed=0, speed=0, limits=RateLimits(scale=100)
    ) as sandbox:
        sandbox.advance(hours=48)
        yield sandbox


def xdk_user(sb: RunningSandbox, token: str) -> Client:
    return Client(base_url=sb.base_url, access_token=token)


def tweepy_client(sb: RunningSandbox, token: str) -> Any:
    return attach(tweepy.Client(bearer_token=token), sb.base_url)


def http(sb: RunningSandbox, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=sb.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def a_human_post(sb: RunningSandbox, niche: str) -> tuple[str, str, str]:
    """(post id, author's username, text) of a visible human post of the niche, the newest."""
    row = sb.world.store.one(
        "SELECT p.id, u.username, p.text FROM posts p JOIN users u ON u.id = p.author_id "
        "WHERE u.kind = 'human' AND u.niche = ? AND p.deleted = 0 AND p.created_ms <= ? "
        "ORDER BY p.id DESC LIMIT 1",
        (niche, sb.world.now_ms()),
    )
    assert row is not None
    return str(row[0]), str(row[1]), str(row[2])


def list_member(sb: RunningSandbox, niche: str) -> tuple[str, str]:
    """(user id, username) of a human on the niche's List."""
    row = sb.world.store.one(
        "SELECT u.id, u.username FROM users u JOIN list_members m ON m.user_id = u.id "
        "JOIN lists l ON l.id = m.list_id WHERE l.niche = ? ORDER BY u.id LIMIT 1",
        (niche,),
    )
    assert row is not None
    return str(row[0]), str(row[1])


def test_a_repost_is_a_post_of_its_own_with_the_original_in_includes(sb: RunningSandbox) -> None:
    pid, author, text = a_human_post(sb, "airlines")
    c = xdk_user(sb, sb.create_account("rtfan", niche="airlines"))
    me = c.users.get_me().data.id
    reposts_before = c.posts.get_by_id(pid, post_fields=["public_metrics"]).data
    assert c.users.repost_post(me, RepostPostRequest(tweet_id=pid)).data.retweeted is True

    fields = ["referenced_posts", "created_at", "author_id", "public_metrics"]
    page = next(iter(c.users.get_posts(me, post_fields=fields, expansions=["referenced_posts.id"])))
    [repost] = page.data
    rid = repost.id
    assert rid != pid and int(rid) > int(pid)  # its own id, from the time of the repost
    assert repost.text == repost_text(author, text) and repost.text.startswith(f"RT @{author}: ")
    assert repost.author_id == me
    assert [(r.type, r.id) for r in repost.referenced_posts] == [("retweeted", pid)]
    counts = repost.public_metrics
    assert (counts.like_count, counts.repost_count, counts.impression_count) == (0, 0, 0)
    [original] = page.includes.posts
    assert original.id == pid and original.text == text
    assert original.public_metrics.repost_count == reposts_before.public_metrics.repost_count + 1

    one = c.posts.get_by_id(rid, post_fields=fields, expansions=["referenced_posts.id"])
    assert one.data.author_id == me and one.data.text == repost.text
    assert [p.id for p in one.includes.posts] == [pid]
    both = c.posts.get_by_ids([rid, pid], post_fields=["author_id"])
    assert [(p.id, p.author_id) for p in both.data] == [(rid, me), (pid, original.author_id)]
    mine = c.users.get_by_id(me, user_fields=["public_metrics"]).data.public_metrics
    assert mine.post_count == 1  # X counts an account's reposts among its posts

    def timeline(**kw: Any) -> list[str]:
        return [p.id for p in next(iter(c.users.get_posts(me, **kw))).data or []]

    assert timeline(exclude=["retweets"]) == []
    assert timeline(exclude=["replies"]) == [rid]
    own = c.posts.create(CreateRequest(text="Reposted the delay board, fair warning"))
    assert timeline() == [own.data.id, rid]  # newest first, posts and reposts together
    assert timeline(exclude=["retweets"]) == [own.data.id]

    assert c.users.unrepost_post(me, pid).data.retweeted is False
    assert timeline() == [own.data.id]
    gone = c.posts.get_by_id(rid)
    assert gone.data is None and gone.errors[0].type == NOT_FOUND
    back = c.posts.get_by_id(pid, post_fields=["public_metrics"]).data.public_metrics
    assert back.repost_count == reposts_before.public_metrics.repost_count


def test_lists_homes_and_search_see_reposts_and_a_deleted_original_takes_them(
    sb: RunningSandbox,
) -> None:
    bot_token = sb.create_account("rtsource", niche="apple")
    bot = tweepy_client(sb, bot_token)
    made = bot.create_tweet(
        text="Which MagSafe charger survives a week of travel?", user_auth=False
    )
    pid = str(made.data["id"])
    human_id, human = list_member(sb, "apple")
    h = tweepy_client(sb, sb.user_token(human))
    assert h.retweet(pid, user_auth=False).data["retweeted"] is True
    reader = tweepy_client(sb, sb.create_account("rtreader", niche="apple"))  # follows the humans

    listed = reader.get_list_tweets(
        sb.list_ids()["apple"],
        max_results=5,
        tweet_fields=["referenced_tweets", "author_id"],
        expansions=["referenced_tweets.id"],
    )
    repost = listed.data[0]  # the newest post of the List's members
    rid = str(repost.id)
    assert str(repost.author_id) == human_id and repost.text.startswith("RT @rtsource: ")
    assert [(r.type, str(r.id)) for r in repost.referenced_tweets] == [("retweeted", pid)]
    assert [str(t.id) for t in listed.includes["tweets"]] == [pid]

    home = reader.get_home_timeline(max_results=5, user_auth=False)
    assert str(home.data[0].id) == rid
    plain = reader.get_home_timeline(max_results=5, exclude=["retweets"], user_auth=False)
    assert rid not in {str(t.id) for t in plain.data}

    def search(query: str) -> list[str]:
        found = reader.search_recent_tweets(query, max_results=10).data or []
        return [str(t.id) for t in found]

    assert search(f"from:{human} is:retweet") == [rid]
    assert rid not in search(f"from:{human} -is:retweet")
    assert search("retweets_of:rtsource") == [rid]
    assert search("magsafe charger survives") == [rid, pid]  # the RT text holds the words
    assert search("magsafe charger survives -is:retweet") == [pid]

    assert bot.delete_tweet(pid, user_auth=False).data == {"deleted": True}
    assert search("magsafe charger survives") == []
    with http(sb, sb.app_token) as c:
        body = c.get(f"/2/tweets/{rid}").json()
    assert "data" not in body and body["errors"][0]["type"] == NOT_FOUND


def test_reposts_leave_the_audience_alone(sb: RunningSandbox) -> None:
    world = sb.world
    pid, _, _ = a_human_post(sb, "apple")
    world.flush()
    truth = world.truth(int(pid))
    posts = world.store.count("SELECT COUNT(*) FROM posts")
    indexed = world.index.n
    token = sb.create_account("rtquiet", niche="apple")
    uid = int(token.split("-")[0])
    with http(sb, token) as c:
        first = c.post(f"/2/users/{uid}/retweets", json={"tweet_id": pid})
        again = c.post(f"/2/users/{uid}/retweets", json={"tweet_id": pid})
        assert first.json() == again.json() == {"data": {"retweeted": True, "rest_id": pid}}
        [rid] = [p["id"] for p in c.get(f"/2/users/{uid}/tweets").json()["data"]]
        # liking (or reposting) a repost acts on the post it reposts, as on X
        liked = c.post(f"/2/users/{uid}/likes", json={"tweet_id": rid})
        assert liked.json() == {"data": {"liked": True}}
        assert c.get(f"/2/users/{uid}/liked_tweets").json()["data"][0]["id"] == pid

    # no new original: nothing to score, index, or count as the account's recent posts
    assert world.store.count("SELECT COUNT(*) FROM posts") == posts
    assert world.flush() == 0
    assert world.truth(int(rid)) is None and world.truth(int(pid)) == truth
    assert world.index.n == indexed
    assert world.metrics([int(rid)]) == {}
    sb.advance(hours=1)  # the clock moves on: still nothing to score
    assert world.flush() == 0


def test_a_long_post_is_cut_as_x_cuts_a_retweet(sb: RunningSandbox) -> None:
    long_text = (
        "Gate change again: " + "the board says B12, the app says C3, the crew says A1. " * 4
    )
    author = xdk_user(sb, sb.create_account("rtlong", niche="airlines"))
    pid = author.posts.create(CreateRequest(text=long_text.strip())).data.id
    token = sb.create_account("rtcutter", niche="airlines")
    uid = token.split("-")[0]
    with http(sb, token) as c:
        c.post(f"/2/users/{uid}/retweets", json={"tweet_id": pid}).raise_for_status()
        [repost] = c.get(f"/2/users/{uid}/tweets").json()["data"]
    assert len(repost["text"]) == 140 and repost["text"].endswith("…")
    assert repost["text"][:-1] == f"RT @rtlong: {long_text.strip()}"[:139]
    assert repost_text("a", "short") == "RT @a: short"


def test_deleting_a_repost_undoes_it_and_only_its_author_may(sb: RunningSandbox) -> None:
    pid, _, _ = a_human_post(sb, "airlines")
    token = sb.create_account("rtundo", niche="airlines")
    uid = token.split("-")[0]
    other = sb.create_account("rtother", niche="airlines")
    with http(sb, token) as c, http(sb, other) as o:
        c.post(f"/2/users/{uid}/retweets", json={"tweet_id": pid}).raise_for_status()
        [rid] = [p["id"] for p in c.get(f"/2/users/{uid}/tweets").json()["data"]]
        assert o.delete(f"/2/tweets/{rid}").status_code == 403
        assert c.delete(f"/2/tweets/{rid}").json() == {"data": {"deleted": True}}
        assert "data" not in c.get(f"/2/users/{uid}/tweets").json()
        reposters = c.get(f"/2/tweets/{pid}/retweeted_by").json().get("data") or []
        assert "rtundo" not in {u["username"] for u in reposters}
        xdk_user(sb, token).users.like_post(uid, LikePostRequest(tweet_id=pid))
        assert c.delete(f"/2/tweets/{rid}").status_code == 404  # nothing left to undo
