"""Who may call is checked before the rate limiter counts the call: an app-only token that tries
to post hears 403 every time (never 429), and spends no one's window."""

from __future__ import annotations

import httpx
import pytest
from tests.sandbox.conftest import bearer

from vibeforge.platforms.auth import BearerAuth
from vibeforge.platforms.base import AuthError
from vibeforge.platforms.x import XClient
from vibeforge.sandbox.limits import RateLimits
from vibeforge.sandbox.server import RunningSandbox

POST = "POST /2/tweets"


def test_an_app_token_posting_keeps_getting_403_never_429(
    sandbox: RunningSandbox, http: httpx.Client
) -> None:
    limits = RateLimits()  # the sandbox's defaults: X's published numbers
    app_limit = limits.limit(POST, app=True)  # 1: X gives app-only tokens no posting
    for i in range(app_limit + limits.limit(POST, app=False) + 5):
        r = http.post(
            "/2/tweets", json={"text": f"app post {i}"}, headers=bearer(sandbox.app_token)
        )
        assert r.status_code == 403, (i, r.status_code, r.text)
        assert r.json()["title"] == "Unsupported Authentication"
    # the app token's reads were not spent either, and a user can still post
    assert (
        http.get("/2/tweets", params={"ids": "1"}, headers=bearer(sandbox.app_token)).status_code
        == 200
    )
    token = sandbox.create_account("afterapp", niche="airlines")
    r = http.post("/2/tweets", json={"text": "a user still posts"}, headers=bearer(token))
    assert r.status_code == 201, r.text
    assert int(r.headers["x-rate-limit-remaining"]) == limits.limit(POST, app=False) - 1


def test_the_x_client_hears_an_auth_error_each_time(sandbox: RunningSandbox) -> None:
    client = XClient(
        base_url=sandbox.base_url,
        auth=BearerAuth(sandbox.app_token),
        user_auth={"appposter": BearerAuth(sandbox.app_token)},
        on_rate_limit="raise",
    )
    for i in range(3):
        with pytest.raises(AuthError, match="vibeforge auth x appposter"):
            client.publish(account="appposter", text=f"hello {i}", idempotency_key=f"k{i}")
