"""Credentials for X as httpx auth flows: app bearer, OAuth 2.0 user context (PKCE, refresh),
and OAuth 1.0a user context (signed by oauthlib).

Tokens for OAuth 2.0 user context live in a JSON file outside the database
(`$VIBEFORGE_HOME/tokens/`, mode 0600) and are refreshed before they expire. X's refresh
tokens are single-use, so a refresh happens once however many callers need it: one thread at a
time within a process, re-checking under the lock whether another thread already replaced the
token it used; one process at a time across processes sharing the token file (an exclusive
`flock` on a sibling `.lock` file), re-reading the file under the lock and adopting a newer token
instead of refreshing. The new pair is written (atomically) before it is used.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import httpx

from vibeforge.atomic import atomic_write_json
from vibeforge.platforms.base import AuthError

AUTHORIZE_URL = "https://x.com/i/oauth2/authorize"
DEFAULT_SCOPES = ("tweet.read", "tweet.write", "users.read", "list.read", "offline.access")


class BearerAuth(httpx.Auth):
    """OAuth 2.0 app-only bearer token (reads), or a sandbox user token."""

    def __init__(self, token: str) -> None:
        if not token:
            raise AuthError("empty bearer token; set VIBEFORGE_X_BEARER_TOKEN")
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(***)"


@dataclass(frozen=True, slots=True, kw_only=True)
class OAuth2Token:
    access_token: str
    refresh_token: str | None = None
    expires_at: float | None = None  # epoch seconds
    scope: str = ""

    @classmethod
    def from_response(cls, data: dict, *, now: float) -> OAuth2Token:
        if "access_token" not in data:
            raise AuthError(f"token endpoint answered without an access_token: {sorted(data)}")
        expires_in = data.get("expires_in")
        return cls(
            access_token=str(data["access_token"]),
            refresh_token=data.get("refresh_token"),
            expires_at=now + float(expires_in) if expires_in else None,
            scope=str(data.get("scope", "")),
        )

    def __repr__(self) -> str:
        return f"OAuth2Token(expires_at={self.expires_at}, scope={self.scope!r})"


class TokenFile:
    """An OAuth 2.0 token persisted as JSON with owner-only permissions (never in the database)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> OAuth2Token:
        try:
            return OAuth2Token(**json.loads(self.path.read_text()))
        except FileNotFoundError:
            raise AuthError(f"no token at {self.path}; run 'vibeforge auth x'") from None
        except (ValueError, TypeError):
            raise AuthError(f"token file {self.path} is corrupt; run 'vibeforge auth x'") from None

    def save(self, token: OAuth2Token) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.path, asdict(token), indent=None, mode=0o600)

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold an exclusive lock on the sibling `.lock` file (every process that shares the
        token file takes it before refreshing; `flock` also excludes another open in this one)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock


class OAuth2UserAuth(httpx.Auth):
    """OAuth 2.0 user context; refreshes (with `offline.access`) `margin_s` before expiry, or
    after a 401, once however many threads or processes need it (see the module's docstring).

    `token_file`: the file the token lives in, shared with other processes; refreshes happen
    under its lock and are saved to it (unless `on_refresh` saves them elsewhere).
    """

    def __init__(
        self,
        *,
        token: OAuth2Token,
        client_id: str,
        token_url: str,
        client_secret: str | None = None,
        on_refresh: Callable[[OAuth2Token], None] | None = None,
        token_file: TokenFile | None = None,
        margin_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self._client_id = client_id
        self._client_secret = client_secret
        self._token_url = token_url
        self._token_file = token_file
        if on_refresh is None and token_file is not None:
            on_refresh = token_file.save
        self._on_refresh = on_refresh
        self._margin = margin_s
        self._clock = clock
        self._lock = threading.Lock()

    def _needs_refresh(self, token: OAuth2Token | None = None) -> bool:
        exp = (token or self.token).expires_at
        return exp is not None and self._clock() >= exp - self._margin

    def _refresh_request(self, token: OAuth2Token | None = None) -> httpx.Request:
        refresh_token = (token or self.token).refresh_token
        if not refresh_token:
            raise AuthError(
                "the access token expired and there is no refresh token (offline.access)"
            )
        data = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": self._client_id,
        }
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if self._client_secret:
            basic = base64.b64encode(f"{self._client_id}:{self._client_secret}".encode()).decode()
            headers["Authorization"] = f"Basic {basic}"
        return httpx.Request("POST", self._token_url, data=data, headers=headers)

    def _apply(self, response: httpx.Response) -> OAuth2Token:
        """The refreshed token, persisted (`on_refresh`) before anyone uses it."""
        if response.status_code != 200:
            error = ""
            with contextlib.suppress(ValueError, AttributeError):
                error = f" ({response.json().get('error')})"
            raise AuthError(
                f"token refresh failed with HTTP {response.status_code}{error}; "
                "if it persists, run 'vibeforge auth x HANDLE' again",
                status=401,
            )
        token = OAuth2Token.from_response(response.json(), now=self._clock())
        if self._on_refresh is not None:
            self._on_refresh(token)
        self.token = token
        return token

    def _stored(self) -> OAuth2Token | None:
        """The token file's token (another process may have refreshed), if it reads."""
        if self._token_file is None:
            return None
        try:
            return self._token_file.load()
        except AuthError:
            return None

    def _refresh(self, used: OAuth2Token) -> Generator[httpx.Request, httpx.Response, OAuth2Token]:
        """A token to use instead of `used` (expired, or answered 401): one that another thread
        or process already got, or else a refreshed one. One refresh at a time."""
        with self._lock:
            current = self.token
            if current.access_token != used.access_token and not self._needs_refresh(current):
                return current  # another thread refreshed while this one waited
            lock = self._token_file.lock() if self._token_file else contextlib.nullcontext()
            with lock:
                stored = self._stored()
                if stored is not None:
                    current = stored  # saved before use, so never older than ours
                if current.access_token != used.access_token and not self._needs_refresh(current):
                    self.token = current  # another process refreshed: adopt its token
                    return current
                response = yield self._refresh_request(current)
                response.read()
                return self._apply(response)

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.token
        if self._needs_refresh(token):
            token = yield from self._refresh(token)
        request.headers["Authorization"] = f"Bearer {token.access_token}"
        response = yield request
        if response.status_code == 401 and (token.refresh_token or self._token_file):
            token = yield from self._refresh(token)
            request.headers["Authorization"] = f"Bearer {token.access_token}"
            yield request

    def __repr__(self) -> str:
        return "OAuth2UserAuth(***)"


