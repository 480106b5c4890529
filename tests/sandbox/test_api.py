"""The X API v2 surface: shapes, pagination, auth and errors, against a real server."""

from __future__ import annotations

import httpx
import pytest
from tests.sandbox.conftest import bearer

from vibeforge.sandbox.server import RunningSandbox, start_sandbox


def test_post_then_read_back_with_metrics_and_expansions(
    sandbox: RunningSandbox, http: httpx.Client
) -> None:
    token = sandbox.create_account("poster", niche="airlines")
    r = http.post(
        "/2/tweets",
        json={"text": "Is anyone else stuck at the gate tonight?", "made_with_ai": True},
        headers=bearer(token),
    )
    assert r.status_code == 201
    for name in ("x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"):
        assert name in r.headers
    post_id = r.json()["data"]["id"]
    assert post_id.isdigit() and r.json()["data"]["edit_history_post_ids"] == [post_id]
    assert r.json()["data"]["edit_history_tweet_ids"] == [post_id]  # tweepy's name, kept

    q = {
        "ids": post_id,
        "post.fields": "public_metrics,created_at,author_id,non_public_metrics",
        "expansions": "author_id",
        "user.fields": "public_metrics",
    }
    own = http.get("/2/tweets", params=q, headers=bearer(token)).json()
    post = own["data"][0]
    assert set(post["public_metrics"]) == {  # post.fields: spec 2.167's names
        "repost_count",
        "reply_count",
        "like_count",
        "quote_count",
        "bookmark_count",
        "impression_count",
    }
    assert post["made_with_ai"] is True and "non_public_metrics" in post
    assert own["includes"]["users"][0]["username"] == "poster"

    other = http.get("/2/tweets", params=q, headers=bearer(sandbox.app_token)).json()
    assert "non_public_metrics" not in other["data"][0]
    assert other["errors"][0]["title"] == "Field Authorization Error"

    one = http.get(f"/2/tweets/{post_id}", headers=bearer(token)).json()
    assert one["data"]["text"] == "Is anyone else stuck at the gate tonight?"


def test_list_timeline_paginates_newest_first_without_overlap(
    sandbox: RunningSandbox, http: httpx.Client
) -> None:
    list_id = sandbox.list_ids()["apple"]
    seen: list[int] = []
    params: dict[str, str | int] = {"max_results": 5}
    for _ in range(4):
        body = http.get(
            f"/2/lists/{list_id}/tweets", params=params, headers=bearer(sandbox.app_token)
        ).json()
        ids = [int(p["id"]) for p in body["data"]]
        assert ids == sorted(ids, reverse=True)
        assert body["meta"]["result_count"] == len(ids) == 5
        assert body["meta"]["newest_id"] == str(ids[0]) and body["meta"]["oldest_id"] == str(
            ids[-1]
        )
        seen += ids
        params["pagination_token"] = body["meta"]["next_token"]
    assert len(seen) == len(set(seen)) and seen == sorted(seen, reverse=True)

    # X's List timeline takes no since_id or until_id (spec 2.167): a 400, as X answers
    refused = http.get(
        f"/2/lists/{list_id}/tweets",
        params={"since_id": seen[3]},
        headers=bearer(sandbox.app_token),
    )
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["parameters"] == {"since_id": [str(seen[3])]}

    members = http.get(f"/2/lists/{list_id}/members", headers=bearer(sandbox.app_token)).json()
    assert members["meta"]["result_count"] == 4


def test_user_timeline_windows_by_since_and_until_id(
    sandbox: RunningSandbox, http: httpx.Client
) -> None:
    human = sandbox.world.store.one(  # the human with the most posts out so far
        "SELECT author_id FROM posts WHERE created_ms <= ? AND author_id IN "
        "(SELECT id FROM users WHERE kind = 'human') GROUP BY author_id ORDER BY COUNT(*) DESC",
        (sandbox.world.now_ms(),),
    )[0]
    path = f"/2/users/{human}/tweets"
    seen = [
        int(p["id"])
        for p in http.get(
            path, params={"max_results": 10}, headers=bearer(sandbox.app_token)
        ).json()["data"]
    ]
    assert len(seen) == 10
    newer = http.get(path, params={"since_id": seen[3]}, headers=bearer(sandbox.app_token)).json()
    assert [int(p["id"]) for p in newer["data"]] == seen[:3]
    older = http.get(
        path, params={"until_id": seen[3], "max_results": 5}, headers=bearer(sandbox.app_token)
    ).json()
    assert [int(p["id"]) for p in older["data"]] == seen[4:9]


