"""The Bluesky client (AT Protocol, on the `atproto` SDK): the same code runs against a PDS such
as bsky.social and against the sandbox's XRPC face.

- Accounts log in with an app password (`credentials={handle: app_password}`); a session is
  kept per account, refreshed by the SDK, and saved to `session_dir` (owner-only) so a restart
  does not spend `createSession`'s tight limit (30 per 5 minutes).
- Publishing is idempotent by construction: the record key is derived from the outbox's
  idempotency key (`bluesky_parse.rkey_for`), so a retry after a crash or an unknown outcome
  either creates the post or finds it with `getRecord`, never a second one.
- Posts carry facets built from the text (mentions, links, tags), strong refs for replies and
  quotes, images with alt text, and the `bot` self-label; the account's profile is labelled
  `bot` once before its first post.
- Rate limits are Bluesky's (write points per account: create 3, update 2, delete 1; 5,000 an
  hour, 35,000 a day): on 429 the client waits until `ratelimit-reset` and says why (the policy
  it hit), or raises `RateLimited(reset_at)`, as the caller chose, within bounds like the X
  client's. Every call goes in the ledger: reads by items returned, writes by points.
- Errors are typed (`AuthError`, `NotFound`, `InvalidRequest`, `PlatformUnavailable`, …);
  reads are retried on network errors and 5xx, a create never blindly.
- Reach: feed items name their authors with `ProfileViewBasic`, which has no follower count,
  so a timeline read fills `Post.author_followers` from `app.bsky.actor.getProfiles` (25
  actors a call), each author's count kept `reach_ttl_s` of platform time: one lookup per
  author a day, not one per poll.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Literal, TypeVar

from atproto import Client, models
from atproto_client import exceptions as sdk

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
from vibeforge.platforms import bluesky_parse as bp
from vibeforge.platforms.base import (
    AuthError,
    Forbidden,
    InvalidRequest,
    NotFound,
    PlatformError,
    PlatformUnavailable,
    RateLimited,
)
from vibeforge.platforms.base import Image as Image  # it lived here first; still importable
from vibeforge.platforms.ledger import GLOBAL, CallLedger
from vibeforge.platforms.registry import PlatformContext

log = logging.getLogger(__name__)
DEFAULT_PDS = "https://bsky.social"
PUBLIC_APPVIEW = "https://public.api.bsky.app"  # reads without an account
POSTS_BATCH = 25  # app.bsky.feed.getPosts takes at most 25 URIs
PROFILES_BATCH = 25  # app.bsky.actor.getProfiles takes at most 25 actors
REACH_TTL_S = 86_400.0  # how long an author's follower count is reused (platform time)
PAGE = 100
POINTS = {"create": 3, "update": 2, "delete": 1}
POLICY_WINDOWS = {"3600": "write points per hour", "86400": "write points per day"}
NOT_FOUND_ERRORS = {"RecordNotFound", "NotFound", "BlobNotFound", "UnknownFeed", "UnknownList"}
AUTH_ERRORS = {
    "AuthenticationRequired",
    "AuthRequired",
    "ExpiredToken",
    "InvalidToken",
    "AccountTakedown",
    "AccountDeactivated",
}
T = TypeVar("T")


@dataclass(slots=True)
class _Waits:
    count: int = 0
    waited_s: float = 0.0


def _why(exc: sdk.RequestErrorBase) -> tuple[str | None, str]:
    """(XRPC error name, message) of an SDK error."""
    content = exc.response.content if exc.response is not None else None
    error = getattr(content, "error", None)
    message = getattr(content, "message", None) or error or type(exc).__name__
    return error, str(message)


class BlueskyClient:
    """Bluesky over the atproto SDK; implements `vibeforge.platforms.base.Platform`."""

    name = "bluesky"

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_PDS,
        credentials: Mapping[str, str] | None = None,
        reader: str | None = None,
        appview_url: str | None = None,
        ledger: CallLedger | None = None,
        bot: str = GLOBAL,
        on_rate_limit: Literal["wait", "raise"] = "wait",
        max_wait_s: float = 900.0,
        max_rate_limit_waits: int = 3,
        retries: int = 3,
        backoff_s: float = 0.5,
        home: Path | None = None,
        label_bot: bool = True,
        author_reach: bool = True,
        reach_ttl_s: float = REACH_TTL_S,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """`reader`: the account whose session reads (default: the first one; none: anonymous
        reads from `appview_url`, Bluesky's public AppView for the default PDS). `home`: where
        sessions are kept (`tokens/bluesky-<handle>.json`); None keeps them in memory.
        `author_reach`: fill timeline posts' author follower counts with `getProfiles`, each
        author's kept `reach_ttl_s` seconds of platform time."""
        if on_rate_limit not in ("wait", "raise"):
            raise ValueError(f"on_rate_limit must be 'wait' or 'raise', not {on_rate_limit!r}")
        if retries < 0 or backoff_s < 0 or max_wait_s < 0 or max_rate_limit_waits < 0:
            raise ValueError("retries, backoff_s, max_wait_s and max_rate_limit_waits must be >= 0")
        if not reach_ttl_s >= 0:
            raise ValueError(
                f"reach_ttl_s ({reach_ttl_s}) must be >= 0 seconds; 86400 reads each author's "
                "follower count once a day"
            )
        self.base_url = base_url.rstrip("/")
        self._credentials = {k.lower().lstrip("@"): v for k, v in (credentials or {}).items()}
        if reader is not None and reader.lower().lstrip("@") not in self._credentials:
            raise ValueError(f"reader {reader!r} has no credentials; give its app password")
        self.reader = (reader or next(iter(self._credentials), "")).lower().lstrip("@") or None
        default_appview = PUBLIC_APPVIEW if self.base_url == DEFAULT_PDS else self.base_url
        self.appview_url = (appview_url or default_appview).rstrip("/")
        self.ledger = ledger or CallLedger()
        self.bot = bot
        self.on_rate_limit = on_rate_limit
        self.max_wait_s = max_wait_s
        self.max_rate_limit_waits = max_rate_limit_waits
        self.retries = retries
        self.backoff_s = backoff_s
        self.home = home
        self.label_bot = label_bot
        self.author_reach = author_reach
        self.reach_ttl_s = float(reach_ttl_s)
        self._sleep = sleep
        self._clock = clock or (lambda: datetime.now(UTC))
        self._sessions: dict[str, Client] = {}
        self._anonymous: Client | None = None
        self._labelled: set[str] = set()
        self._dids: dict[str, str] = {}
        # author DID → (platform time read, follower count or None): shared by for_bot views
        self._reach: dict[str, tuple[datetime, int | None]] = {}
        self._lock = threading.RLock()

    @classmethod
    def from_context(cls, ctx: PlatformContext) -> BlueskyClient:
        """Real Bluesky (registered as "bluesky"): each bot account's app password from
        VIBEFORGE_BLUESKY_APP_PASSWORDS ("handle:password,handle2:password2") or the secrets
        file; sessions kept under `home/tokens`."""
        raw = ctx.secrets.get("app_passwords", "")
        credentials: dict[str, str] = dict(ctx.user_tokens)
        for item in filter(None, (part.strip() for part in raw.split(","))):
            handle, sep, password = item.partition(":")
            if not sep or not handle or not password:
                raise ConfigError(
                    "VIBEFORGE_BLUESKY_APP_PASSWORDS must be 'handle:app-password' pairs "
                    "separated by commas (create app passwords under Settings > App passwords)"
                )
            credentials[handle.strip()] = password.strip()
        missing = [h for h in ctx.handles if h.lower() not in {k.lower() for k in credentials}]
        if missing:
            raise ConfigError(
                f"platform bluesky needs an app password for {', '.join(missing)}: add "
                "'handle:app-password' to VIBEFORGE_BLUESKY_APP_PASSWORDS"
            )
        return cls(
            base_url=ctx.base_url or DEFAULT_PDS,
            credentials=credentials,
            ledger=ctx.ledger,
            home=ctx.home,
        )

    # ------------------------------------------------------------ plumbing

    def now(self) -> datetime:
        """Platform time: the clock passed in (the sandbox's), else the wall clock."""
        return self._clock()

    @property
    def ai_marking(self) -> str | None:
        """The platform's AI marking its posts carry: Bluesky's `bot` self-label (on each post
        and the profile), or none when `label_bot` is off."""
        return "self-label bot" if self.label_bot else None

    def for_bot(self, bot: str) -> BlueskyClient:
        """A view of this client whose calls are charged to `bot` (shares sessions)."""
        clone = object.__new__(BlueskyClient)
        clone.__dict__.update(self.__dict__)
        clone.bot = bot
        return clone

    def close(self) -> None:
        with self._lock:
            for client in [*self._sessions.values(), self._anonymous]:
                if client is not None:
                    client.request.close()
            self._sessions.clear()
            self._anonymous = None

    def __enter__(self) -> BlueskyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _session_file(self, account: str) -> Path | None:
        return None if self.home is None else Home(self.home).token_file("bluesky", account)

    def session(self, account: str) -> Client:
        """The logged-in SDK client of `account` (logging in on first use)."""
        key = account.lower().lstrip("@")
        with self._lock:
            if key in self._sessions:
                return self._sessions[key]
            password = self._credentials.get(key)
            if password is None:
                raise AuthError(
                    f"no app password for {account}: add 'handle:app-password' to "
                    "VIBEFORGE_BLUESKY_APP_PASSWORDS"
                )
            client = Client(base_url=self.base_url)
            path = self._session_file(key)
            if not (path and path.exists() and self._resume(client, path)):
                self._call(
                    "com.atproto.server.createSession",
                    lambda: client.login(key, password, fetch_bsky_profile=False),
                    retry=True,
                )
            if path is not None:
                self._save_session(client, path)
                client.on_session_change(lambda _event, _s: self._save_session(client, path))
            self._sessions[key] = client
            if client._session is not None:
                self._dids[key] = client._session.did
            return client

    def _resume(self, client: Client, path: Path) -> bool:
        try:
            client.login(session_string=path.read_text().strip(), fetch_bsky_profile=False)
            client.com.atproto.server.get_session()
        except (sdk.AtProtocolError, ValueError, OSError) as exc:
            log.info("stored Bluesky session %s not usable (%s); logging in again", path, exc)
            return False
        return True

    @staticmethod
    def _save_session(client: Client, path: Path) -> None:
        from vibeforge.atomic import atomic_write_text

        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, client.export_session_string(), mode=0o600)

    def did(self, account: str) -> str:
        """The DID of one of our accounts (logging it in)."""
        key = account.lower().lstrip("@")
        if key not in self._dids:
            client = self.session(key)
            if key not in self._dids:
                session = client._session
                if session is None:
                    raise AuthError(f"{account} is not logged in")
                self._dids[key] = session.did
        return self._dids[key]

    def _reading(self) -> Client:
        if self.reader is not None:
            return self.session(self.reader)
        with self._lock:
            if self._anonymous is None:
                self._anonymous = Client(base_url=self.appview_url)
            return self._anonymous

    def _wait_or_raise(self, exc: sdk.RateLimitExceededError, nsid: str, waits: _Waits) -> None:
        reset_at = exc.reset_at or datetime.now(UTC) + timedelta(seconds=exc.retry_after or 60)
        policy = exc.policy or "unknown policy"
        window = policy.partition(";w=")[2]
        what = POLICY_WINDOWS.get(window, f"requests per {window or '?'} s")
        if nsid == "com.atproto.server.createSession":
            what = "logins per account"
        delay = max((reset_at - datetime.now(UTC)).total_seconds(), 0.0)
        why = (
            f"rate limited on {nsid}: {exc.limit if exc.limit is not None else '?'} {what} "
            f"(policy {policy}) spent until {reset_at.isoformat(timespec='seconds')}"
        )
        if self.on_rate_limit == "wait":
            if waits.count >= self.max_rate_limit_waits:
                why += f" (still limited after {waits.count} waits)"
            elif waits.waited_s + delay > self.max_wait_s:
                why += f" (waiting {delay:.0f} s would pass the {self.max_wait_s:g} s bound)"
            else:
                log.warning("%s; waiting %.0f s", why, delay + 0.5)
                self._sleep(delay + 0.5)
                waits.count += 1
                waits.waited_s += delay + 0.5
                return
        raise RateLimited(why, reset_at=reset_at)

    def _error(self, nsid: str, exc: sdk.RequestErrorBase) -> PlatformError:
        status = exc.response.status_code if exc.response is not None else None
        error, message = _why(exc)
        text = f"{nsid}: {message}" + (f" ({error})" if error and error != message else "")
        if error in AUTH_ERRORS or status == 401:
            return AuthError(text, status=status or 401)
        # the AppView answers an unknown profile, list or post as InvalidRequest "... not found"
        lost = error == "InvalidRequest" and "not found" in message.lower()
        if error in NOT_FOUND_ERRORS or status == 404 or lost:
            return NotFound(text, status=status or 404)
        if status == 403:
            return Forbidden(text, status=status)
        return PlatformError(text, status=status)

    def _call(
        self,
        nsid: str,
        fn: Callable[[], T],
        *,
        write: str | None = None,
        units: Callable[[T], int] = lambda _: 1,
        retry: bool = True,
    ) -> T:
        """One XRPC call with typed errors, rate-limit waits, bounded retries of transient
        failures (never for a write unless `retry`), charged to the ledger once."""
        kind = "bsky_write" if write else "bsky_read"
        points = POINTS[write] if write else 0
        self.ledger.check(bot=self.bot, kind=kind, units=points)
        waits, attempt = _Waits(), 0
        while True:
            try:
                result = fn()
            except sdk.RateLimitExceededError as exc:
                self._wait_or_raise(exc, nsid, waits)  # a 429 wrote nothing: safe to resend
                continue
            except (sdk.NetworkError, sdk.RequestException) as exc:
                status = exc.response.status_code if exc.response is not None else None
                transient = status is None or status >= 500
                if transient and retry and attempt < self.retries:
                    self._sleep(self.backoff_s * (2**attempt) * (0.5 + random.random()))
                    attempt += 1
                    continue
                if transient:
                    raise PlatformUnavailable(
                        f"{nsid}: {'network error' if status is None else f'HTTP {status}'}: "
                        f"{_why(exc)[1]}",
                        status=status,
                    ) from exc
                raise self._error(nsid, exc) from exc
            except (sdk.UnauthorizedError, sdk.BadRequestError) as exc:
                raise self._error(nsid, exc) from exc
            except sdk.LoginRequiredError as exc:
                raise AuthError(f"{nsid}: {exc}") from exc
            except sdk.ModelError as exc:
                raise PlatformError(f"malformed API JSON from {nsid}: {exc}") from exc
            self.ledger.record(
                bot=self.bot, kind=kind, units=points or units(result), endpoint=nsid
            )
            return result

    # ------------------------------------------------------------ reads

    def account(self, *, handle: str) -> Account:
        profile = self._call(
            "app.bsky.actor.getProfile",
            lambda: self._reading().app.bsky.actor.get_profile({"actor": handle.lstrip("@")}),
        )
        return bp.parse_account(profile)

    def resolve_handle(self, handle: str) -> str | None:
        """The DID of a handle, or None when it does not resolve."""
        try:
            answer = self._call(
                "com.atproto.identity.resolveHandle",
                lambda: self._reading().com.atproto.identity.resolve_handle({"handle": handle}),
            )
        except (NotFound, PlatformError) as exc:
            if isinstance(exc, PlatformUnavailable | AuthError):
                raise
            return None
        return str(answer.did)

    def _feed_pages(
        self, nsid: str, fetch: Callable[[str | None], Any], *, max_posts: int
    ) -> Iterator[list[Post]]:
        cursor: str | None = None
        fetched = 0
        while fetched < max_posts:
            page = self._call(nsid, partial(fetch, cursor), units=lambda r: len(r.feed))
            now = self._clock()
            # reposts carry someone else's post: the author's own posts only
            posts = [bp.parse_post(i.post, observed_at=now) for i in page.feed if not i.reason]
            fetched += len(page.feed)
            yield posts
            cursor = page.cursor
            if not cursor or not page.feed:
                return

    def _collect(
        self,
        nsid: str,
        fetch: Callable[[str | None], Any],
        *,
        since_id: str | None,
        max_posts: int,
    ) -> list[Post]:
        """Pages newest first until a page reaches `since_id`. Our own hashed record keys carry
        no time: they are kept (ingest deduplicates) and never end the paging."""
        out: list[Post] = []
        for page in self._feed_pages(nsid, fetch, max_posts=max_posts):
            reached = False
            for post in page:
                hashed = bp.is_hashed(post.id.rpartition("/")[2])
                if since_id is None or hashed or post_id_newer(post.id, since_id):
                    out.append(post)
                else:
                    reached = True
            if reached:
                break
        return out

    def timeline(
        self, *, source: Timeline, since_id: str | None = None, max_posts: int = 800
    ) -> list[Post]:
        """Raw posts (not yet scrubbed): a list feed, accounts' author feeds, an account's home
        timeline, or a custom feed, newest first."""
        limit = min(PAGE, max(max_posts, 1))
        if source.kind is TimelineKind.LIST:
            uri = bp.check_at_uri(source.source, "app.bsky.graph.list", "list")
            posts = self._collect(
                "app.bsky.feed.getListFeed",
                lambda c: self._reading().app.bsky.feed.get_list_feed(
                    {"list": uri, "limit": limit, "cursor": c}
                ),
                since_id=since_id,
                max_posts=max_posts,
            )
        elif source.kind is TimelineKind.FEED:
            uri = bp.check_at_uri(source.source, "app.bsky.feed.generator", "feed")
            posts = self._collect(
                "app.bsky.feed.getFeed",
                lambda c: self._reading().app.bsky.feed.get_feed(
                    {"feed": uri, "limit": limit, "cursor": c}
                ),
                since_id=since_id,
                max_posts=max_posts,
            )
        elif source.kind is TimelineKind.HANDLES:
            posts = []
            for handle in source.handles:
                posts.extend(
                    self._collect(
                        "app.bsky.feed.getAuthorFeed",
                        partial(self._author_page, handle, limit),
                        since_id=since_id,
                        max_posts=max_posts,
                    )
                )
        else:
            home = self.session(source.source)
            posts = self._collect(
                "app.bsky.feed.getTimeline",
                lambda c: home.app.bsky.feed.get_timeline({"limit": limit, "cursor": c}),
                since_id=since_id,
                max_posts=max_posts,
            )
        unique = {p.id: p for p in posts}
        ordered = sorted(unique.values(), key=lambda p: (p.created_at, post_id_key(p.id)))
        return self._with_reach(ordered[::-1][:max_posts])

    def _with_reach(self, posts: list[Post]) -> list[Post]:
        """The posts with their authors' follower counts: cached ones, the rest read with
        `getProfiles` (25 a call). An author the AppView does not return (deleted, taken
        down) keeps None and is not asked again until its entry expires; when the lookup
        itself fails the posts keep None and the next read asks again."""
        if not self.author_reach or not posts:
            return posts
        now = self._clock()
        ttl = timedelta(seconds=self.reach_ttl_s)
        known: dict[str, int | None] = {}
        with self._lock:
            for did, (read_at, count) in list(self._reach.items()):
                if read_at <= now < read_at + ttl:  # a clock set back (a reseed) reads again
                    known[did] = count
                else:
                    del self._reach[did]
        stale = [d for d in dict.fromkeys(p.author_id for p in posts) if d not in known]
        for start in range(0, len(stale), PROFILES_BATCH):
            batch = stale[start : start + PROFILES_BATCH]
            try:
                answer = self._call(
                    "app.bsky.actor.getProfiles",
                    partial(self._profiles_page, batch),
                    units=lambda r: len(r.profiles),
                )
            except PlatformError as exc:
                # the posts were read: they go on without reach rather than being lost
                log.warning(
                    "follower counts of %d authors not read (%s); their posts keep none",
                    len(stale) - start,
                    exc,
                )
                break
            counts = bp.follower_counts(answer.profiles)
            fresh = {did: counts.get(did) for did in batch}
            with self._lock:
                self._reach.update((did, (now, count)) for did, count in fresh.items())
            known.update(fresh)
        return bp.with_author_followers(posts, known)

    def _profiles_page(self, actors: list[str]) -> Any:
        return self._reading().app.bsky.actor.get_profiles({"actors": actors})

    def get_posts(self, *, post_ids: Sequence[str]) -> list[Post]:
        """Posts by id, 25 per call; deleted or unknown ones are skipped."""
        uris = [bp.post_uri(i) for i in dict.fromkeys(post_ids)]
        out: list[Post] = []
        for start in range(0, len(uris), POSTS_BATCH):
            batch = uris[start : start + POSTS_BATCH]
            answer = self._call(
                "app.bsky.feed.getPosts",
                partial(self._get_posts_page, batch),
                units=lambda r: len(r.posts),
            )
            now = self._clock()
            out.extend(bp.parse_post(view, observed_at=now) for view in answer.posts)
        return out

    def _author_page(self, actor: str, limit: int, cursor: str | None) -> Any:
        return self._reading().app.bsky.feed.get_author_feed(
            {"actor": actor, "limit": limit, "cursor": cursor}
        )

    def _get_posts_page(self, uris: list[str]) -> Any:
        return self._reading().app.bsky.feed.get_posts({"uris": uris})

    def _quotes_page(self, uri: str, cursor: str | None) -> Any:
        return self._reading().app.bsky.feed.get_quotes(
            {"uri": uri, "limit": PAGE, "cursor": cursor}
        )

    def metrics(self, *, post_ids: Sequence[str]) -> dict[str, Metrics]:
        return {p.id: p.metrics for p in self.get_posts(post_ids=post_ids) if p.metrics is not None}

    def _people(
        self, nsid: str, fetch: Callable[[str | None], Any], field: str, limit: int
    ) -> list[Account]:
        cursor: str | None = None
        out: list[Account] = []
        while len(out) < limit:
            page = self._call(nsid, partial(fetch, cursor), units=lambda r: len(getattr(r, field)))
            items = getattr(page, field)
            out.extend(bp.parse_account(getattr(i, "actor", i)) for i in items)
            cursor = page.cursor
            if not cursor or not items:
                break
        return out[:limit]

    def likers(self, *, post_id: str, limit: int = 1000) -> list[Account]:
        """Who liked a post, newest first (spread analytics)."""
        uri = bp.post_uri(post_id)
        return self._people(
            "app.bsky.feed.getLikes",
            lambda c: self._reading().app.bsky.feed.get_likes(
                {"uri": uri, "limit": PAGE, "cursor": c}
            ),
            "likes",
            limit,
        )

    def reposters(self, *, post_id: str, limit: int = 1000) -> list[Account]:
        """Who reposted a post, newest first."""
        uri = bp.post_uri(post_id)
        return self._people(
            "app.bsky.feed.getRepostedBy",
            lambda c: self._reading().app.bsky.feed.get_reposted_by(
                {"uri": uri, "limit": PAGE, "cursor": c}
            ),
            "reposted_by",
            limit,
        )

    def quotes(self, *, post_id: str, limit: int = 1000) -> list[Post]:
        """Posts quoting a post, newest first."""
        uri = bp.post_uri(post_id)
        cursor: str | None = None
        out: list[Post] = []
        while len(out) < limit:
            page = self._call(
                "app.bsky.feed.getQuotes",
                partial(self._quotes_page, uri, cursor),
                units=lambda r: len(r.posts),
            )
            now = self._clock()
            out.extend(bp.parse_post(v, observed_at=now) for v in page.posts)
            cursor = page.cursor
            if not cursor or not page.posts:
                break
        return out[:limit]

    # ------------------------------------------------------------ writes

    def ensure_bot_label(self, *, account: str) -> bool:
        """Label the account's profile `bot` (Bluesky's automated-account self-label) unless it
        is already; returns whether a write was needed. Once per account per client."""
        key = account.lower().lstrip("@")
        if key in self._labelled:
            return False
        client, did = self.session(key), self.did(key)
        try:
            current = self._call(
                "com.atproto.repo.getRecord",
                lambda: client.com.atproto.repo.get_record(
                    {"repo": did, "collection": bp.PROFILE, "rkey": "self"}
                ),
            )
        except NotFound:
            current = None
        value = current.value if current is not None else None
        if value is not None and bp.has_bot_label(getattr(value, "labels", None)):
            self._labelled.add(key)
            return False
        if value is not None and isinstance(value, models.AppBskyActorProfile.Record):
            labels = getattr(value.labels, "values", None) or []
            record = value.model_copy(
                update={
                    "labels": models.ComAtprotoLabelDefs.SelfLabels(
                        values=[*labels, models.ComAtprotoLabelDefs.SelfLabel(val=bp.BOT_LABEL)]
                    )
                }
            )
        else:
            record = models.AppBskyActorProfile.Record(labels=bp.bot_labels())
        data = models.ComAtprotoRepoPutRecord.Data(
            repo=did,
            collection=bp.PROFILE,
            rkey="self",
            record=record,
            swap_record=current.cid if current is not None else None,
        )
        self._call(
            "com.atproto.repo.putRecord",
            lambda: client.com.atproto.repo.put_record(data),
            write="update",
        )
        self._labelled.add(key)
        return True

    def _strong_ref(self, post_id: str) -> tuple[models.ComAtprotoRepoStrongRef.Main, Any]:
        """A post's strong ref (uri + cid) and its record, read from the AppView."""
        uri = bp.post_uri(post_id)
        answer = self._call(
            "app.bsky.feed.getPosts",
            lambda: self._reading().app.bsky.feed.get_posts({"uris": [uri]}),
            units=lambda r: len(r.posts),
        )
        if not answer.posts:
            raise NotFound(f"post {post_id} does not exist (deleted, or never was)")
        view = answer.posts[0]
        return models.ComAtprotoRepoStrongRef.Main(uri=view.uri, cid=view.cid), view.record

    def _reply_ref(self, reply_to: str) -> models.AppBskyFeedPost.ReplyRef:
        parent, record = self._strong_ref(reply_to)
        root = getattr(getattr(record, "reply", None), "root", None) or parent
        return models.AppBskyFeedPost.ReplyRef(root=root, parent=parent)

    def _embed(self, client: Client, *, quote_of: str | None, images: Sequence[Image]) -> Any:
        if quote_of is not None and images:
            raise InvalidRequest("a post may quote a post or carry images, not both (yet)")
        if quote_of is not None:
            return models.AppBskyEmbedRecord.Main(record=self._strong_ref(quote_of)[0])
        if not images:
            return None
        if len(images) > 4:
            raise InvalidRequest(f"a post carries at most 4 images, not {len(images)}")
        uploaded = []
        for image in images:
            blob = self._call(
                "com.atproto.repo.uploadBlob",
                partial(
                    client.com.atproto.repo.upload_blob,
                    image.data,
                    headers={"Content-Type": image.mime},
                ),
            ).blob
            uploaded.append(models.AppBskyEmbedImages.Image(alt=image.alt, image=blob))
        return models.AppBskyEmbedImages.Main(images=uploaded)

    def _existing(self, client: Client, did: str, rkey: str) -> Any | None:
        try:
            return self._call(
                "com.atproto.repo.getRecord",
                lambda: client.com.atproto.repo.get_record(
                    {"repo": did, "collection": bp.POST, "rkey": rkey}
                ),
            )
        except NotFound:
            return None

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
        """Create the post whose record key `idempotency_key` names, or find it: a retry after
        a crash, a timeout or a 5xx returns the same post, never a second one."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidRequest("a post needs text")
        client, did = self.session(account), self.did(account)
        rkey = bp.rkey_for(did, idempotency_key)
        if self.label_bot:
            self.ensure_bot_label(account=account)
        found = self._existing(client, did, rkey)
        if found is None:
            created = self.now().astimezone(UTC)
            record = models.AppBskyFeedPost.Record(
                text=text,
                created_at=created.strftime("%Y-%m-%dT%H:%M:%S.")
                + f"{created.microsecond // 1000:03d}Z",
                facets=bp.facets(text, self.resolve_handle) or None,
                reply=self._reply_ref(reply_to) if reply_to is not None else None,
                embed=self._embed(client, quote_of=quote_of, images=images),
                labels=bp.bot_labels() if self.label_bot else None,
            )
            data = models.ComAtprotoRepoCreateRecord.Data(
                repo=did, collection=bp.POST, rkey=rkey, record=record
            )
            for attempt in range(self.retries + 1):
                try:
                    answer = self._call(
                        "com.atproto.repo.createRecord",
                        lambda: client.com.atproto.repo.create_record(data),
                        write="create",
                        retry=False,
                    )
                    return PostRef(id=bp.post_key(answer.uri), text=text, created_at=created)
                except (PlatformUnavailable, PlatformError) as exc:
                    if isinstance(exc, AuthError | RateLimited | NotFound):
                        raise
                    # the create may have landed (timeout, 5xx) or the key exists (a 400):
                    # the record key says which
                    found = self._existing(client, did, rkey)
                    if found is not None:
                        break
                    if not isinstance(exc, PlatformUnavailable) or attempt == self.retries:
                        raise
                    self._sleep(self.backoff_s * (2**attempt) * (0.5 + random.random()))
        assert found is not None
        stored_text = getattr(found.value, "text", None)
        if stored_text != text:
            raise Forbidden(
                f"idempotency key {idempotency_key!r} already published another text as "
                f"{found.uri}; use a new key for a new post"
            )
        return PostRef(
            id=bp.post_key(found.uri),
            text=text,
            created_at=bp.parse_time(getattr(found.value, "created_at", None)),
        )

    def find_published(self, *, account: str, text: str, since: datetime) -> PostRef | None:
        """Reconciliation: the account's post with this text created since `since`, if any."""
        wanted = " ".join(text.split())
        did = self.did(account)
        for page in self._feed_pages(
            "app.bsky.feed.getAuthorFeed",
            partial(self._author_page, did, PAGE),
            max_posts=300,
        ):
            for post in page:
                if " ".join(post.text.split()) == wanted and post.created_at >= since - timedelta(
                    seconds=5
                ):
                    return PostRef(id=post.id, text=post.text, created_at=post.created_at)
            if page and min(p.created_at for p in page) < since - timedelta(seconds=5):
                break
        return None

    def delete(self, *, account: str, post_id: str) -> bool:
        repo, rkey = bp.split_key(post_id)
        client, did = self.session(account), self.did(account)
        if repo != did:
            raise Forbidden(f"{account} may delete only its own posts, not {post_id}")
        self._call(
            "com.atproto.repo.deleteRecord",
            lambda: client.com.atproto.repo.delete_record(
                {"repo": did, "collection": bp.POST, "rkey": rkey}
            ),
            write="delete",
        )
        return True
