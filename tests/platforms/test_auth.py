"""Credentials: PKCE code exchange, refresh before expiry, OAuth 1.0a signatures, token files."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from vibeforge.platforms.auth import (
    OAuth1UserAuth,
    OAuth2Token,
    OAuth2UserAuth,
    TokenFile,
    pkce_finish,
    pkce_start,
)
from vibeforge.platforms.base import AuthError


def test_pkce_round_trip_against_a_token_endpoint(scripted, reply) -> None:
    start = pkce_start(client_id="cid", redirect_uri="http://127.0.0.1:8765/cb")
    q = parse_qs(urlparse(start.url).query)
    assert q["code_challenge_method"] == ["S256"]
    assert "offline.access" in q["scope"][0].split()
    expected = (
        base64.urlsafe_b64encode(hashlib.sha256(start.verifier.encode()).digest())
        .decode()
        .rstrip("=")
    )
    assert q["code_challenge"] == [expected]

    def token(seen):  # the server side of RFC 7636: check the verifier against the challenge
        form = parse_qs(seen.body.decode())
        verifier = form["code_verifier"][0]
        ok = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .decode()
            .rstrip("=")
            == expected
        )
        if not ok or form["code"] != ["the-code"]:
            return reply(400, {"error": "invalid_grant"})
        return reply(
            200,
            {
                "access_token": "at-1",
                "refresh_token": "rt-1",
                "expires_in": 7200,
                "scope": "tweet.read",
            },
        )

    scripted.script("POST", "/2/oauth2/token", token)
    tok = pkce_finish(
        start=start,
        callback_url=f"http://127.0.0.1:8765/cb?state={start.state}&code=the-code",
        client_id="cid",
        token_url=f"{scripted.url}/2/oauth2/token",
        now=lambda: 1000.0,
    )
    assert tok.access_token == "at-1" and tok.refresh_token == "rt-1" and tok.expires_at == 8200.0
    with pytest.raises(AuthError, match="state does not match"):
        pkce_finish(
            start=start,
            callback_url="http://127.0.0.1:8765/cb?state=forged&code=the-code",
            client_id="cid",
            token_url=f"{scripted.url}/2/oauth2/token",
        )


def test_user_token_refreshes_before_expiry_and_is_persisted(scripted, reply, tmp_path) -> None:
    now = [1000.0]
    scripted.script(
        "POST",
        "/2/oauth2/token",
        reply(200, {"access_token": "at-2", "refresh_token": "rt-2", "expires_in": 7200}),
    )
    scripted.script(
        "GET",
        "/2/users/me",
        lambda seen: reply(200, {"data": {"id": "1", "auth": seen.headers["Authorization"]}}),
    )
    store = TokenFile(tmp_path / "tokens" / "x-skybot.json")
    auth = OAuth2UserAuth(
        token=OAuth2Token(access_token="at-1", refresh_token="rt-1", expires_at=1100.0),
        client_id="cid",
        token_url=f"{scripted.url}/2/oauth2/token",
        on_refresh=store.save,
        clock=lambda: now[0],
    )
    with httpx.Client(base_url=scripted.url, auth=auth) as http:
        assert http.get("/2/users/me").json()["data"]["auth"] == "Bearer at-1"
        now[0] = 1050.0  # within the 60 s margin: refresh first
        assert http.get("/2/users/me").json()["data"]["auth"] == "Bearer at-2"
    form = parse_qs(scripted.seen[1].body.decode())
    assert form["grant_type"] == ["refresh_token"] and form["refresh_token"] == ["rt-1"]
    assert store.load().access_token == "at-2"
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert "at-2" not in repr(store.load()) and "at-2" not in repr(auth)


def test_oauth1_signature_verifies(scripted, reply) -> None:
    from oauthlib.common import Request
    from oauthlib.oauth1.rfc5849 import signature

    scripted.script("POST", "/2/tweets", reply(201, {"data": {"id": "1", "text": "hi"}}))
    auth = OAuth1UserAuth(consumer_key="ck", consumer_secret="cs", token="tk", token_secret="ts")
    with httpx.Client(base_url=scripted.url, auth=auth) as http:
        http.post("/2/tweets", json={"text": "hi"})
    seen = scripted.seen[-1]
    header = seen.headers["Authorization"]
    assert header.startswith("OAuth ") and 'oauth_consumer_key="ck"' in header
    req = Request(f"{scripted.url}/2/tweets", "POST", None, {"Authorization": header})
    req.params = signature.collect_parameters(
        headers={"Authorization": header}, exclude_oauth_signature=True
    )
    all_params = signature.collect_parameters(
        headers={"Authorization": header}, exclude_oauth_signature=False
    )
    req.signature = dict(all_params)["oauth_signature"]
    assert signature.verify_hmac_sha1(req, "cs", "ts")
    assert not signature.verify_hmac_sha1(req, "cs", "wrong")


def test_corrupt_or_missing_token_files(tmp_path) -> None:
    with pytest.raises(AuthError, match="vibeforge auth x"):
        TokenFile(tmp_path / "none.json").load()
    (tmp_path / "bad.json").write_text(json.dumps({"nope": 1}))
    with pytest.raises(AuthError, match="corrupt"):
        TokenFile(tmp_path / "bad.json").load()
