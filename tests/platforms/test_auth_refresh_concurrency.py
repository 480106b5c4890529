"""OAuth 2.0 refresh under concurrency: X's refresh tokens are single-use, so however many
threads (or processes sharing the token file) find the access token expired, exactly one
refresh reaches the token endpoint and every call succeeds."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs

import pytest

from vibeforge.platforms.auth import OAuth2Token, OAuth2UserAuth, TokenFile
from vibeforge.platforms.base import AuthError
from vibeforge.platforms.x import XClient

THREADS = 8


class RotatingTokens:
    """The token endpoint and a user-context endpoint of X, scripted: each refresh token works
    once (a reused one gets 400 invalid_grant), and only the newest access token is accepted."""

    def __init__(self, scripted, reply, *, access: str = "at-1", refresh: str = "rt-1") -> None:
        self.reply = reply
        self.access, self.refresh = access, refresh
        self.generation = 1
        self.refreshes: list[str] = []  # the refresh tokens sent, valid or not
        self._lock = threading.Lock()
        scripted.script("POST", "/2/oauth2/token", self.token)
        scripted.script("GET", "/2/users/me", self.me)

    def token(self, seen):  # type: ignore[no-untyped-def]
        form = parse_qs(seen.body.decode())
        sent = form["refresh_token"][0]
        with self._lock:
            self.refreshes.append(sent)
            if form["grant_type"] != ["refresh_token"] or sent != self.refresh:
                return self.reply(
                    400,
                    {
                        "error": "invalid_grant",
                        "error_description": "Value passed for the token was invalid.",
                    },
                )
            self.generation += 1
            self.access, self.refresh = f"at-{self.generation}", f"rt-{self.generation}"
            return self.reply(
                200,
                {
                    "token_type": "bearer",
                    "access_token": self.access,
                    "refresh_token": self.refresh,
                    "expires_in": 7200,
                    "scope": "tweet.read users.read offline.access",
                },
            )

    def me(self, seen):  # type: ignore[no-untyped-def]
        if seen.headers.get("Authorization") != f"Bearer {self.access}":
            time.sleep(0.05)  # every caller of the old token hears 401 before anyone refreshes
            return self.reply(401, {"title": "Unauthorized", "status": 401, "detail": "no"})
        return self.reply(200, {"data": {"id": "42", "username": "skybot", "name": "s"}})


def _auth(scripted, token: OAuth2Token, **kw) -> OAuth2UserAuth:  # type: ignore[no-untyped-def]
    return OAuth2UserAuth(
        token=token, client_id="cid", token_url=f"{scripted.url}/2/oauth2/token", **kw
    )


def _client(scripted, auth: OAuth2UserAuth) -> XClient:  # type: ignore[no-untyped-def]
    return XClient(base_url=scripted.url, user_auth={"skybot": auth}, backoff_s=0.001)


def _all_at_once(calls) -> list[object]:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(len(calls))

    def run(call):  # type: ignore[no-untyped-def]
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_threads_that_find_the_token_expired_refresh_it_once(scripted, reply, tmp_path) -> None:
    server = RotatingTokens(scripted, reply)
    store = TokenFile(tmp_path / "x-skybot.json")
    expired = OAuth2Token(access_token="at-1", refresh_token="rt-1", expires_at=time.time() - 10)
    store.save(expired)
    client = _client(scripted, _auth(scripted, expired, token_file=store))
    accounts = _all_at_once([lambda: client.me(account="skybot")] * THREADS)
    assert [a.id for a in accounts] == ["42"] * THREADS  # type: ignore[attr-defined]
    assert server.refreshes == ["rt-1"]
    assert scripted.count("POST", "/2/oauth2/token") == 1
    assert store.load().refresh_token == "rt-2"  # persisted


def test_threads_that_hear_401_refresh_once(scripted, reply, tmp_path) -> None:
    """The server expired the token before its `expires_at` (or revoked it): each thread hears
    401 with the same old token; only the first refreshes, the others take its new token."""
    server = RotatingTokens(scripted, reply)
    server.access = "at-revoked"  # at-1 is no longer accepted, though not yet expired
    store = TokenFile(tmp_path / "x-skybot.json")
    token = OAuth2Token(access_token="at-1", refresh_token="rt-1", expires_at=time.time() + 3600)
    store.save(token)
    client = _client(scripted, _auth(scripted, token, token_file=store))
    accounts = _all_at_once([lambda: client.me(account="skybot")] * THREADS)
    assert [a.id for a in accounts] == ["42"] * THREADS  # type: ignore[attr-defined]
    assert server.refreshes == ["rt-1"]
    assert store.load().access_token == server.access == "at-2"


def test_two_processes_sharing_a_token_file_refresh_once(scripted, reply, tmp_path) -> None:
    """Two auth objects on one token file, as two processes hold them: the second one, under
    the file's lock, finds the file already refreshed and adopts that token."""
    server = RotatingTokens(scripted, reply)
    path = tmp_path / "tokens" / "x-skybot.json"
    expired = OAuth2Token(access_token="at-1", refresh_token="rt-1", expires_at=time.time() - 10)
    TokenFile(path).save(expired)
    first = _client(scripted, _auth(scripted, TokenFile(path).load(), token_file=TokenFile(path)))
    second = _client(scripted, _auth(scripted, TokenFile(path).load(), token_file=TokenFile(path)))
    calls = [lambda: first.me(account="skybot"), lambda: second.me(account="skybot")] * 4
    accounts = _all_at_once(calls)
    assert [a.id for a in accounts] == ["42"] * 8  # type: ignore[attr-defined]
    assert server.refreshes == ["rt-1"]
    assert TokenFile(path).load().refresh_token == "rt-2"
    # later, one after the other: still no second refresh
    assert second.me(account="skybot").id == first.me(account="skybot").id == "42"
    assert server.refreshes == ["rt-1"]
    assert TokenFile(path).lock_path.exists()


def test_a_spent_refresh_token_is_an_auth_error_naming_the_fix(scripted, reply) -> None:
    server = RotatingTokens(scripted, reply, refresh="rt-newer")  # rt-1 was used elsewhere
    expired = OAuth2Token(access_token="at-1", refresh_token="rt-1", expires_at=time.time() - 10)
    client = _client(scripted, _auth(scripted, expired))
    with pytest.raises(AuthError, match=r"HTTP 400 \(invalid_grant\).*vibeforge auth x"):
        client.me(account="skybot")
    assert server.refreshes == ["rt-1"]
