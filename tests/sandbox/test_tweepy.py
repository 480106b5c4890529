"""tweepy's Client, unchanged, against the sandbox (a transport adapter rewrites its host)."""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Iterator

import pytest

from vibeforge.sandbox.limits import RateLimits
from vibeforge.sandbox.server import RunningSandbox, start_sandbox
from vibeforge.sandbox.tweepy_adapter import attach

tweepy = pytest.importorskip("tweepy")


def client(sandbox: RunningSandbox, token: str, **kwargs) -> tweepy.Client:  # type: ignore[no-untyped-def]
    return attach(tweepy.Client(bearer_token=token, **kwargs), sandbox.base_url)


def test_create_and_read_metrics(sandbox: RunningSandbox) -> None:
    token = sandbox.create_account("tweepybot", niche="apple", followers=300)
    c = client(sandbox, token)
    created = c.create_tweet(text="Which iPhone feature do you use most?", user_auth=False)
    post_id = created.data["id"]
    sandbox.advance(hours=6)
    got = c.get_tweets([post_id], tweet_fields=["public_metrics", "created_at"], user_auth=False)
    assert got.data[0].id == int(post_id)
    assert got.data[0].public_metrics["impression_count"] > 0
    me = c.get_me(user_auth=False)
    assert me.data.username == "tweepybot"
    with pytest.raises(tweepy.Forbidden):
        client(sandbox, sandbox.app_token).create_tweet(
            text="app tokens cannot post", user_auth=False
        )
    with pytest.raises(tweepy.BadRequest):
        c.create_tweet(text="x" * 300, user_auth=False)


def test_paginator_over_user_and_list_timelines(sandbox: RunningSandbox) -> None:
    sandbox.advance(hours=96)  # more of the humans' scheduled posts are out
    c = client(sandbox, sandbox.app_token)
    list_id = sandbox.list_ids()["airlines"]
    ids = [
        t.id for t in tweepy.Paginator(c.get_list_tweets, list_id, max_results=10).flatten(limit=25)
    ]
    assert len(ids) == 25 and len(set(ids)) == 25 and ids == sorted(ids, reverse=True)
    member = c.get_list_members(list_id).data[0]
    pages = list(tweepy.Paginator(c.get_users_tweets, member.id, max_results=5, limit=3))
    assert len(pages) == 3 and all(len(p.data) == 5 for p in pages)
    flat = [t.id for p in pages for t in p.data]
    assert len(set(flat)) == 15


def test_wait_on_rate_limit_across_a_429(tmp_path) -> None:  # type: ignore[no-untyped-def]
    limits = RateLimits(window_s=2.0, overrides={"GET /2/users/me": (3, 0)})
    with start_sandbox(
        home=tmp_path,
        world="tiny",
        seed=0,
        speed=0,
        members_per_niche=200,
        tweets_per_niche=20,
        limits=limits,
    ) as sb:
        token = sb.create_account("patient")
        impatient = client(sb, token)
        for _ in range(3):
            impatient.get_me(user_auth=False)
        with pytest.raises(tweepy.TooManyRequests) as info:
            impatient.get_me(user_auth=False)
        assert int(info.value.response.headers["x-rate-limit-remaining"]) == 0
        assert info.value.response.json()["status"] == 429
        patient = client(sb, token, wait_on_rate_limit=True)
        start = time.monotonic()
        assert patient.get_me(user_auth=False).data.username == "patient"
        assert time.monotonic() - start > 0.5  # it slept until the window reset


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """Two days into a tiny world; limits scaled so paging followers is not throttled."""
    home = tmp_path_factory.mktemp("tweepy-reads")
    with start_sandbox(
        home=home, world="tiny", seed=0, speed=0, limits=RateLimits(scale=100)
    ) as sb:
        sb.advance(hours=48)
        yield sb


def most_liked(sb: RunningSandbox) -> tuple[int, dict[str, int]]:
    rows = sb.world.store.all(
        "SELECT id FROM posts WHERE author_id IN (SELECT id FROM users WHERE kind = 'human') "
        "AND created_ms <= ?",
        (sb.world.now_ms(),),
    )
    shown = sb.world.metrics([r[0] for r in rows])
    pid = max(shown, key=lambda i: (shown[i]["like"], shown[i]["repost"]))
    return pid, shown[pid]