class OAuth1UserAuth(httpx.Auth):
    """OAuth 1.0a user context: every request signed (HMAC-SHA1) by oauthlib."""

    requires_request_body = True

    def __init__(
        self, *, consumer_key: str, consumer_secret: str, token: str, token_secret: str
    ) -> None:
        from oauthlib.oauth1 import Client

        self._client = Client(
            consumer_key,
            client_secret=consumer_secret,
            resource_owner_key=token,
            resource_owner_secret=token_secret,
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        content_type = request.headers.get("Content-Type", "")
        form = content_type.startswith("application/x-www-form-urlencoded")
        body = request.content.decode() if form and request.content else None
        _, headers, _ = self._client.sign(
            str(request.url),
            http_method=request.method,
            body=body,
            headers={"Content-Type": content_type} if form else None,
        )
        request.headers["Authorization"] = headers["Authorization"]
        yield request

    def __repr__(self) -> str:
        return "OAuth1UserAuth(***)"


# ---------------------------------------------------------------- the PKCE authorize flow


@dataclass(frozen=True, slots=True, kw_only=True)
class PKCEStart:
    url: str  # where the user authorizes the app
    state: str
    verifier: str
    redirect_uri: str


def pkce_start(
    *,
    client_id: str,
    redirect_uri: str,
    scopes: tuple[str, ...] = DEFAULT_SCOPES,
    authorize_url: str = AUTHORIZE_URL,
) -> PKCEStart:
    """Build the authorize URL with an S256 code challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(64)[:96]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    state = secrets.token_urlsafe(24)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(scopes),
            "state": state,
            "code_challenge": challenge.decode().rstrip("="),
            "code_challenge_method": "S256",
        }
    )
    return PKCEStart(
        url=f"{authorize_url}?{query}", state=state, verifier=verifier, redirect_uri=redirect_uri
    )


def pkce_finish(
    *,
    start: PKCEStart,
    callback_url: str,
    client_id: str,
    token_url: str,
    client_secret: str | None = None,
    http: httpx.Client | None = None,
    now: Callable[[], float] = time.time,
) -> OAuth2Token:
    """Check the callback's state and exchange its code (with the verifier) for tokens."""
    params = parse_qs(urlparse(callback_url).query)
    if "error" in params:
        raise AuthError(f"authorization refused: {params['error'][0]}")
    if params.get("state", [""])[0] != start.state:
        raise AuthError("the callback's state does not match: start 'vibeforge auth x' again")
    code = params.get("code", [""])[0]
    if not code:
        raise AuthError("the callback URL carries no code; paste the full redirected URL")
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": start.redirect_uri,
        "code_verifier": start.verifier,
        "client_id": client_id,
    }
    auth: httpx.Auth | httpx._client.UseClientDefault = (
        httpx.BasicAuth(client_id, client_secret) if client_secret else httpx.USE_CLIENT_DEFAULT
    )
    own = http is None
    client = http or httpx.Client(timeout=30)
    try:
        response = client.post(token_url, data=data, auth=auth)
    finally:
        if own:
            client.close()
    if response.status_code != 200:
        raise AuthError(f"code exchange failed with HTTP {response.status_code}")
    return OAuth2Token.from_response(response.json(), now=now())


def with_expiry(token: OAuth2Token, expires_at: float) -> OAuth2Token:
    return replace(token, expires_at=expires_at)