def test_scheduled_posts_appear_only_as_the_clock_moves(
    sandbox: RunningSandbox, http: httpx.Client
) -> None:
    token = sandbox.create_account("clockwatcher", niche="airlines")  # follows the humans
    me = http.get("/2/users/me", headers=bearer(token)).json()["data"]["id"]
    path = f"/2/users/{me}/timelines/reverse_chronological"
    before = http.get(path, params={"max_results": 100}, headers=bearer(token)).json()
    newest = before["meta"]["newest_id"]
    again = http.get(path, params={"since_id": newest}, headers=bearer(token)).json()
    assert again["meta"]["result_count"] == 0
    sandbox.advance(hours=24)
    after = http.get(path, params={"since_id": newest}, headers=bearer(token)).json()
    assert after["meta"]["result_count"] > 0


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("POST", "/2/tweets", {"json": {"text": "x" * 281}}, 400),
        ("POST", "/2/tweets", {"json": {"text": "漢" * 141}}, 400),  # weighted 282
        ("POST", "/2/tweets", {"content": b"{not json"}, 400),
        ("POST", "/2/tweets", {"content": b'{"text": "\\ud800 lone surrogate"}'}, 400),
        ("POST", "/2/tweets", {"content": b'{"text": "\xff\xfe"}'}, 400),
        ("GET", "/2/users/1000001/tweets", {"params": {"max_results": 4}}, 400),
        ("GET", "/2/users/1000001/tweets", {"params": {"start_time": "yesterday"}}, 400),
        ("GET", "/2/users/1000001/tweets", {"params": {"exclude": "likes"}}, 400),
        ("POST", "/2/tweets", {"json": {"text": ""}}, 400),
        (
            "POST",
            "/2/tweets",
            {"json": {"text": "hi", "reply": {"in_reply_to_tweet_id": "1"}}},
            403,
        ),
        ("GET", "/2/users/abc", {}, 400),
        ("GET", "/2/tweets", {"params": {"ids": ",".join(["1"] * 101)}}, 400),
        ("GET", "/2/lists/1500000/tweets", {"params": {"max_results": 1000}}, 400),
        ("GET", "/2/lists/1500000/tweets", {"params": {"pagination_token": "!!"}}, 400),
        ("GET", "/2/lists/99/tweets", {}, 404),
        ("GET", "/2/nothing/here", {}, 404),
    ],
)
def test_bad_input_gets_x_error_shape_and_server_keeps_serving(
    sandbox: RunningSandbox, http: httpx.Client, method: str, path: str, kwargs: dict, status: int
) -> None:
    token = (
        sandbox.user_token("poster")
        if _has(sandbox, "poster")
        else sandbox.create_account("poster")
    )
    r = http.request(method, path, headers=bearer(token), **kwargs)
    assert r.status_code == status, r.text
    body = r.json()
    assert {"title", "detail", "type", "status"} <= set(body) and body["status"] == status
    if status == 400:
        assert body["errors"] and body["type"].endswith("invalid-request")
    assert http.get("/2/users/me", headers=bearer(token)).status_code == 200


def _has(sandbox: RunningSandbox, handle: str) -> bool:
    try:
        sandbox.user_token(handle)
        return True
    except Exception:
        return False


def test_weighted_length_counts_urls_as_23(sandbox: RunningSandbox, http: httpx.Client) -> None:
    token = sandbox.create_account("linker")
    text = "a" * 250 + " https://example.com/" + "x" * 200  # 251 + 23 weighted
    assert http.post("/2/tweets", json={"text": text}, headers=bearer(token)).status_code == 201
    assert (
        http.post("/2/tweets", json={"text": "b" * 280}, headers=bearer(token)).status_code == 201
    )


def test_unknown_ids_are_partial_errors(sandbox: RunningSandbox, http: httpx.Client) -> None:
    list_id = sandbox.list_ids()["apple"]
    real = http.get(
        f"/2/lists/{list_id}/tweets", params={"max_results": 1}, headers=bearer(sandbox.app_token)
    ).json()["data"][0]["id"]
    body = http.get(
        "/2/tweets", params={"ids": f"{real},42"}, headers=bearer(sandbox.app_token)
    ).json()
    assert [p["id"] for p in body["data"]] == [real]
    assert (
        body["errors"][0]["resource_id"] == "42" and body["errors"][0]["title"] == "Not Found Error"
    )
    user = http.get("/2/users/by/username/nobody_here", headers=bearer(sandbox.app_token)).json()
    assert "data" not in user and user["errors"][0]["resource_type"] == "user"


