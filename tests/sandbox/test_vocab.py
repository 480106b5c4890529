"""The X face's vocabulary and door checks, over raw HTTP: spec 2.167's names for requests that
use them, the older names for requests that use those, errors as problem+json with types under
api.x.com, and the 400s X gives for parameters it does not take."""

from __future__ import annotations

import httpx
import pytest
from tests.sandbox.conftest import bearer

from vibeforge.sandbox.server import RunningSandbox

PROBLEMS = "https://api.x.com/2/problems/"


@pytest.fixture(scope="module")
def posted(sandbox: RunningSandbox, http: httpx.Client) -> dict[str, str]:
    """A bot's post and a reply to it, six hours old: {token, root, reply, user}."""
    token = sandbox.create_account("vocabbot", niche="airlines", followers=100)
    root = http.post(
        "/2/tweets", json={"text": "Which lounge is worth it at JFK?"}, headers=bearer(token)
    ).json()["data"]["id"]
    reply = http.post(
        "/2/tweets",
        json={"text": "Asking for a long layover", "reply": {"in_reply_to_tweet_id": root}},
        headers=bearer(token),
    ).json()["data"]["id"]
    sandbox.advance(hours=6)
    me = http.get("/2/users/me", headers=bearer(token)).json()["data"]["id"]
    return {"token": token, "root": root, "reply": reply, "user": me}


def test_post_fields_answer_in_the_current_vocabulary(
    http: httpx.Client, posted: dict[str, str]
) -> None:
    body = http.get(
        f"/2/tweets/{posted['reply']}",
        params={
            "post.fields": "public_metrics,referenced_posts,author_id",
            "expansions": "referenced_posts,author_id",
            "user.fields": "public_metrics",
        },
        headers=bearer(posted["token"]),
    ).json()
    post = body["data"]
    assert (
        "repost_count" in post["public_metrics"] and "retweet_count" not in post["public_metrics"]
    )
    assert post["referenced_posts"] == [{"type": "replied_to", "id": posted["root"]}]
    assert post["edit_history_post_ids"] == post["edit_history_tweet_ids"] == [posted["reply"]]
    assert [p["id"] for p in body["includes"]["posts"]] == [posted["root"]]
    user = body["includes"]["users"][0]["public_metrics"]
    assert user["post_count"] == 2 and "tweet_count" not in user


def test_tweet_fields_answer_in_the_older_vocabulary(
    http: httpx.Client, posted: dict[str, str]
) -> None:
    body = http.get(
        f"/2/tweets/{posted['reply']}",
        params={
            "tweet.fields": "public_metrics,referenced_tweets",
            "expansions": "referenced_tweets.id,author_id",
            "user.fields": "public_metrics",
        },
        headers=bearer(posted["token"]),
    ).json()
    post = body["data"]
    assert (
        "retweet_count" in post["public_metrics"] and "repost_count" not in post["public_metrics"]
    )
    assert post["referenced_tweets"] == [{"type": "replied_to", "id": posted["root"]}]
    assert [p["id"] for p in body["includes"]["tweets"]] == [posted["root"]]
    assert body["includes"]["users"][0]["public_metrics"]["tweet_count"] == 2


def test_partial_errors_inside_200s_use_the_current_problem_types(
    sandbox: RunningSandbox, http: httpx.Client, posted: dict[str, str]
) -> None:
    r = http.get(
        "/2/tweets",
        params={"ids": f"{posted['root']},42", "post.fields": "organic_metrics"},
        headers=bearer(sandbox.app_token),
    )
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    types = sorted(e["type"] for e in r.json()["errors"])
    assert types == [PROBLEMS + "not-authorized-for-field", PROBLEMS + "resource-not-found"]
    missing = http.get("/2/users/by/username/nobody_here", headers=bearer(sandbox.app_token))
    assert missing.json()["errors"][0]["type"] == PROBLEMS + "resource-not-found"


@pytest.mark.parametrize(
    ("path", "params", "parameter"),
    [
        ("/2/users/{user}/tweets", {"pagination_token": ""}, "pagination_token"),
        ("/2/users/{user}/tweets", {"post.fields": ""}, "post.fields"),
        ("/2/users/{user}/tweets", {"colour": "blue"}, "colour"),
        ("/2/users/{user}/tweets", {"post.fields": "public_metrics,mood"}, "post.fields"),
        ("/2/users/{user}/tweets", {"expansions": "pinned_post_id"}, "expansions"),
        ("/2/users/{user}/followers", {"since_id": "5"}, "since_id"),
        ("/2/users/{user}", {"max_results": "5"}, "max_results"),
        ("/2/tweets/{root}/retweeted_by", {"pagination_token": "not-a-cursor"}, "pagination_token"),
        ("/2/tweets/search/recent", {"query": "lounge", "max_results": "5"}, "max_results"),
        ("/2/tweets/search/recent", {"query": '"unclosed'}, "query"),
        ("/2/tweets/search/recent", {"query": "lounge", "sort_order": "best"}, "sort_order"),
        (
            "/2/tweets/search/recent",
            {"query": "x", "start_time": "2020-01-01T00:00:00Z"},
            "start_time",
        ),
    ],
)
def test_invalid_parameters_are_400_naming_the_parameter(
    sandbox: RunningSandbox,
    http: httpx.Client,
    posted: dict[str, str],
    path: str,
    params: dict[str, str],
    parameter: str,
) -> None:
    url = path.format(user=posted["user"], root=posted["root"])
    r = http.get(url, params=params, headers=bearer(sandbox.app_token))
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == PROBLEMS + "invalid-request" and body["status"] == 400
    assert body["parameter"] == parameter
    assert parameter in body["errors"][0]["parameters"]


def test_a_parameter_given_twice_is_400(
    sandbox: RunningSandbox, http: httpx.Client, posted: dict[str, str]
) -> None:
    r = http.get(
        f"/2/users/{posted['user']}/tweets?max_results=5&max_results=10",
        headers=bearer(sandbox.app_token),
    )
    assert r.status_code == 400 and r.json()["parameter"] == "max_results"


def test_user_context_operations_refuse_the_app_token(
    sandbox: RunningSandbox, http: httpx.Client, posted: dict[str, str]
) -> None:
    for method, path, kw in (
        ("GET", f"/2/tweets/{posted['root']}/liking_users", {}),
        ("POST", f"/2/users/{posted['user']}/likes", {"json": {"tweet_id": posted["root"]}}),
    ):
        r = http.request(method, path, headers=bearer(sandbox.app_token), **kw)
        assert r.status_code == 403
        assert r.json()["type"] == PROBLEMS + "unsupported-authentication"
    extra = http.post(
        f"/2/users/{posted['user']}/likes",
        json={"tweet_id": posted["root"], "also": 1},
        headers=bearer(posted["token"]),
    )
    assert extra.status_code == 400 and extra.json()["parameter"] == "also"
