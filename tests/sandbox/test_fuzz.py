"""A bounded fuzz of every sandbox route with hypothesis: hostile path segments, query values
and JSON bodies (NaN, 1e400, huge ints, Unicode digits, deep nesting) never get a 5xx, and
every error is in X's shape.

The routes that reseed the world (POST /admin/world, /admin/reset) are left out: a valid
body would rebuild it for seconds per example; tests/sandbox/test_hostile.py covers their
bad inputs. Bounded by examples per route (FUZZ_EXAMPLES, default 60) and a per-route clock.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vibeforge.sandbox.limits import RateLimits
from vibeforge.sandbox.server import RunningSandbox, start_sandbox

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
ROUTE_BUDGET_S = 90.0  # a route's examples stop being drawn after this, whatever is left

# (method, path with {params}, query names, JSON body keys or None for no body)
ROUTES: list[tuple[str, str, tuple[str, ...], tuple[str, ...] | None]] = [
    ("POST", "/2/tweets", (), ("text", "reply", "quote_tweet_id", "made_with_ai")),
    ("GET", "/2/tweets", ("ids", "tweet.fields", "expansions", "user.fields"), None),
    ("GET", "/2/tweets/{id}", ("tweet.fields", "expansions"), None),
    ("DELETE", "/2/tweets/{id}", (), None),
    ("GET", "/2/users/me", ("user.fields",), None),
    ("GET", "/2/users/by/username/{username}", ("user.fields",), None),
    ("GET", "/2/users/{id}", ("user.fields",), None),
    (
        "GET",
        "/2/users/{id}/tweets",
        ("max_results", "pagination_token", "since_id", "until_id", "start_time", "exclude"),
        None,
    ),
    (
        "GET",
        "/2/users/{id}/timelines/reverse_chronological",
        ("max_results", "pagination_token", "since_id", "end_time"),
        None,
    ),
    ("GET", "/2/lists/{id}/tweets", ("max_results", "pagination_token", "until_id"), None),
    ("GET", "/2/lists/{id}/members", ("max_results", "pagination_token"), None),
    ("GET", "/2/users", ("ids", "user.fields"), None),
    ("GET", "/2/users/by", ("usernames", "user.fields", "expansions"), None),
    ("GET", "/2/tweets/{id}/liking_users", ("max_results", "pagination_token"), None),
    (
        "GET",
        "/2/tweets/{id}/retweeted_by",
        ("max_results", "pagination_token", "user.fields"),
        None,
    ),
    ("GET", "/2/tweets/{id}/quote_tweets", ("max_results", "pagination_token", "exclude"), None),
    (
        "GET",
        "/2/tweets/search/recent",
        ("query", "max_results", "next_token", "start_time", "since_id", "sort_order"),
        None,
    ),
    ("GET", "/2/users/{id}/mentions", ("max_results", "pagination_token", "post.fields"), None),
    ("GET", "/2/users/{id}/followers", ("max_results", "pagination_token"), None),
    ("GET", "/2/users/{id}/following", ("max_results", "pagination_token"), None),
    ("GET", "/2/users/{id}/liked_tweets", ("max_results", "pagination_token"), None),
    ("POST", "/2/users/{id}/likes", (), ("tweet_id",)),
    ("DELETE", "/2/users/{id}/likes/1", (), None),
    ("POST", "/2/users/{id}/retweets", (), ("tweet_id",)),
    ("DELETE", "/2/users/{id}/retweets/1", (), None),
    ("GET", "/admin/world", (), None),
    ("POST", "/admin/clock/advance", (), ("seconds", "hours")),
    ("POST", "/admin/clock/speed", (), ("speed",)),
    ("POST", "/admin/trends", (), ("niche", "text", "at", "in_hours", "strength")),
    ("GET", "/admin/trends", (), None),
    ("POST", "/admin/accounts", (), ("username", "niche", "followers", "follow_niche")),
    ("GET", "/admin/tokens/{username}", (), None),
    ("GET", "/admin/truth", ("ids",), None),
    ("POST", "/admin/evaluate", (), ("texts", "author_id", "at")),
]

HOSTILE = [
    "²",
    "١٢٣",  # Arabic-Indic digits
    "9223372036854775808",  # 2^63
    "99999999999999999999999",
    "-1",
    "0",
    "1e400",
    "NaN",
    "../../x",
    "%00",
    "z" * 300,
    "2026-13-45T99:99:99Z",
    "99999-01-01T00:00:00Z",
    "1500000",
    "1000001",
    "airlines",
]
segment = st.one_of(st.sampled_from(HOSTILE), st.text(min_size=1, max_size=40))
scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(HOSTILE),
    st.text(max_size=60),
)
json_value = st.recursive(
    scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)


def _body(keys: tuple[str, ...]) -> st.SearchStrategy[Any]:
    fields = st.fixed_dictionaries({}, optional={k: json_value for k in keys})
    deep = st.integers(min_value=1, max_value=20_000).map(lambda n: "[" * n + "]" * n)
    return st.one_of(fields, json_value, deep)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    home: Path = tmp_path_factory.mktemp("fuzz")
    # limits scaled up so the fuzz reaches the handlers instead of stopping at 429
    with start_sandbox(
        home=home, world="tiny", seed=0, speed=0, limits=RateLimits(scale=1000)
    ) as sb:
        sb.create_account("fuzzer", niche="apple")
        yield sb


def _x_shaped(r: httpx.Response) -> bool:
    if r.status_code < 400:
        return True
    body = r.json()
    return {"title", "detail", "type", "status"} <= set(body) and body["status"] == r.status_code


@pytest.mark.parametrize(
    ("method", "path", "query", "keys"), ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES]
)
def test_no_route_answers_5xx(
    fuzzed: RunningSandbox,
    method: str,
    path: str,
    query: tuple[str, ...],
    keys: tuple[str, ...] | None,
) -> None:
    tokens = {
        "admin": fuzzed.admin_token,
        "app": fuzzed.app_token,
        "user": fuzzed.user_token("fuzzer"),
    }
    deadline = time.monotonic() + ROUTE_BUDGET_S
    failures: list[str] = []
    client = httpx.Client(base_url=fuzzed.base_url, timeout=30)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(
        segments=st.fixed_dictionaries(
            {name: segment for name in ("id", "username") if "{" + name + "}" in path}
        ),
        params=st.fixed_dictionaries({}, optional={q: segment for q in query}),
        body=_body(keys) if keys is not None else st.none(),
        role=st.sampled_from(sorted(tokens)),
    )
    def probe(segments: dict[str, str], params: dict[str, str], body: Any, role: str) -> None:
        if time.monotonic() > deadline:
            return
        url = path.format(**{k: quote(v, safe="") for k, v in segments.items()})
        content = None
        if keys is not None:
            content = body if isinstance(body, str) else json.dumps(body, allow_nan=True)
        r = client.request(
            method,
            url,
            params=params,
            content=content,
            headers={"Authorization": f"Bearer {tokens[role]}", "content-type": "application/json"},
        )
        if r.status_code >= 500 or not _x_shaped(r):
            failures.append(
                f"{r.status_code} {method} {url} {params} {content!r:.200} {r.text:.200}"
            )
        assert r.status_code < 500, failures[-1]
        assert _x_shaped(r), failures[-1]

    try:
        probe()
    finally:
        client.close()
    # the world still answers after the fuzz
    assert httpx.get(f"{fuzzed.base_url}/health").json()["seeded"] is True
