"""The X API v2 client: the same code runs against api.x.com and the local sandbox.

- Reads use an app bearer (or any) auth; posting and home timelines use the account's user
  auth (`user_auth={handle: httpx.Auth}`), OAuth 2.0 user context or OAuth 1.0a.
- Rate limits come from `x-rate-limit-*` headers, tracked per credential and endpoint. On 429
  (or a window known to be spent) the client waits until the reset or raises
  `RateLimited(reset_at)`, as the caller chose.
- Network errors and 5xx are retried a bounded number of times with exponential backoff and
  jitter. A create is never blindly retried: after a timeout or 5xx the client first reads the
  account's recent posts, and returns the post if it already exists.
- Every call is counted in the ledger (per bot, per day) and refused when a budget would break,
  in one place: `_request`, the one path every endpoint's call takes.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx

from vibeforge.domain import (
    Account,
    Metrics,
    Post,
    PostRef,
    Timeline,
    TimelineKind,
    post_id_key,
    post_id_newer,
)
from vibeforge.errors import ConfigError
from vibeforge.paths import Home
from vibeforge.platforms import x_parse
from vibeforge.platforms.auth import BearerAuth, OAuth2UserAuth, TokenFile
from vibeforge.platforms.base import (
    AuthError,
    Forbidden,
    NotFound,
    PlatformError,
    PlatformUnavailable,
    RateLimited,
)
from vibeforge.platforms.ledger import GLOBAL, CallLedger
from vibeforge.platforms.registry import PlatformContext

DEFAULT_BASE_URL = "https://api.x.com"
POST_FIELDS = "created_at,public_metrics,author_id,lang,referenced_tweets"
USER_FIELDS = "created_at,public_metrics"
METRICS_BATCH = 100  # X's limit of ids per GET /2/tweets
_URL = re.compile(r"https?://\S+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Cost:
    """What one call is priced as (a ledger kind) and the most units its answer may hold."""

    kind: str
    most: int


def _returned(body: dict[str, Any]) -> int:
    """Units an answer returned: the objects under `data` (one object, or a list of them)."""
    data = body.get("data")
    if isinstance(data, list):
        return len(data)
    return 1 if isinstance(data, dict) else 0


@dataclass(slots=True)
class _Window:
    limit: int
    remaining: int
    reset_at: datetime


def _normalise(text: str) -> str:
    """Compare texts as X shows them back: URLs shortened, whitespace collapsed."""
    return " ".join(_URL.sub("<url>", text).split())


class XClient:
    """X API v2 over httpx; implements `vibeforge.platforms.base.Platform`."""

    name = "x"

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        auth: httpx.Auth | None = None,
        user_auth: Mapping[str, httpx.Auth] | None = None,
        ledger: CallLedger | None = None,
        bot: str = GLOBAL,
        on_rate_limit: Literal["wait", "raise"] = "wait",
        max_wait_s: float = 900.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        timeout_s: float = 30.0,
        max_response_bytes: int = 8 * 1024 * 1024,
        fields_param: Literal["tweet.fields", "post.fields"] = "tweet.fields",
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if on_rate_limit not in ("wait", "raise"):
            raise ValueError(f"on_rate_limit must be 'wait' or 'raise', not {on_rate_limit!r}")
        if retries < 0 or backoff_s < 0 or max_wait_s < 0:
            raise ValueError("retries, backoff_s and max_wait_s must be >= 0")
        self.base_url = base_url.rstrip("/")
        self._auth = auth
        self._user_auth = dict(user_auth or {})
        self.ledger = ledger or CallLedger()
        self.bot = bot
        self.on_rate_limit = on_rate_limit
        self.max_wait_s = max_wait_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_response_bytes = max_response_bytes
        self.fields_param = fields_param
        self._sleep = sleep
        self._clock = clock  # platform time: observation stamps, publish reconciliation
        self._wall = wall_clock  # x-rate-limit-reset is wall-clock epoch seconds
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout_s,
            transport=transport,
            headers={"User-Agent": "vibeforge/0.1"},
        )
        self._windows: dict[tuple[int, str], _Window] = {}
        self._user_ids: dict[str, str] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_context(cls, ctx: PlatformContext) -> XClient:
        """The real X API (registered as "x"): the app bearer reads; each bot account posts
        with the OAuth 2.0 tokens `vibeforge auth x` stored under `home/tokens`, refreshed with
        the app's client id and secret."""
        bearer = ctx.secrets.get("bearer_token")
        if not bearer:
            raise ConfigError("platform x needs VIBEFORGE_X_BEARER_TOKEN (an app bearer token)")
        base_url = (ctx.base_url or DEFAULT_BASE_URL).rstrip("/")
        client_id, client_secret = ctx.secrets.get("client_id"), ctx.secrets.get("client_secret")
        user_auth: dict[str, httpx.Auth] = {h: BearerAuth(t) for h, t in ctx.user_tokens.items()}
        for handle in ctx.handles:
            tokens = TokenFile(Home(ctx.home).token_file("x", handle))
            if tokens.path.exists() and client_id:
                user_auth[handle] = OAuth2UserAuth(
                    token=tokens.load(),
                    client_id=client_id,
                    client_secret=client_secret,
                    token_url=f"{base_url}/2/oauth2/token",
                    on_refresh=tokens.save,
                )
        return cls(
            base_url=base_url, auth=BearerAuth(bearer), user_auth=user_auth, ledger=ctx.ledger
        )

    # ------------------------------------------------------------ plumbing

    def now(self) -> datetime:
        """Platform time (the sandbox's simulated clock, or the wall's on X)."""
        return self._clock()

    def for_bot(self, bot: str) -> XClient:
        """A view of this client whose calls are charged to `bot` (shares connections)."""
        clone = object.__new__(XClient)
        clone.__dict__.update(self.__dict__)
        clone.bot = bot
        return clone

    def add_user_auth(self, handle: str, auth: httpx.Auth) -> None:
        self._user_auth[handle.lower()] = auth

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> XClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _auth_for(self, account: str | None) -> httpx.Auth | None:
        if account is not None:
            auth = self._user_auth.get(account.lower())
            if auth is not None:
                return auth
        return self._auth

    def _wait_or_raise(self, reset_at: datetime, endpoint: str) -> None:
        delay = (reset_at - self._wall()).total_seconds()
        if self.on_rate_limit == "raise" or delay > self.max_wait_s:
            raise RateLimited(
                f"rate limited on {endpoint} until {reset_at.isoformat(timespec='seconds')}",
                reset_at=reset_at,
            )
        self._sleep(max(delay, 0.0) + 0.5)

    def _note_window(self, key: tuple[int, str], headers: httpx.Headers) -> None:
        try:
            window = _Window(
                limit=int(headers["x-rate-limit-limit"]),
                remaining=int(headers["x-rate-limit-remaining"]),
                reset_at=datetime.fromtimestamp(int(headers["x-rate-limit-reset"]), UTC),
            )
        except (KeyError, ValueError):
            return
        with self._lock:
            self._windows[key] = window

    def rate_window(self, endpoint: str, *, account: str | None = None) -> _Window | None:
        return self._windows.get((id(self._auth_for(account)), endpoint))

    def _read_body(self, response: httpx.Response) -> Any:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_response_bytes:
            raise PlatformError(
                f"response of {declared} bytes exceeds the {self.max_response_bytes} cap"
            )
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_response_bytes:
                raise PlatformError(f"response exceeds the {self.max_response_bytes}-byte cap")
            chunks.append(chunk)
        raw = b"".join(chunks)
        if not raw:
            return None
        try:
            import json

            return json.loads(raw)
        except ValueError:
            snippet = raw[:80].decode("utf-8", "replace")
            raise PlatformError(
                f"malformed API JSON from {response.request.url.path}: {snippet!r}",
                status=response.status_code,
            ) from None

    def _backoff(self, attempt: int) -> None:
        self._sleep(self.backoff_s * (2**attempt) * (0.5 + random.random()))

    def _request(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        cost: _Cost | None = None,
        params: dict[str, Any] | None = None,
        json_body: dict[str, Any] | None = None,
        account: str | None = None,
        reconcile: Callable[[], dict[str, Any] | None] | None = None,
    ) -> dict[str, Any]:
        """One API call, and the only place the ledger is charged: checked against the budgets
        for `cost.most` units before sending, charged once for what the answer returned.

        A call with `reconcile` creates something and is never blindly resent: after an answer
        that leaves it unknown whether the create landed (network error, 5xx) or a duplicate
        refusal, `reconcile()` looks for it and, if found, its answer-shaped body is the call's
        answer (X billed the create); otherwise it is resent a bounded number of times.
        """
        if cost is not None:
            self.ledger.check(bot=self.bot, kind=cost.kind, units=cost.most)
        attempt = 0
        while True:
            try:
                body = self._send(
                    method,
                    path,
                    endpoint=endpoint,
                    params=params,
                    json_body=json_body,
                    account=account,
                    retry=reconcile is None,
                )
                break
            except (PlatformError, httpx.TransportError) as exc:
                uncertain = (
                    not isinstance(exc, PlatformError) or exc.status is None or exc.status >= 500
                )
                duplicate = isinstance(exc, Forbidden) and "duplicate" in str(exc).lower()
                if reconcile is None or not (uncertain or duplicate):
                    raise
                found = reconcile()
                if found is not None:
                    body = found
                    break
                if duplicate or attempt >= self.retries:
                    raise
                self._backoff(attempt)
                attempt += 1
        if cost is not None:
            units = _returned(body)
            if units:
                self.ledger.record(bot=self.bot, kind=cost.kind, units=units, endpoint=endpoint)
        return body

    def _send(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        params: dict[str, Any] | None,
        json_body: dict[str, Any] | None,
        account: str | None,
        retry: bool,
    ) -> dict[str, Any]:
        """One exchange with rate limiting and bounded retries; returns the JSON object."""
        auth = self._auth_for(account)
        key = (id(auth), endpoint)
        attempt = 0
        while True:
            window = self._windows.get(key)
            if window and window.remaining <= 0 and window.reset_at > self._wall():
                self._wait_or_raise(window.reset_at, endpoint)
            try:
                request = self._http.build_request(method, path, params=params, json=json_body)
                response = self._http.send(
                    request, auth=auth or httpx.USE_CLIENT_DEFAULT, stream=True
                )
            except httpx.TransportError as exc:
                if retry and attempt < self.retries:
                    self._backoff(attempt)
                    attempt += 1
                    continue
                raise PlatformUnavailable(
                    f"network error on {endpoint}: {type(exc).__name__}: {exc}"
                ) from exc
            try:
                self._note_window(key, response.headers)
                status = response.status_code
                if status == 429:
                    reset = response.headers.get("x-rate-limit-reset")
                    reset_at = (
                        datetime.fromtimestamp(int(reset), UTC)
                        if reset and reset.isdigit()
                        else self._wall() + timedelta(seconds=60)
                    )
                    response.close()
                    self._wait_or_raise(reset_at, endpoint)
                    continue
                if status >= 500:
                    response.close()
                    if retry and attempt < self.retries:
                        self._backoff(attempt)
                        attempt += 1
                        continue
                    raise PlatformUnavailable(
                        f"{endpoint}: server error HTTP {status}", status=status
                    )
                body = self._read_body(response)
            finally:
                response.close()
            if status >= 400:
                message = f"{endpoint}: {x_parse.error_message(body, status=status)}"
                if status == 401:
                    raise AuthError(message, status=status)
                if status == 403:
                    raise Forbidden(message, status=status)
                if status == 404:
                    raise NotFound(message, status=status)
                raise PlatformError(message, status=status)
            if not isinstance(body, dict):
                raise PlatformError(f"malformed API JSON from {endpoint}: not an object")
            return body

    # ------------------------------------------------------------ reads

    def account(self, *, handle: str) -> Account:
        handle = handle.lstrip("@")
        body = self._request(
            "GET",
            f"/2/users/by/username/{handle}",
            endpoint="GET /2/users/by/username/:username",
            cost=_Cost("user_read", 1),
            params={"user.fields": USER_FIELDS},
        )
        if "data" not in body:
            raise NotFound(f"no account @{handle}: {x_parse.error_message(body, status=404)}")
        acc = x_parse.parse_account(body["data"])
        self._user_ids[handle.lower()] = acc.id
        return acc

    def me(self, *, account: str) -> Account:
        """The authenticated account of `account`'s user credentials."""
        body = self._request(
            "GET",
            "/2/users/me",
            endpoint="GET /2/users/me",
            cost=_Cost("user_read", 1),
            params={"user.fields": USER_FIELDS},
            account=account,
        )
        return x_parse.parse_account(body.get("data"))

    def user_id(self, handle: str) -> str:
        key = handle.lstrip("@").lower()
        if key not in self._user_ids:
            self.account(handle=key)
        return self._user_ids[key]

    def _pages(
        self,
        path: str,
        *,
        endpoint: str,
        params: dict[str, Any],
        account: str | None = None,
        max_posts: int,
    ) -> Iterator[list[Post]]:
        token: str | None = None
        fetched = 0
        while fetched < max_posts:
            page_size = min(100, max(params.get("max_results", 100), 5))
            query = dict(params)
            query[self.fields_param] = POST_FIELDS
            if token:
                query["pagination_token"] = token
            body = self._request(
                "GET",
                path,
                endpoint=endpoint,
                cost=_Cost("post_read", page_size),
                params=query,
                account=account,
            )
            now = self._clock()
            data = body.get("data") or []
            if not isinstance(data, list):
                raise PlatformError(f"malformed API JSON from {endpoint}: data is not a list")
            posts = [x_parse.parse_post(obj, observed_at=now) for obj in data]
            fetched += len(posts)
            yield posts
            meta = body.get("meta") or {}
            token = meta.get("next_token")
            if not token or not posts:
                return

    def _collect(
        self,
        path: str,
        *,
        endpoint: str,
        since_id: str | None,
        max_posts: int,
        account: str | None = None,
        send_since: bool = True,
        min_results: int = 5,
    ) -> list[Post]:
        params: dict[str, Any] = {"max_results": max(min(100, max_posts), min_results)}
        if since_id and send_since:
            params["since_id"] = since_id
        out: list[Post] = []
        for page in self._pages(
            path, endpoint=endpoint, params=params, account=account, max_posts=max_posts
        ):
            fresh = [p for p in page if since_id is None or post_id_newer(p.id, since_id)]
            out.extend(fresh)
            if len(fresh) < len(page):  # reached what we had already seen
                break
        return out[:max_posts]

    def timeline(
        self, *, source: Timeline, since_id: str | None = None, max_posts: int = 800
    ) -> list[Post]:
        """Raw posts (not yet scrubbed) of a List, a set of accounts or a home timeline."""
        if source.kind is TimelineKind.LIST:
            # X's List timeline takes no since_id: page until we reach the cursor
            posts = self._collect(
                f"/2/lists/{source.source}/tweets",
                endpoint="GET /2/lists/:id/tweets",
                since_id=since_id,
                max_posts=max_posts,
                send_since=False,
                min_results=1,
            )
        elif source.kind is TimelineKind.HANDLES:
            posts = []
            for handle in source.handles:
                posts.extend(
                    self._collect(
                        f"/2/users/{self.user_id(handle)}/tweets",
                        endpoint="GET /2/users/:id/tweets",
                        since_id=since_id,
                        max_posts=max_posts,
                    )
                )
        else:
            handle = source.source.lstrip("@")
            posts = self._collect(
                f"/2/users/{self.user_id(handle)}/timelines/reverse_chronological",
                endpoint="GET /2/users/:id/timelines/reverse_chronological",
                since_id=since_id,
                max_posts=max_posts,
                account=handle,
                min_results=1,
            )
        posts.sort(key=lambda p: (p.created_at, post_id_key(p.id)), reverse=True)
        return posts[:max_posts]

    def list_members(self, *, list_id: str, max_users: int = 1000) -> list[Account]:
        out: list[Account] = []
        token: str | None = None
        while len(out) < max_users:
            params: dict[str, Any] = {"max_results": 100, "user.fields": USER_FIELDS}
            if token:
                params["pagination_token"] = token
            body = self._request(
                "GET",
                f"/2/lists/{list_id}/members",
                endpoint="GET /2/lists/:id/members",
                cost=_Cost("user_read", 100),
                params=params,
            )
            users = [x_parse.parse_account(u) for u in body.get("data") or []]
            out.extend(users)
            token = (body.get("meta") or {}).get("next_token")
            if not token or not users:
                break
        return out[:max_users]

    def get_posts(self, *, post_ids: Sequence[str]) -> list[Post]:
        """Posts by id, 100 per call; ids X cannot return (deleted, unknown) are skipped."""
        out: list[Post] = []
        ids = list(dict.fromkeys(post_ids))
        for start in range(0, len(ids), METRICS_BATCH):
            batch = ids[start : start + METRICS_BATCH]
            body = self._request(
                "GET",
                "/2/tweets",
                endpoint="GET /2/tweets",
                cost=_Cost("post_read", len(batch)),
                params={"ids": ",".join(batch), self.fields_param: POST_FIELDS},
            )
            now = self._clock()
            out.extend(x_parse.parse_post(obj, observed_at=now) for obj in body.get("data") or [])
        return out

    def metrics(self, *, post_ids: Sequence[str]) -> dict[str, Metrics]:
        return {p.id: p.metrics for p in self.get_posts(post_ids=post_ids) if p.metrics is not None}

    # ------------------------------------------------------------ writes

    def find_published(self, *, account: str, text: str, since: datetime) -> PostRef | None:
        """Reconciliation: the account's post with this text created since `since`, if any."""
        wanted = _normalise(text)
        user_id = self.user_id(account)
        for page in self._pages(
            f"/2/users/{user_id}/tweets",
            endpoint="GET /2/users/:id/tweets",
            params={
                "max_results": 100,
                "start_time": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
            max_posts=300,
        ):
            for post in page:
                if _normalise(post.text) == wanted and post.created_at >= since - timedelta(
                    seconds=5
                ):
                    return PostRef(id=post.id, text=post.text, created_at=post.created_at)
        return None

    def may_reply(self, *, account: str, reply_to: str) -> bool:
        """X policy: a bot replies only to posts that mention or quote it."""
        found = self.get_posts(post_ids=[reply_to])
        if not found:
            raise NotFound(f"cannot reply to {reply_to}: the post does not exist")
        target = found[0]
        if re.search(rf"(?<!\w)@{re.escape(account.lstrip('@'))}\b", target.text, re.IGNORECASE):
            return True
        if target.quote_of_id:
            quoted = self.get_posts(post_ids=[target.quote_of_id])
            return bool(quoted) and quoted[0].author_id == self.user_id(account)
        return False

    def publish(
        self, *, account: str, text: str, idempotency_key: str, reply_to: str | None = None
    ) -> PostRef:
        """Create a post marked made_with_ai; reconcile before any retry so it exists once."""
        if account.lower() not in self._user_auth:
            raise AuthError(f"no user credentials for @{account}: run 'vibeforge auth x' for it")
        if reply_to is not None and not self.may_reply(account=account, reply_to=reply_to):
            raise Forbidden(f"policy: @{account} may reply only to posts that mention or quote it")
        kind = "post_create_with_url" if _URL.search(text) else "post_create"
        body: dict[str, Any] = {"text": text, "made_with_ai": True}
        if reply_to is not None:
            body["reply"] = {"in_reply_to_tweet_id": reply_to}
        started = self._clock() - timedelta(seconds=30)

        def landed() -> dict[str, Any] | None:
            found = self.find_published(account=account, text=text, since=started)
            if found is None:
                return None
            created = found.created_at.isoformat() if found.created_at else None
            return {"data": {"id": found.id, "text": found.text, "created_at": created}}

        answer = self._request(
            "POST",
            "/2/tweets",
            endpoint="POST /2/tweets",
            cost=_Cost(kind, 1),
            json_body=body,
            account=account,
            reconcile=landed,
        )
        return x_parse.parse_post_ref(answer)

    def delete(self, *, account: str, post_id: str) -> bool:
        body = self._request(
            "DELETE", f"/2/tweets/{post_id}", endpoint="DELETE /2/tweets/:id", account=account
        )
        return bool((body.get("data") or {}).get("deleted"))
