"""The X API v2 client: the same code runs against api.x.com and the local sandbox.

- Reads use an app bearer (or any) auth; posting and home timelines use the account's user
  auth (`user_auth={handle: httpx.Auth}`), OAuth 2.0 user context or OAuth 1.0a.
- Rate limits come from `x-rate-limit-*` headers, tracked per credential and endpoint. On 429
  (or a window known to be spent) the client waits until the reset or raises
  `RateLimited(reset_at)`, as the caller chose; a call waits at most `max_rate_limit_waits`
  times and `max_wait_s` seconds in all, then raises: a server that keeps answering 429 (or
  announces a reset already past) never holds a call forever.
- Errors are typed: 401 and 403 "Unsupported Authentication" (an app-only token on a
  user-context endpoint) are `AuthError`; 403 `Forbidden`; 404 `NotFound`. A 200 that carries
  `errors` and no `data` (X's answer for an unknown user's timeline, a missing List) raises
  the same types by its problem type, except on multi-id lookups, where absence is normal.
- Handles and ids are checked before they reach a URL path (`InvalidRequest`, nothing sent),
  and path segments are percent-quoted.
- Platform time (`now()`, publish reconciliation) is the local wall clock corrected by the
  offset of the server's `Date` header, updated on every answer, unless a clock is passed in.
- Network errors and 5xx are retried a bounded number of times with exponential backoff and
  jitter. A create is never blindly retried: after a timeout or 5xx the client first reads the
  account's recent posts, and returns the post if it already exists.
- X's vocabulary changed with spec 2.167 (`post.fields`, `referenced_posts`, `repost_count`,
  `post_count`); the client asks in the current one by default (`fields_param`) and parses
  answers in either.
- Every call is counted in the ledger (per bot, per day) and refused when a budget would break,
  in one place: `_request`, the one path every endpoint's call takes.
- Reads page by `pagination_token` (the answer's `meta.next_token`). The analytics reads (the
  spread reads `likers`, `reposters`, `quotes` of `SpreadReader`; `search_recent`, `mentions`,
  `followers`, `following`) ask each page for no more than the caller still wants (within X's
  `max_results` bounds), so a read is charged for little more than it keeps: X prices reads
  per post or user returned.
"""

from __future__ import annotations

import base64
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import quote

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
    Image,
    InvalidRequest,
    NotFound,
    PlatformError,
    PlatformUnavailable,
    RateLimited,
)
from vibeforge.platforms.ledger import GLOBAL, CallLedger
from vibeforge.platforms.registry import PlatformContext

DEFAULT_BASE_URL = "https://api.x.com"
# the post fields every read asks for, in each vocabulary: spec 2.167's `post.fields` names
# `referenced_posts`; the older `tweet.fields` named it `referenced_tweets`
POST_FIELDS = {
    "post.fields": "created_at,public_metrics,author_id,lang,referenced_posts",
    "tweet.fields": "created_at,public_metrics,author_id,lang,referenced_tweets",
}
USER_FIELDS = "created_at,public_metrics"
# each post's author with their follower count (the reach the reward model normalises by)
AUTHOR_REACH = {"expansions": "author_id", "user.fields": "public_metrics"}
METRICS_BATCH = 100  # X's limit of ids per GET /2/tweets
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_HANDLE = re.compile(r"@?[A-Za-z0-9_]{1,15}")  # X's usernames
_ID = re.compile(r"[0-9]{1,19}")  # X's ids: 64-bit numbers in decimal
SKEW_NOISE_S = 2.0  # a Date header has whole seconds: smaller skews are its resolution
# X's one-shot upload takes images (JPEG, PNG, GIF, WebP) up to 5 MB; a post carries up to 4
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGES = 4
MAX_ALT_TEXT = 1000
USER_TOKEN_FIX = "this call needs the account's user token: run 'vibeforge auth x {handle}'"


def _handle(value: str) -> str:
    """An X handle without its @, or `InvalidRequest` (nothing sent)."""
    if not isinstance(value, str) or not _HANDLE.fullmatch(value):
        raise InvalidRequest(
            f"invalid X handle {value!r}: 1-15 letters, digits or '_' after an optional @"
        )
    return value.removeprefix("@")


