"""The X client, fixed (the 2026 X API issue): bounded 429 waits, errors in a 200 body, the
app-only 403, handles and ids checked before they reach a path, and the server's clock.

Every test drives the real client against the scripted loopback server; none mocks it.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from vibeforge.domain import Timeline, TimelineKind
from vibeforge.platforms.auth import BearerAuth
from vibeforge.platforms.base import (
    AuthError,
    Forbidden,
    InvalidRequest,
    NotFound,
    PlatformError,
    RateLimited,
)
from vibeforge.platforms.x import XClient

PROBLEMS = "https://api.twitter.com/2/problems/"


def _client(server, **kw) -> XClient:
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:  # never really sleeps; a loop without end fails here
        sleeps.append(seconds)
        if len(sleeps) > 50:
            raise AssertionError(f"the client keeps waiting: {len(sleeps)} sleeps")

    kw.setdefault("sleep", sleep)
    client = XClient(base_url=server.url, auth=BearerAuth("app-token"), backoff_s=0.001, **kw)
    client.sleeps = sleeps  # type: ignore[attr-defined]
    return client


def _tweet(i: int, text: str = "hello", created: datetime | None = None) -> dict:
    created = created or datetime.now(UTC) - timedelta(minutes=i)
    return {
        "id": str(i),
        "text": text,
        "author_id": "42",
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 1},
    }


def _missing(kind: str, value: str) -> dict:
    """X's partial error for an unknown id, as it puts it in `errors[]`."""
    return {
        "value": value,
        "detail": f"Could not find {kind} with id: [{value}].",
        "title": "Not Found Error",
        "resource_type": kind,
        "parameter": "id",
        "resource_id": value,
        "type": PROBLEMS + "resource-not-found",
    }


# ---------------------------------------------------------------- 1. 429 waits are bounded


def test_429_with_a_reset_already_past_waits_a_bounded_number_of_times(scripted, reply) -> None:
    past = int(time.time()) - 30
    scripted.script(
        "GET",
        "/2/tweets",
        reply(429, {"title": "Too Many Requests"}, {"x-rate-limit-reset": str(past)}),
    )
    client = _client(scripted, on_rate_limit="wait")  # max_rate_limit_waits defaults to 3
    with pytest.raises(RateLimited) as info:
        client.metrics(post_ids=["1"])
    assert info.value.reset_at == datetime.fromtimestamp(past, UTC)
    assert "after 3 waits" in str(info.value)
    assert len(client.sleeps) == 3
    assert scripted.count("GET", "/2/tweets") == 4  # the first try and one after each wait

    scripted.seen.clear()
    one = _client(scripted, on_rate_limit="wait", max_rate_limit_waits=1)
    with pytest.raises(RateLimited):
        one.metrics(post_ids=["1"])
    assert len(one.sleeps) == 1 and scripted.count("GET", "/2/tweets") == 2


def test_429_waits_stop_when_their_total_would_pass_max_wait(scripted, reply) -> None:
    resets: list[int] = []

    def limited(seen) -> object:  # every answer: come back in 100 s
        resets.append(int(time.time()) + 100)
        return reply(429, {"title": "Too Many Requests"}, {"x-rate-limit-reset": str(resets[-1])})

    scripted.script("GET", "/2/tweets", limited)
    client = _client(scripted, on_rate_limit="wait", max_wait_s=250, max_rate_limit_waits=10)
    with pytest.raises(RateLimited) as info:
        client.metrics(post_ids=["1"])
    assert len(client.sleeps) == 2  # 2 × ~100 s; a third would pass 250 s in all
    assert sum(client.sleeps) <= 250
    assert info.value.reset_at == datetime.fromtimestamp(resets[-1], UTC)
    assert "250 s bound" in str(info.value)


