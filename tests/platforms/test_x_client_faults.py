"""The X client against a scripted loopback server: rate limits, retries, bad bodies, budgets,
policy, and publish reconciliation."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from vibeforge.platforms.auth import BearerAuth
from vibeforge.platforms.base import (
    AuthError,
    BudgetExceeded,
    Forbidden,
    NotFound,
    PlatformError,
    RateLimited,
)
from vibeforge.platforms.ledger import Budgets, CallLedger
from vibeforge.platforms.x import XClient


def _tweet(
    i: int,
    text: str = "hello",
    likes: int = 1,
    key: str = "retweet_count",
    age_min: float | None = None,
) -> dict:
    created = datetime.now(UTC) - timedelta(minutes=i if age_min is None else age_min)
    return {
        "id": str(i),
        "text": text,
        "author_id": "42",
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "public_metrics": {key: 3, "reply_count": 1, "like_count": likes, "quote_count": 0},
    }


def _client(server, **kw) -> XClient:
    sleeps: list[float] = []
    kw.setdefault("sleep", sleeps.append)
    client = XClient(base_url=server.url, auth=BearerAuth("app-token"), backoff_s=0.001, **kw)
    client.sleeps = sleeps  # type: ignore[attr-defined]
    return client


def test_429_waits_until_reset_then_succeeds(scripted, reply) -> None:
    reset = int(time.time()) + 5
    scripted.script(
        "GET",
        "/2/tweets",
        reply(
            429, {"title": "Too Many Requests", "status": 429}, {"x-rate-limit-reset": str(reset)}
        ),
        reply(200, {"data": [_tweet(1)]}),
    )
    client = _client(scripted, on_rate_limit="wait")
    assert list(client.metrics(post_ids=["1"])) == ["1"]
    assert len(client.sleeps) == 1 and 3 <= client.sleeps[0] <= 7


def test_429_raises_with_reset_time_when_asked(scripted, reply) -> None:
    reset = int(time.time()) + 120
    scripted.script(
        "GET",
        "/2/tweets",
        reply(429, {"title": "Too Many Requests"}, {"x-rate-limit-reset": str(reset)}),
    )
    client = _client(scripted, on_rate_limit="raise")
    with pytest.raises(RateLimited) as info:
        client.metrics(post_ids=["1"])
    assert info.value.reset_at == datetime.fromtimestamp(reset, UTC)


def test_spent_window_is_respected_before_sending(scripted, reply) -> None:
    reset = int(time.time()) + 300
    headers = {
        "x-rate-limit-limit": "1",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(reset),
    }
    scripted.script("GET", "/2/tweets", reply(200, {"data": [_tweet(1)]}, headers))
    client = _client(scripted, on_rate_limit="raise")
    client.metrics(post_ids=["1"])
    with pytest.raises(RateLimited):
        client.metrics(post_ids=["1"])
    assert scripted.count("GET", "/2/tweets") == 1  # the second call never left the client


def test_5xx_and_dropped_connections_are_retried_boundedly(scripted, reply) -> None:
    scripted.script(
        "GET", "/2/tweets", reply(503, {}), reply(drop=True), reply(200, {"data": [_tweet(2)]})
    )
    client = _client(scripted, retries=3)
    assert list(client.metrics(post_ids=["2"])) == ["2"]
    assert scripted.count("GET", "/2/tweets") == 3
    scripted.script("GET", "/2/tweets", reply(500, {}))
    with pytest.raises(PlatformError, match="server error HTTP 500"):
        _client(scripted, retries=2).metrics(post_ids=["2"])


def test_4xx_is_not_retried_and_is_typed(scripted, reply) -> None:
    scripted.script(
        "GET",
        "/2/users/by/username/ghost",
        reply(404, {"title": "Not Found Error", "detail": "no"}),
    )
    scripted.script(
        "GET", "/2/users/by/username/locked", reply(401, {"title": "Unauthorized", "status": 401})
    )
    scripted.script(
        "GET",
        "/2/users/by/username/bad",
        reply(400, {"errors": [{"message": "bad username"}], "title": "Invalid"}),
    )
    client = _client(scripted)
    with pytest.raises(NotFound):
        client.account(handle="ghost")
    with pytest.raises(AuthError):
        client.account(handle="locked")
    with pytest.raises(PlatformError, match="Invalid"):
        client.account(handle="bad")
    assert scripted.count("GET", "/2/users/by/username/ghost") == 1


def test_malformed_json_and_oversize_bodies_are_clear_errors(scripted, reply) -> None:
    scripted.script("GET", "/2/tweets", reply(200, b"{not json"))
    with pytest.raises(PlatformError, match="malformed API JSON"):
        _client(scripted).metrics(post_ids=["1"])
    scripted.script("GET", "/2/tweets", reply(200, {"data": [{"id": 5, "text": "numeric id"}]}))
    with pytest.raises(PlatformError, match="string id"):
        _client(scripted).metrics(post_ids=["1"])
    scripted.script("GET", "/2/tweets", reply(200, {"data": [_tweet(1, text="x" * 5000)]}))
    with pytest.raises(PlatformError, match="cap"):
        _client(scripted, max_response_bytes=1000).metrics(post_ids=["1"])


def test_both_field_spellings_parse_the_same(scripted, reply) -> None:
    scripted.script(
        "GET", "/2/tweets", reply(200, {"data": [_tweet(1), _tweet(2, key="repost_count")]})
    )
    client = _client(scripted, fields_param="post.fields")
    metrics = client.metrics(post_ids=["1", "2"])
    assert metrics["1"].repost_count == metrics["2"].repost_count == 3
    assert "post.fields" in scripted.seen[-1].query


def test_metrics_are_batched_by_100(scripted, reply) -> None:
    scripted.script(
        "GET",
        "/2/tweets",
        lambda seen: reply(
            200, {"data": [_tweet(int(i)) for i in seen.query["ids"][0].split(",")]}
        ),
    )
    ids = [str(i) for i in range(1, 251)]
    assert len(_client(scripted).metrics(post_ids=ids)) == 250
    sizes = [len(s.query["ids"][0].split(",")) for s in scripted.seen]
    assert sizes == [100, 100, 50]


def test_budgets_refuse_before_sending(scripted, reply) -> None:
    scripted.script("GET", "/2/tweets", reply(200, {"data": [_tweet(1)]}))
    ledger = CallLedger(budgets=Budgets(per_bot_usd=0.5))
    client = _client(scripted, ledger=ledger).for_bot("sky")
    client.metrics(post_ids=[str(i) for i in range(1, 90)])  # checked at 89 × $0.005 = $0.445
    assert ledger.spent(bot="sky") == pytest.approx(0.005)  # charged for the one post returned
    with pytest.raises(BudgetExceeded, match="daily budget"):
        client.metrics(post_ids=[str(i) for i in range(1, 101)])  # $0.50 + $0.005 > $0.50
    assert scripted.count("GET", "/2/tweets") == 1


def test_publish_reconciles_after_a_lost_answer(scripted, reply) -> None:
    posted: list[dict] = []

    def create(seen) -> object:
        import json

        posted.append(json.loads(seen.body))
        return reply(drop=True)  # the post lands, the answer is lost

    scripted.script("POST", "/2/tweets", create)
    scripted.script(
        "GET",
        "/2/users/by/username/skybot",
        reply(200, {"data": {"id": "42", "username": "skybot", "name": "s"}}),
    )
    scripted.script(
        "GET",
        "/2/users/42/tweets",
        lambda seen: reply(200, {"data": [_tweet(7, text=posted[-1]["text"], age_min=0)]}),
    )
    client = _client(scripted, user_auth={"skybot": BearerAuth("42-secret")})
    ref = client.publish(account="skybot", text="Delays again http://t.co/x", idempotency_key="k1")
    assert ref.id == "7"
    assert len(posted) == 1 and posted[0]["made_with_ai"] is True
    assert client.ledger.entries()[-1].kind == "post_create_with_url"


def test_publish_retries_only_when_reconciliation_finds_nothing(scripted, reply) -> None:
    scripted.script(
        "POST", "/2/tweets", reply(503, {}), reply(201, {"data": {"id": "99", "text": "hi"}})
    )
    scripted.script(
        "GET",
        "/2/users/by/username/skybot",
        reply(200, {"data": {"id": "42", "username": "skybot"}}),
    )
    scripted.script(
        "GET", "/2/users/42/tweets", reply(200, {"data": [], "meta": {"result_count": 0}})
    )
    client = _client(scripted, user_auth={"skybot": BearerAuth("42-secret")})
    assert client.publish(account="skybot", text="hi", idempotency_key="k").id == "99"
    assert scripted.count("POST", "/2/tweets") == 2
    assert scripted.count("GET", "/2/users/42/tweets") == 1  # looked before sending again


def test_publish_needs_user_auth_and_respects_reply_policy(scripted, reply) -> None:
    client = _client(scripted, user_auth={"skybot": BearerAuth("42-secret")})
    with pytest.raises(AuthError, match="no user credentials"):
        client.publish(account="other", text="x", idempotency_key="k")
    scripted.script(
        "GET", "/2/tweets", reply(200, {"data": [_tweet(3, text="nothing to do with bots")]})
    )
    with pytest.raises(Forbidden, match="policy"):
        client.publish(account="skybot", text="x", idempotency_key="k", reply_to="3")
    scripted.script(
        "GET", "/2/tweets", reply(200, {"data": [_tweet(3, text="hey @SkyBot what now?")]})
    )
    scripted.script("POST", "/2/tweets", reply(201, {"data": {"id": "100", "text": "x"}}))
    assert client.publish(account="skybot", text="x", idempotency_key="k", reply_to="3").id == "100"