def _id(value: str, what: str) -> str:
    """An X id (decimal digits), or `InvalidRequest` (nothing sent)."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise InvalidRequest(f"invalid X {what} {value!r}: ids are 1-19 decimal digits")
    return value


def _seg(value: str) -> str:
    """One URL path segment, quoted (already checked; quoting is the second fence)."""
    return quote(value, safe="")


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


@dataclass(slots=True)
class _Waits:
    """The rate-limit waits one call has made: how many, and for how long in all."""

    count: int = 0
    waited_s: float = 0.0


class _ServerTime:
    """The platform's clock: the local wall clock plus the offset of the server's `Date`
    header, noted on every answer (shared by a client and its `for_bot` views)."""

    def __init__(self, wall: Callable[[], datetime]) -> None:
        self._wall = wall
        self.offset_s = 0.0

    def note(self, value: str | None) -> None:
        if not value:
            return
        try:
            date = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return
        if date.tzinfo is None:
            date = date.replace(tzinfo=UTC)
        # the header's whole second was stamped before the answer left: its middle is nearer
        skew = (date - self._wall()).total_seconds() + 0.5
        self.offset_s = 0.0 if abs(skew) < SKEW_NOISE_S else skew

    def now(self) -> datetime:
        return self._wall() + timedelta(seconds=self.offset_s)


def _normalise(text: str) -> str:
    """Compare texts as X shows them back: URLs shortened, whitespace collapsed."""
    return " ".join(_URL.sub("<url>", text).split())


class XClient:
    """X API v2 over httpx; implements `vibeforge.platforms.base.Platform`."""

    name = "x"
    ai_marking = "made_with_ai"  # every post is created with X's made_with_ai flag set

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
        max_rate_limit_waits: int = 3,
        retries: int = 3,
        backoff_s: float = 0.5,
        timeout_s: float = 30.0,
        max_response_bytes: int = 8 * 1024 * 1024,
        fields_param: Literal["post.fields", "tweet.fields"] = "post.fields",
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] | None = None,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """`max_wait_s` bounds the time one call spends waiting on rate limits in all, and
        `max_rate_limit_waits` the number of its waits; past either it raises `RateLimited`.
        `clock` is platform time; by default the wall clock corrected by the server's `Date`.
        `fields_param` names the post fields in X's current vocabulary (`post.fields`, spec
        2.167) or the older one (`tweet.fields`); answers in either parse the same."""
        if on_rate_limit not in ("wait", "raise"):
            raise ValueError(f"on_rate_limit must be 'wait' or 'raise', not {on_rate_limit!r}")
        if fields_param not in POST_FIELDS:
            raise ValueError(
                f"fields_param must be 'post.fields' (X's spec since 2.167) or 'tweet.fields' "
                f"(the older name), not {fields_param!r}"
            )
        if retries < 0 or backoff_s < 0 or max_wait_s < 0 or max_rate_limit_waits < 0:
            raise ValueError("retries, backoff_s, max_wait_s and max_rate_limit_waits must be >= 0")
        self.base_url = base_url.rstrip("/")
        self._auth = auth
        self._user_auth = dict(user_auth or {})
        self.ledger = ledger or CallLedger()
        self.bot = bot
        self.on_rate_limit = on_rate_limit
        self.max_wait_s = max_wait_s
        self.max_rate_limit_waits = max_rate_limit_waits
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_response_bytes = max_response_bytes
        self.fields_param = fields_param
        self._sleep = sleep
        self._wall = wall_clock
        # the server's clock: x-rate-limit-reset is its epoch seconds, and it is platform time
        self._server_time = _ServerTime(wall_clock)
        # platform time: observation stamps, publish reconciliation
        self._clock = clock or self._server_time.now
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
                    token_file=tokens,  # shared with other processes: refreshed under its lock
                )
        return cls(
            base_url=base_url, auth=BearerAuth(bearer), user_auth=user_auth, ledger=ctx.ledger
        )

    # ------------------------------------------------------------ plumbing

    def now(self) -> datetime:
        """Platform time: the clock passed in (the sandbox's simulated one), or else the wall
        clock plus the offset of the server's `Date` header (the wall's alone until an answer)."""
        return self._clock()

    def _server_now(self) -> datetime:
        """The server's wall clock, as its `Date` headers show it (rate-limit resets)."""
        return self._server_time.now()

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

    def _wait_or_raise(self, reset_at: datetime, endpoint: str, waits: _Waits) -> None:
        """Sleep until `reset_at` (plus half a second), or raise `RateLimited` when the caller
        chose to raise, or this call has waited `max_rate_limit_waits` times already, or the
        wait would take its total past `max_wait_s`."""
        delay = max((reset_at - self._server_now()).total_seconds(), 0.0)
        why = ""
        if self.on_rate_limit == "wait":
            if waits.count >= self.max_rate_limit_waits:
                why = f" (still limited after {waits.count} waits)"
            elif waits.waited_s + delay > self.max_wait_s:
                why = f" (waiting would pass the {self.max_wait_s:g} s bound)"
            else:
                pause = delay + 0.5
                self._sleep(pause)
                waits.count += 1
                waits.waited_s += pause
                return
        raise RateLimited(
            f"rate limited on {endpoint} until {reset_at.isoformat(timespec='seconds')}{why}",
            reset_at=reset_at,
        )

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
        absent_ok: bool = False,
    ) -> dict[str, Any]:
        """One API call, and the only place the ledger is charged: checked against the budgets
        for `cost.most` units before sending, charged once for what the answer returned.

        A call with `reconcile` creates something and is never blindly resent: after an answer
        that leaves it unknown whether the create landed (network error, 5xx) or a duplicate
        refusal, `reconcile()` looks for it and, if found, its answer-shaped body is the call's
        answer (X billed the create); otherwise it is resent a bounded number of times.

        A 2xx answer with `errors` and no `data` raises the error it names (`NotFound`,
        `Forbidden`, `AuthError`, else `PlatformError`) unless `absent_ok`: multi-id lookups,
        where ids X cannot return (deleted posts) are normal, get the answer as it is.
        """
        if cost is not None:
            self.ledger.check(bot=self.bot, kind=cost.kind, units=cost.most)
        waits = _Waits()  # shared by every attempt of this call
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
                    waits=waits,
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
        if not absent_ok and x_parse.errors_without_data(body):
            raise self._error(endpoint, body, status=None, account=account)
        if cost is not None:
            units = _returned(body)
            if units:
                self.ledger.record(bot=self.bot, kind=cost.kind, units=units, endpoint=endpoint)
        return body

    def _error(
        self, endpoint: str, body: Any, *, status: int | None, account: str | None
    ) -> PlatformError:
        """The typed error of an error answer: by HTTP status, or (for a 2xx that carries
        `errors` and no `data`, `status` None) by X's problem type; its `status` is the HTTP
        status the error stands for."""
        message = f"{endpoint}: {x_parse.error_message(body, status=status or 200)}"
        kind = x_parse.problem_kind(body)
        if kind == "unsupported_auth" and status in (None, 401, 403):
            fix = USER_TOKEN_FIX.format(handle=account or "HANDLE")
            return AuthError(f"{message}; {fix}", status=status or 403)
        if status is None:
            if kind == "not_found":
                return NotFound(message, status=404)
            if kind == "forbidden":
                return Forbidden(message, status=403)
            return PlatformError(message, status=400)
        if status == 401:
            return AuthError(message, status=status)
        if status == 403:
            return Forbidden(message, status=status)
        if status == 404:
            return NotFound(message, status=status)
        return PlatformError(message, status=status)

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
        waits: _Waits,
    ) -> dict[str, Any]:
        """One exchange with rate limiting and bounded retries; returns the JSON object."""
        auth = self._auth_for(account)
        key = (id(auth), endpoint)
        attempt = 0
        limited_until: datetime | None = None  # the reset a 429 named
        while True:
            reset_at = limited_until
            if reset_at is None:
                window = self._windows.get(key)
                if window and window.remaining <= 0 and window.reset_at > self._server_now():
                    reset_at = window.reset_at
            limited_until = None
            if reset_at is not None:
                self._wait_or_raise(reset_at, endpoint, waits)  # bounded: raises past the caps
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
                self._server_time.note(response.headers.get("date"))
                self._note_window(key, response.headers)
                status = response.status_code
                if status == 429:
                    reset = response.headers.get("x-rate-limit-reset")
                    limited_until = (
                        datetime.fromtimestamp(int(reset), UTC)
                        if reset and reset.isdigit()
                        else self._server_now() + timedelta(seconds=60)
                    )
                    continue  # the loop's head waits (or raises) before sending again
                if status >= 500:
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
                raise self._error(endpoint, body, status=status, account=account)
            if not isinstance(body, dict):
                raise PlatformError(f"malformed API JSON from {endpoint}: not an object")
            return body

    # ------------------------------------------------------------ reads

    def account(self, *, handle: str) -> Account:
        handle = _handle(handle)
        body = self._request(
            "GET",
            f"/2/users/by/username/{_seg(handle)}",
            endpoint="GET /2/users/by/username/:username",
            cost=_Cost("user_read", 1),
            params={"user.fields": USER_FIELDS},
        )
        if "data" not in body:
            raise NotFound(f"no account @{handle}: {x_parse.error_message(body, status=404)}")
        acc = x_parse.parse_account(body["data"])
        if not _ID.fullmatch(acc.id):  # it goes into URL paths next
            raise PlatformError(f"malformed API JSON: user id {acc.id[:40]!r} is not a number")
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
        key = _handle(handle).lower()
        if key not in self._user_ids:
            self.account(handle=key)
        return self._user_ids[key]

    def _bodies(
        self,
        path: str,
        *,
        endpoint: str,
        kind: str,
        params: dict[str, Any],
        limit: int,
        sizes: tuple[int, int],
        account: str | None = None,
    ) -> Iterator[tuple[dict[str, Any], list[Any]]]:
        """The answers of a paginated read, each with its `data` list, until `limit` objects
        came back or `meta.next_token` ends the pages (sent back as `pagination_token`).

        A page asks for what is left of `limit` within X's bounds of `max_results` (`sizes`:
        fewest, most), so the budgets are checked for that many and the ledger is charged
        (as `kind`) for what the page returned: X prices reads per resource returned."""
        lo, hi = sizes
        token: str | None = None
        fetched = 0
        while fetched < limit:
            size = max(lo, min(hi, limit - fetched))
            query = {**params, "max_results": size}
            if token:
                query["pagination_token"] = token
            body = self._request(
                "GET",
                path,
                endpoint=endpoint,
                cost=_Cost(kind, size),
                params=query,
                account=account,
            )
            data = body.get("data") or []
            if not isinstance(data, list):
                raise PlatformError(f"malformed API JSON from {endpoint}: data is not a list")
            yield body, data
            fetched += len(data)
            token = (body.get("meta") or {}).get("next_token")
            if not token or not data:
                return

    def _pages(
        self,
        path: str,
        *,
        endpoint: str,
        params: dict[str, Any],
        account: str | None = None,
        max_posts: int,
        sizes: tuple[int, int] | None = None,
    ) -> Iterator[list[Post]]:
        """Pages of posts with their authors' reach: each of `params["max_results"]` posts, or
        with `sizes` (X's bounds) of what is left of `max_posts`."""
        fixed = params.get("max_results", 100)
        for body, data in self._bodies(
            path,
            endpoint=endpoint,
            kind="post_read",
            params={**params, self.fields_param: POST_FIELDS[self.fields_param], **AUTHOR_REACH},
            limit=max_posts,
            sizes=sizes or (fixed, fixed),
            account=account,
        ):
            now = self._clock()
            yield x_parse.with_author_followers(
                [x_parse.parse_post(obj, observed_at=now) for obj in data], body
            )

    def _posts(
        self,
        path: str,
        *,
        endpoint: str,
        limit: int,
        least: int,
        params: dict[str, Any] | None = None,
        account: str | None = None,
    ) -> list[Post]:
        """Up to `limit` posts of a paginated read, newest first, in pages of `least` to 100."""
        out: list[Post] = []
        for page in self._pages(
            path,
            endpoint=endpoint,
            params=params or {},
            account=account,
            max_posts=limit,
            sizes=(least, 100),
        ):
            out.extend(page)
        return out[:limit]

    def _people(
        self,
        path: str,
        *,
        endpoint: str,
        limit: int,
        most: int = 100,
        account: str | None = None,
    ) -> list[Account]:
        """Up to `limit` users of a paginated read, pages of at most `most`."""
        out: list[Account] = []
        for _, data in self._bodies(
            path,
            endpoint=endpoint,
            kind="user_read",
            params={"user.fields": USER_FIELDS},
            limit=limit,
            sizes=(1, most),
            account=account,
        ):
            out.extend(x_parse.parse_account(u) for u in data)
        return out[:limit]

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
        without_reposts: bool = False,
    ) -> list[Post]:
        params: dict[str, Any] = {"max_results": max(min(100, max_posts), min_results)}
        if since_id and send_since:
            params["since_id"] = since_id
        if without_reposts:  # X charges per post returned: reposts ingest would drop
            params["exclude"] = "retweets"
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
        """Raw posts (not yet scrubbed) of a List, a set of accounts or a home timeline.

        An account's posts and a home timeline are asked without reposts (`exclude=retweets`),
        which ingest would drop (loop/ingest.py); X's List timeline takes no `exclude`, so its
        reposts come back, marked by `Post.repost_of_id`."""
        if source.kind is TimelineKind.LIST:
            # X's List timeline takes no since_id: page until we reach the cursor
            posts = self._collect(
                f"/2/lists/{_seg(_id(source.source, 'list id'))}/tweets",
                endpoint="GET /2/lists/:id/tweets",
                since_id=since_id,
                max_posts=max_posts,
                send_since=False,
                min_results=1,
            )
        elif source.kind is TimelineKind.HANDLES:
            posts = []
            for handle in [_handle(h) for h in source.handles]:  # all checked before any call
                posts.extend(
                    self._collect(
                        f"/2/users/{_seg(self.user_id(handle))}/tweets",
                        endpoint="GET /2/users/:id/tweets",
                        since_id=since_id,
                        max_posts=max_posts,
                        without_reposts=True,
                    )
                )
        elif source.kind is TimelineKind.FEED:
            raise InvalidRequest(
                f"timeline {source.name!r}: X has no custom feeds; use a list, handles or home"
            )
        else:
            handle = _handle(source.source)
            posts = self._collect(
                f"/2/users/{_seg(self.user_id(handle))}/timelines/reverse_chronological",
                endpoint="GET /2/users/:id/timelines/reverse_chronological",
                since_id=since_id,
                max_posts=max_posts,
                account=handle,
                min_results=1,
                without_reposts=True,
            )
        posts.sort(key=lambda p: (p.created_at, post_id_key(p.id)), reverse=True)
        return posts[:max_posts]

    def list_members(self, *, list_id: str, max_users: int = 1000) -> list[Account]:
        return self._people(
            f"/2/lists/{_seg(_id(list_id, 'list id'))}/members",
            endpoint="GET /2/lists/:id/members",
            limit=max_users,
        )

    def get_posts(self, *, post_ids: Sequence[str]) -> list[Post]:
        """Posts by id, 100 per call; ids X cannot return (deleted, unknown) are skipped."""
        out: list[Post] = []
        ids = [_id(i, "post id") for i in dict.fromkeys(post_ids)]
        for start in range(0, len(ids), METRICS_BATCH):
            batch = ids[start : start + METRICS_BATCH]
            body = self._request(
                "GET",
                "/2/tweets",
                endpoint="GET /2/tweets",
                cost=_Cost("post_read", len(batch)),
                params={
                    "ids": ",".join(batch),
                    # withheld: compliance removes withheld posts downstream like deleted ones
                    self.fields_param: POST_FIELDS[self.fields_param] + ",withheld",
                    **AUTHOR_REACH,
                },
                absent_ok=True,  # deleted or unknown ids: the others still come back
            )
            now = self._clock()
            parsed = [x_parse.parse_post(obj, observed_at=now) for obj in body.get("data") or []]
            out.extend(x_parse.with_author_followers(parsed, body))
        return out

    def metrics(self, *, post_ids: Sequence[str]) -> dict[str, Metrics]:
        return {p.id: p.metrics for p in self.get_posts(post_ids=post_ids) if p.metrics is not None}

    # ------------------------------------------------------------ spread reads

    def likers(
        self, *, post_id: str, limit: int = 1000, account: str | None = None
    ) -> list[Account]:
        """Who liked a post, newest first (`GET /2/tweets/:id/liking_users`, user reads). X
        serves it to user context only: `account` names whose user token asks; by default the
        client's own auth (an app bearer gets `AuthError`)."""
        return self._people(
            f"/2/tweets/{_seg(_id(post_id, 'post id'))}/liking_users",
            endpoint="GET /2/tweets/:id/liking_users",
            limit=limit,
            account=account,
        )

    def reposters(self, *, post_id: str, limit: int = 1000) -> list[Account]:
        """Who reposted a post, newest first (`GET /2/tweets/:id/retweeted_by`, user reads)."""
        return self._people(
            f"/2/tweets/{_seg(_id(post_id, 'post id'))}/retweeted_by",
            endpoint="GET /2/tweets/:id/retweeted_by",
            limit=limit,
        )

    def quotes(self, *, post_id: str, limit: int = 1000) -> list[Post]:
        """Posts quoting a post, newest first (`GET /2/tweets/:id/quote_tweets`, post reads)."""
        return self._posts(
            f"/2/tweets/{_seg(_id(post_id, 'post id'))}/quote_tweets",
            endpoint="GET /2/tweets/:id/quote_tweets",
            limit=limit,
            least=10,
        )

    def search_recent(
        self, *, query: str, limit: int = 100, since_id: str | None = None
    ) -> list[Post]:
        """Posts of the last 7 days matching `query`, X's operators and all (`from:`, `-is:`,
        `"phrases"`), newest first (`GET /2/tweets/search/recent`, post reads)."""
        if not isinstance(query, str) or not query.strip():
            raise InvalidRequest(f"invalid X search query {query!r}: it must not be empty")
        params = {"query": query}
        if since_id is not None:
            params["since_id"] = _id(since_id, "post id (since_id)")
        return self._posts(
            "/2/tweets/search/recent",
            endpoint="GET /2/tweets/search/recent",
            limit=limit,
            least=10,
            params=params,
        )

    def mentions(self, *, handle: str, limit: int = 100) -> list[Post]:
        """Posts mentioning an account, newest first (`GET /2/users/:id/mentions`, post reads;
        the handle's id is looked up once, a user read)."""
        return self._posts(
            f"/2/users/{_seg(self.user_id(handle))}/mentions",
            endpoint="GET /2/users/:id/mentions",
            limit=limit,
            least=5,
        )

    def followers(self, *, handle: str, limit: int = 1000) -> list[Account]:
        """An account's followers (`GET /2/users/:id/followers`, user reads, 1,000 a page)."""
        return self._people(
            f"/2/users/{_seg(self.user_id(handle))}/followers",
            endpoint="GET /2/users/:id/followers",
            limit=limit,
            most=1000,
        )

    def following(self, *, handle: str, limit: int = 1000) -> list[Account]:
        """The accounts an account follows (`GET /2/users/:id/following`, user reads)."""
        return self._people(
            f"/2/users/{_seg(self.user_id(handle))}/following",
            endpoint="GET /2/users/:id/following",
            limit=limit,
            most=1000,
        )

    # ------------------------------------------------------------ writes

    def find_published(self, *, account: str, text: str, since: datetime) -> PostRef | None:
        """Reconciliation: the account's post with this text created since `since`, if any."""
        wanted = _normalise(text)
        user_id = self.user_id(account)
        for page in self._pages(
            f"/2/users/{_seg(user_id)}/tweets",
            endpoint="GET /2/users/:id/tweets",
            params={
                "max_results": 100,
                "start_time": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "exclude": "retweets",  # a repost is never the post being looked for
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

    def _poster(self, account: str) -> str:
        """The handle of an account this client holds user credentials for."""
        account = _handle(account)
        if account.lower() not in self._user_auth:
            raise AuthError(f"no user credentials for @{account}: run 'vibeforge auth x' for it")
        return account

    @staticmethod
    def _check_image(data: bytes, mime: str, alt: str | None) -> None:
        if mime not in IMAGE_TYPES:
            raise InvalidRequest(
                f"X takes images as {', '.join(sorted(IMAGE_TYPES))}, not {mime!r}"
            )
        if not data or len(data) > MAX_IMAGE_BYTES:
            raise InvalidRequest(
                f"an image must hold 1 to {MAX_IMAGE_BYTES} bytes (5 MB), not {len(data)}"
            )
        if alt is not None and len(alt) > MAX_ALT_TEXT:
            raise InvalidRequest(f"alt text is {len(alt)} characters; X takes {MAX_ALT_TEXT}")

    def upload_media(self, *, account: str, data: bytes, mime: str, alt: str | None = None) -> str:
        """Upload an image as `account` (X's one-shot `POST /2/media/upload`, the file
        base64-encoded in JSON) and give it alt text (`POST /2/media/metadata`) when `alt` is
        not empty; returns the media id, which the account can attach for 24 hours."""
        account = self._poster(account)
        self._check_image(data, mime, alt)
        answer = self._request(
            "POST",
            "/2/media/upload",
            endpoint="POST /2/media/upload",
            cost=_Cost("media_upload", 1),
            json_body={
                "media": base64.b64encode(data).decode("ascii"),
                "media_category": "tweet_image",
            },
            account=account,
        )
        media_id = x_parse.parse_media_id(answer)
        if alt:
            self._request(
                "POST",
                "/2/media/metadata",
                endpoint="POST /2/media/metadata",
                cost=_Cost("media_metadata", 1),
                json_body={"id": media_id, "metadata": {"alt_text": {"text": alt}}},
                account=account,
            )
        return media_id

    def publish(
        self,
        *,
        account: str,
        text: str,
        idempotency_key: str,
        reply_to: str | None = None,
        quote_of: str | None = None,
        images: Sequence[Image] = (),
    ) -> PostRef:
        """Create a post marked made_with_ai: a reply (`reply.in_reply_to_tweet_id`), a quote
        (`quote_tweet_id`) or neither, with up to 4 images (each uploaded first; X's spec makes
        `media` and `quote_tweet_id` mutually exclusive, so a quote carries none); the create
        is reconciled before any retry, so the post exists once."""
        account = self._poster(account)
        if reply_to is not None:
            _id(reply_to, "post id to reply to")
        if quote_of is not None:
            _id(quote_of, "post id to quote")
            if images:
                raise InvalidRequest(
                    "an X post carries images or quotes a post, not both (the spec makes "
                    "media and quote_tweet_id mutually exclusive)"
                )
        if len(images) > MAX_IMAGES:
            raise InvalidRequest(
                f"an X post carries at most {MAX_IMAGES} images, not {len(images)}"
            )
        for image in images:  # all checked before anything is sent
            self._check_image(image.data, image.mime, image.alt)
        if reply_to is not None and not self.may_reply(account=account, reply_to=reply_to):
            raise Forbidden(f"policy: @{account} may reply only to posts that mention or quote it")
        kind = "post_create_with_url" if _URL.search(text) else "post_create"
        body: dict[str, Any] = {"text": text, "made_with_ai": True}
        if reply_to is not None:
            body["reply"] = {"in_reply_to_tweet_id": reply_to}
        if quote_of is not None:
            body["quote_tweet_id"] = quote_of
        if images:
            # uploaded once: a retried create reuses these ids (reconciled by text first)
            body["media"] = {
                "media_ids": [
                    self.upload_media(
                        account=account, data=image.data, mime=image.mime, alt=image.alt
                    )
                    for image in images
                ]
            }
        started, t0 = self._clock() - timedelta(seconds=30), time.monotonic()

        def landed() -> dict[str, Any] | None:
            # platform time again, now that an answer's Date (the account lookup's at least)
            # has set the offset: a fresh process's first call may be this create
            self.user_id(account)
            now = self._clock() - timedelta(seconds=time.monotonic() - t0 + 30)
            found = self.find_published(account=account, text=text, since=min(started, now))
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
        path = f"/2/tweets/{_seg(_id(post_id, 'post id'))}"
        body = self._request("DELETE", path, endpoint="DELETE /2/tweets/:id", account=account)
        return bool((body.get("data") or {}).get("deleted"))