def test_429_then_success_still_waits_once(scripted, reply) -> None:
    reset = int(time.time()) + 5
    scripted.script(
        "GET",
        "/2/tweets",
        reply(429, {"title": "Too Many Requests"}, {"x-rate-limit-reset": str(reset)}),
        reply(200, {"data": [_tweet(1)]}),
    )
    client = _client(scripted)
    assert list(client.metrics(post_ids=["1"])) == ["1"]
    assert len(client.sleeps) == 1


# ---------------------------------------------------------------- 2. errors in a 200 body


def test_an_unknown_users_timeline_is_not_found_not_empty(scripted, reply) -> None:
    scripted.script(
        "GET",
        "/2/users/by/username/ghostly",
        reply(200, {"data": {"id": "77", "username": "ghostly", "name": "g"}}),
    )
    scripted.script(
        "GET",
        "/2/users/77/tweets",
        reply(200, {"errors": [_missing("user", "77")], "meta": {"result_count": 0}}),
    )
    client = _client(scripted)
    with pytest.raises(NotFound, match="Could not find user") as info:
        client.timeline(source=Timeline(name="h", kind=TimelineKind.HANDLES, source="ghostly"))
    assert info.value.status == 404


def test_a_missing_list_is_not_found_on_its_timeline_and_members(scripted, reply) -> None:
    missing = {
        "errors": [
            {
                "title": "Not Found Error",
                "detail": "Could not find list with id: [123].",
                "type": PROBLEMS + "resource-not-found",
            }
        ]
    }
    scripted.script("GET", "/2/lists/123/tweets", reply(200, missing))
    scripted.script("GET", "/2/lists/123/members", reply(200, missing))
    client = _client(scripted)
    with pytest.raises(NotFound, match="list"):
        client.timeline(source=Timeline(name="l", kind=TimelineKind.LIST, source="123"))
    with pytest.raises(NotFound):
        client.list_members(list_id="123")
    assert client.ledger.entries() == []  # nothing was returned, nothing charged


def test_authorization_and_other_problems_in_a_200_are_typed(scripted, reply) -> None:
    scripted.script(
        "GET",
        "/2/lists/5/tweets",
        reply(
            200,
            {
                "errors": [
                    {
                        "title": "Authorization Error",
                        "detail": "Sorry, you are not authorized to see the list with id: [5].",
                        "type": PROBLEMS + "not-authorized-for-resource",
                    }
                ]
            },
        ),
    )
    scripted.script(
        "GET",
        "/2/lists/6/tweets",
        reply(200, {"errors": [{"title": "Generic Problem", "detail": "something else"}]}),
    )
    client = _client(scripted)
    with pytest.raises(Forbidden, match="not authorized"):
        client.timeline(source=Timeline(name="l", kind=TimelineKind.LIST, source="5"))
    with pytest.raises(PlatformError, match="something else") as info:
        client.timeline(source=Timeline(name="l", kind=TimelineKind.LIST, source="6"))
    assert not isinstance(info.value, NotFound | Forbidden | AuthError)


def test_multi_id_lookups_and_empty_timelines_keep_answering(scripted, reply) -> None:
    # every id deleted: X answers 200 with errors only; observing goes on with nothing
    scripted.script(
        "GET", "/2/tweets", reply(200, {"errors": [_missing("tweet", "8"), _missing("tweet", "9")]})
    )
    client = _client(scripted)
    assert client.get_posts(post_ids=["8", "9"]) == []
    assert client.metrics(post_ids=["8", "9"]) == {}
    # some deleted: what exists comes back
    scripted.script(
        "GET", "/2/tweets", reply(200, {"data": [_tweet(1)], "errors": [_missing("tweet", "9")]})
    )
    assert list(client.metrics(post_ids=["1", "9"])) == ["1"]
    # a List with no posts: no data, no errors
    scripted.script("GET", "/2/lists/7/tweets", reply(200, {"meta": {"result_count": 0}}))
    assert client.timeline(source=Timeline(name="l", kind=TimelineKind.LIST, source="7")) == []


# ---------------------------------------------------------------- 3. the app-only 403