def test_auth_rules(sandbox: RunningSandbox, http: httpx.Client) -> None:
    assert http.get("/2/users/me").status_code == 401
    assert http.get("/2/users/me", headers=bearer("1000001-wrong")).json()["status"] == 401
    app = http.post("/2/tweets", json={"text": "from the app"}, headers=bearer(sandbox.app_token))
    assert app.status_code == 403 and app.json()["title"] == "Unsupported Authentication"
    assert http.get("/admin/world", headers=bearer(sandbox.app_token)).status_code == 403
    assert http.get("/admin/world", headers=bearer(sandbox.admin_token)).status_code == 200
    token = sandbox.create_account("deleter")
    oauth1 = {
        "Authorization": f'OAuth oauth_consumer_key="k", oauth_token="{token}", oauth_signature="s"'
    }
    me = http.get("/2/users/me", headers=oauth1).json()
    assert me["data"]["username"] == "deleter"
    post_id = http.post("/2/tweets", json={"text": "delete me"}, headers=oauth1).json()["data"][
        "id"
    ]
    again = http.post("/2/tweets", json={"text": "Delete me!"}, headers=oauth1)
    assert again.status_code == 403 and "duplicate" in again.json()["detail"]
    other = sandbox.create_account("thief")
    assert http.delete(f"/2/tweets/{post_id}", headers=bearer(other)).status_code == 403
    assert http.delete(f"/2/tweets/{post_id}", headers=oauth1).json() == {"data": {"deleted": True}}
    assert http.delete(f"/2/tweets/{post_id}", headers=oauth1).status_code == 404


def test_home_timeline_is_the_accounts_it_follows(
    sandbox: RunningSandbox, http: httpx.Client
) -> None:
    token = sandbox.create_account("homebody", niche="apple")
    uid = http.get("/2/users/me", headers=bearer(token)).json()["data"]["id"]
    body = http.get(
        f"/2/users/{uid}/timelines/reverse_chronological",
        params={"tweet.fields": "author_id", "max_results": 50},
        headers=bearer(token),
    ).json()
    members = {
        u["id"]
        for u in http.get(
            f"/2/lists/{sandbox.list_ids()['apple']}/members", headers=bearer(token)
        ).json()["data"]
    }
    assert body["data"] and {p["author_id"] for p in body["data"]} <= members
    assert (
        http.get(
            f"/2/users/{uid}/timelines/reverse_chronological",
            headers=bearer(sandbox.user_token("poster")),
        ).status_code
        == 403
    )


def test_restart_keeps_the_world(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with start_sandbox(home=tmp_path, world="tiny", seed=1, speed=0, members_per_niche=300) as sb:
        token = sb.create_account("keeper")
        with httpx.Client(base_url=sb.base_url) as c:
            pid = c.post("/2/tweets", json={"text": "still here?"}, headers=bearer(token)).json()[
                "data"
            ]["id"]
        sb.advance(hours=2)
    with start_sandbox(
        home=tmp_path, world="demo", seed=9, speed=0
    ) as sb:  # world kept, not reseeded
        assert sb.user_token("keeper") == token
        with httpx.Client(base_url=sb.base_url) as c:
            body = c.get(
                f"/2/tweets/{pid}", params={"tweet.fields": "created_at"}, headers=bearer(token)
            ).json()
            assert body["data"]["text"] == "still here?"
            world = c.get("/admin/world", headers=bearer(sb.admin_token)).json()
        assert world["world"]["name"] == "tiny" and world["now"] >= body["data"]["created_at"]


def test_replies_quotes_and_exclude(sandbox: RunningSandbox, http: httpx.Client) -> None:
    token = sandbox.create_account("replier", niche="apple")
    me = http.get("/2/users/me", headers=bearer(token)).json()["data"]["id"]
    root = http.post("/2/tweets", json={"text": "Which Mac should I buy?"}, headers=bearer(token))
    root_id = root.json()["data"]["id"]
    reply = http.post(
        "/2/tweets",
        json={"text": "Answering myself: the Air.", "reply": {"in_reply_to_tweet_id": root_id}},
        headers=bearer(token),
    ).json()["data"]["id"]
    quote = http.post(
        "/2/tweets", json={"text": "Quoting it", "quote_tweet_id": root_id}, headers=bearer(token)
    ).json()["data"]["id"]
    fields = {"tweet.fields": "referenced_tweets,conversation_id,in_reply_to_user_id"}
    got = http.get(
        "/2/tweets", params={"ids": f"{reply},{quote}", **fields}, headers=bearer(token)
    ).json()["data"]
    assert got[0]["referenced_tweets"] == [{"type": "replied_to", "id": root_id}]
    assert got[0]["in_reply_to_user_id"] == me and got[0]["conversation_id"] == root_id
    assert got[1]["referenced_tweets"] == [{"type": "quoted", "id": root_id}]
    all_posts = http.get(f"/2/users/{me}/tweets", headers=bearer(token)).json()["data"]
    no_replies = http.get(
        f"/2/users/{me}/tweets", params={"exclude": "replies"}, headers=bearer(token)
    ).json()["data"]
    assert {p["id"] for p in all_posts} - {p["id"] for p in no_replies} == {reply}
