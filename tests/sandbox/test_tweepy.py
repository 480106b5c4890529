"""tweepy's Client, unchanged, against the sandbox (a transport adapter rewrites its host)."""

from __future__ import annotations

import time

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