def test_unsupported_authentication_is_an_auth_error_naming_the_fix(scripted, reply) -> None:
    app_only = {
        "title": "Unsupported Authentication",
        "detail": "Authenticating with OAuth 2.0 Application-Only is forbidden for this "
        "endpoint.  Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 "
        "User Context].",
        "type": PROBLEMS + "unsupported-authentication",
        "status": 403,
    }
    scripted.script("POST", "/2/tweets", reply(403, app_only))
    scripted.script("GET", "/2/users/me", reply(403, app_only))
    client = _client(scripted, user_auth={"skybot": BearerAuth("the-app-token-by-mistake")})
    with pytest.raises(AuthError, match="run 'vibeforge auth x skybot'") as info:
        client.publish(account="skybot", text="hello", idempotency_key="k")
    assert info.value.status == 403 and "user token" in str(info.value)
    assert scripted.count("POST", "/2/tweets") == 1  # not retried, nothing to reconcile
    with pytest.raises(AuthError, match="vibeforge auth x"):
        client.me(account="skybot")
    # any other 403 stays Forbidden
    scripted.script(
        "POST",
        "/2/tweets",
        reply(403, {"title": "Forbidden", "detail": "You are not allowed to do that."}),
    )
    with pytest.raises(Forbidden):
        client.publish(account="skybot", text="hello again", idempotency_key="k2")


# ---------------------------------------------------------------- 4. handles and ids


@pytest.mark.parametrize(
    "handle",
    ["../admin", "a/b", "sky bot", "", "@", "@@skybot", "sixteen_chars_xx", "bøt", "bot\n", "a?b"],
)
def test_bad_handles_are_refused_before_anything_is_sent(scripted, handle) -> None:
    client = _client(scripted, user_auth={handle.lower(): BearerAuth("t")})
    calls = [
        lambda: client.account(handle=handle),
        lambda: client.user_id(handle),
        lambda: client.timeline(source=Timeline(name="h", kind=TimelineKind.HOME, source=handle)),
        lambda: client.publish(account=handle, text="hi", idempotency_key="k"),
    ]
    for call in calls:
        with pytest.raises(InvalidRequest, match="invalid X handle") as info:
            call()
        assert isinstance(info.value, ValueError) and info.value.status == 400
    assert scripted.seen == []


def test_a_timeline_of_handles_checks_them_all_before_the_first_call(scripted) -> None:
    client = _client(scripted)
    with pytest.raises(InvalidRequest, match="'a/b'"):
        client.timeline(source=Timeline(name="h", kind=TimelineKind.HANDLES, source="okbot,a/b"))
    assert scripted.seen == []


@pytest.mark.parametrize("bad", ["1/../../2/users/me", "abc", "12?x=1", "", "1 2", "٣", "1" * 20])
def test_bad_ids_are_refused_before_anything_is_sent(scripted, bad) -> None:
    client = _client(scripted, user_auth={"skybot": BearerAuth("t")})
    calls = [
        lambda: client.timeline(source=Timeline(name="l", kind=TimelineKind.LIST, source=bad)),
        lambda: client.list_members(list_id=bad),
        lambda: client.get_posts(post_ids=["1", bad]),
        lambda: client.delete(account="skybot", post_id=bad),
        lambda: client.publish(account="skybot", text="hi", idempotency_key="k", reply_to=bad),
    ]
    for call in calls:
        with pytest.raises(InvalidRequest, match="invalid X"):
            call()
    assert scripted.seen == []


def test_good_handles_and_ids_still_go_through(scripted, reply) -> None:
    scripted.script(
        "GET",
        "/2/users/by/username/Sky_Bot_2026",
        reply(200, {"data": {"id": "42", "username": "Sky_Bot_2026", "name": "s"}}),
    )
    scripted.script(
        "DELETE", "/2/tweets/1234567890123456789", reply(200, {"data": {"deleted": True}})
    )
    client = _client(scripted, user_auth={"skybot": BearerAuth("t")})
    assert client.account(handle="@Sky_Bot_2026").id == "42"
    assert client.delete(account="skybot", post_id="1234567890123456789")