def test_likers_reposters_and_quotes_in_tweepys_vocabulary(busy: RunningSandbox) -> None:
    pid, counts = most_liked(busy)
    c = client(busy, busy.create_account("tweepyliker", niche="airlines"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # tweepy warns without its default field
        tweet = c.get_tweet(pid, tweet_fields=["public_metrics"], user_auth=False).data
    # tweet.fields: the older vocabulary
    assert tweet.public_metrics["retweet_count"] == counts["repost"]
    assert "repost_count" not in tweet.public_metrics
    assert tweet.edit_history_tweet_ids == [pid]
    likers = list(
        tweepy.Paginator(c.get_liking_users, pid, max_results=10, user_auth=False).flatten()
    )
    assert len(likers) == len({u.id for u in likers}) == tweet.public_metrics["like_count"]
    assert all(u.username.startswith("member") for u in likers)
    reposters = list(tweepy.Paginator(c.get_retweeters, pid, max_results=2).flatten())
    assert len({u.id for u in reposters}) == len(reposters) == counts["repost"]

    assert c.like(pid, user_auth=False).data == {"liked": True}
    assert c.retweet(pid, user_auth=False).data["retweeted"] is True
    after = c.get_tweet(pid, tweet_fields=["public_metrics"], user_auth=False).data
    assert after.public_metrics["like_count"] == counts["like"] + 1
    assert after.public_metrics["retweet_count"] == counts["repost"] + 1
    assert c.get_liking_users(pid, max_results=1).data[0].username == "tweepyliker"
    me = c.get_me(user_auth=False).data.id
    assert [t.id for t in c.get_liked_tweets(me, user_auth=False).data] == [pid]
    assert c.unlike(pid, user_auth=False).data == {"liked": False}
    assert c.unretweet(pid, user_auth=False).data == {"retweeted": False}
    assert c.get_liking_users(pid, max_results=1).data[0].username != "tweepyliker"

    quote = c.create_tweet(text="Still the best airline story", quote_tweet_id=pid, user_auth=False)
    quotes = c.get_quote_tweets(
        pid, expansions=["referenced_tweets.id"], tweet_fields=["referenced_tweets"]
    )
    assert [t.id for t in quotes.data] == [int(quote.data["id"])]
    assert quotes.data[0].referenced_tweets[0].type == "quoted"
    assert [t.id for t in quotes.includes["tweets"]] == [pid]


def test_search_mentions_and_follows(busy: RunningSandbox) -> None:
    c = client(busy, busy.create_account("tweepysearch", niche="apple", followers=120))
    human = c.get_list_members(busy.list_ids()["apple"]).data[0]
    c.create_tweet(text=f"@{human.username} which iPhone has the best camera?", user_auth=False)
    c.create_tweet(text="iPhone camera review https://example.com/cam", user_auth=False)
    found = c.search_recent_tweets(
        "from:tweepysearch has:links -is:retweet", tweet_fields=["author_id"]
    ).data
    assert [t.text for t in found] == ["iPhone camera review https://example.com/cam"]
    phrase = c.search_recent_tweets('"best camera" from:tweepysearch').data
    assert len(phrase) == 1 and phrase[0].text.startswith(f"@{human.username}")
    either = list(
        tweepy.Paginator(
            c.search_recent_tweets, "(apple OR iphone) lang:en", max_results=10
        ).flatten()
    )
    assert len(either) > 10 and len({t.id for t in either}) == len(either)
    assert all(re.search(r"\b(apple|iphone)\b", t.text.lower()) for t in either)
    with pytest.raises(tweepy.BadRequest):
        c.search_recent_tweets("is:reply")  # narrows nothing on its own

    mentions = c.get_users_mentions(human.id).data
    assert mentions[0].text.startswith(f"@{human.username}")

    me = c.get_me(user_auth=False, user_fields=["public_metrics"]).data
    followers = list(tweepy.Paginator(c.get_users_followers, me.id, max_results=50).flatten())
    assert len(followers) == len({u.id for u in followers}) == 120
    assert me.public_metrics["followers_count"] == 120
    assert "tweet_count" in me.public_metrics or "post_count" in me.public_metrics
    following = c.get_users_following(me.id).data
    assert {u.id for u in following} == {
        u.id for u in c.get_list_members(busy.list_ids()["apple"]).data
    }
    looked_up = c.get_users(ids=[me.id, followers[0].id]).data
    assert [u.username for u in looked_up] == ["tweepysearch", followers[0].username]
    assert c.get_user(username=followers[0].username).data.id == followers[0].id


def test_home_timeline_user_lookups_and_delete(busy: RunningSandbox) -> None:
    c = client(busy, busy.create_account("tweepyhome", niche="airlines"))
    home = c.get_home_timeline(max_results=10, tweet_fields=["author_id"], user_auth=False)
    humans = {u.id for u in c.get_list_members(busy.list_ids()["airlines"]).data}
    assert len(home.data) == 10 and {t.author_id for t in home.data} <= humans
    first = home.data[0].author_id
    assert c.get_user(id=first, user_fields=["public_metrics"]).data.id == first
    posted = c.create_tweet(text="Short-lived thoughts on boarding groups", user_auth=False)
    pid = int(posted.data["id"])
    assert c.get_tweet(pid).data.text == "Short-lived thoughts on boarding groups"
    assert c.delete_tweet(pid, user_auth=False).data == {"deleted": True}
    gone = c.get_tweet(pid)
    assert gone.data is None and gone.errors[0]["title"] == "Not Found Error"
