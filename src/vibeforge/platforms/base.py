"""The `Platform` protocol every social platform implements, the `SpreadReader` protocol of
spread analytics, and their typed errors.

Platforms parse API JSON into `vibeforge.domain` objects at the boundary. Errors follow the
protocol: the caller decides whether to wait on `RateLimited(reset_at)` or give up; nothing is
retried silently except transient network errors and 5xx answers (bounded, with backoff).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from vibeforge.domain import Account, Metrics, Post, PostRef, Timeline
from vibeforge.domain import Image as Image  # a domain object; platforms take it from here too
from vibeforge.errors import VibeforgeError


class PlatformError(VibeforgeError):
    """The platform answered with an error, or with something that is not its API."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RateLimited(PlatformError):
    """Too many requests; the window resets at `reset_at` (UTC)."""

    def __init__(self, message: str, *, reset_at: datetime) -> None:
        super().__init__(message, status=429)
        self.reset_at = reset_at


class PlatformUnavailable(PlatformError):
    """The platform could not be reached, or kept answering 5xx, after the bounded retries.

    Transient by nature: the loop backs off and runs the round again later.
    """


class AuthError(PlatformError):
    """Missing, expired or insufficient credentials (401, or a 403 "Unsupported
    Authentication": an app-only token on a user-context endpoint)."""


class NotFound(PlatformError):
    """The resource does not exist (404, or X's 'Not Found Error' in `errors[]`)."""


class Forbidden(PlatformError):
    """The platform refused the action (403, or X's 'Authorization Error' in `errors[]`):
    duplicate content, policy, a protected account."""


class InvalidRequest(PlatformError, ValueError):
    """An argument the platform cannot accept (a malformed handle or id), refused before any
    request is sent. `status` is 400, what X would answer: callers that handle the platform's
    400 handle it the same way; it is also a `ValueError`, being a bad argument."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=400)


class BudgetExceeded(VibeforgeError):
    """A daily call budget (per bot or overall) would be exceeded; nothing was sent."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Page:
    """One page of a paginated timeline read."""

    posts: list[Post]
    next_token: str | None
    newest_id: str | None


@runtime_checkable
class Platform(Protocol):
    """What the loop needs from a social platform; every method is keyword-only."""

    name: str

    def timeline(
        self, *, source: Timeline, since_id: str | None = None, max_posts: int = 800
    ) -> list[Post]:
        """Posts of a List, a set of accounts or a home timeline, newest first."""
        ...

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
        """Publish as `account`: a reply to `reply_to`, a quote of `quote_of` (the quoted post
        embedded, the text the quoter's comment), with `images` attached in order (the platform
        checks its own limits: X and Bluesky take images or a quote, not both); the caller's
        outbox guarantees at-most-once across crashes."""
        ...

    def find_published(self, *, account: str, text: str, since: datetime) -> PostRef | None:
        """The account's post with exactly this text since `since`, if any (reconciliation)."""
        ...

    def metrics(self, *, post_ids: Sequence[str]) -> dict[str, Metrics]:
        """Current engagement of many posts (batched by the platform's limit)."""
        ...

    def get_posts(self, *, post_ids: Sequence[str]) -> list[Post]:
        """Posts by id (batched by the platform's limit); ids the platform cannot return
        (deleted, unknown, protected, taken down) are skipped. Compliance re-checks stored
        posts with it; `Post.withheld` marks those the platform withholds."""
        ...

    def account(self, *, handle: str) -> Account:
        """Look an account up by handle."""
        ...

    def now(self) -> datetime:
        """Platform time: what post ages are measured in (simulated on the sandbox)."""
        ...


@runtime_checkable
class SpreadReader(Protocol):
    """Who spread a post, and how (spread analytics): X and Bluesky both serve these reads,
    newest first, paged until `limit`. An unknown post is `NotFound` on X; Bluesky answers
    with nobody."""

    def likers(self, *, post_id: str, limit: int = 1000) -> list[Account]:
        """The accounts that liked the post."""
        ...

    def reposters(self, *, post_id: str, limit: int = 1000) -> list[Account]:
        """The accounts that reposted the post."""
        ...

    def quotes(self, *, post_id: str, limit: int = 1000) -> list[Post]:
        """The posts quoting the post."""
        ...