def test_a_user_id_that_is_not_a_number_never_reaches_a_path(scripted, reply) -> None:
    scripted.script(
        "GET",
        "/2/users/by/username/evil",
        reply(200, {"data": {"id": "../../admin", "username": "evil", "name": "e"}}),
    )
    client = _client(scripted)
    with pytest.raises(PlatformError, match="not a number"):
        client.timeline(source=Timeline(name="h", kind=TimelineKind.HANDLES, source="evil"))
    assert [s.path for s in scripted.seen] == ["/2/users/by/username/evil"]


# ---------------------------------------------------------------- 6. the platform's clock


def _dated(reply, skew: timedelta, status: int, body: dict):  # type: ignore[no-untyped-def]
    """A reply stamped with a server clock `skew` off the local one, at answer time."""
    return lambda seen: reply(
        status, body, {"Date": format_datetime(datetime.now(UTC) + skew, usegmt=True)}
    )


def test_now_follows_the_servers_date_header(scripted, reply) -> None:
    ahead = timedelta(hours=5)
    scripted.script(
        "GET",
        "/2/users/by/username/skybot",
        _dated(reply, ahead, 200, {"data": {"id": "42", "username": "skybot", "name": "s"}}),
    )
    client = _client(scripted)
    client.account(handle="skybot")
    assert abs(client.now() - (datetime.now(UTC) + ahead)) < timedelta(seconds=3)
    assert abs(client.for_bot("sky").now() - (datetime.now(UTC) + ahead)) < timedelta(seconds=3)
    # a Date within its own resolution of the local clock changes nothing
    scripted.script(
        "GET",
        "/2/users/by/username/skybot",
        _dated(reply, timedelta(0), 200, {"data": {"id": "42", "username": "skybot"}}),
    )
    client.account(handle="skybot")
    assert abs(client.now() - datetime.now(UTC)) < timedelta(seconds=1)
    # a passed-in clock wins
    fixed = datetime(2030, 1, 1, tzinfo=UTC)
    assert _client(scripted, clock=lambda: fixed).now() == fixed


def test_publish_reconciliation_uses_the_platforms_clock(scripted, reply) -> None:
    behind = -timedelta(hours=3)  # the platform's clock is 3 hours behind this machine's
    posted: list[str] = []

    def create(seen) -> object:
        posted.append(json.loads(seen.body)["text"])
        return reply(drop=True)  # the post lands, the answer is lost

    def recent(seen) -> object:
        since = datetime.fromisoformat(seen.query["start_time"][0].replace("Z", "+00:00"))
        created = datetime.now(UTC) + behind  # X stamps the post with its own clock
        data = [_tweet(7, posted[-1], created)] if posted and created >= since else []
        return reply(
            200,
            {"data": data, "meta": {"result_count": len(data)}},
            {"Date": format_datetime(datetime.now(UTC) + behind, usegmt=True)},
        )

    scripted.script("POST", "/2/tweets", create)
    scripted.script(
        "GET",
        "/2/users/by/username/skybot",
        _dated(reply, behind, 200, {"data": {"id": "42", "username": "skybot", "name": "s"}}),
    )
    scripted.script("GET", "/2/users/42/tweets", recent)
    client = _client(scripted, user_auth={"skybot": BearerAuth("42-secret")})
    ref = client.publish(account="skybot", text="Gate changed again", idempotency_key="k1")
    assert ref.id == "7"
    assert scripted.count("POST", "/2/tweets") == 1  # found on the platform: never sent twice
    since = scripted.seen[-1].query["start_time"][0]
    start = datetime.fromisoformat(since.replace("Z", "+00:00"))
    platform_now = datetime.now(UTC) + behind
    assert platform_now - timedelta(minutes=2) < start < platform_now  # the platform's time
