"""The plain data that flows through vibeforge: posts, bots, adapters, rewards.

Pure dataclasses, no I/O. Platform clients parse API JSON into these once, at the boundary;
the store maps them to tables; everything in between passes these around.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


class TimelineKind(enum.StrEnum):
    LIST = "list"  # an X List: source is the list id
    HANDLES = "handles"  # a fixed set of accounts: source is their handles, comma-separated
    HOME = "home"  # an account's home timeline: source is the account handle
    FEED = "feed"  # a custom feed (Bluesky's feed generators): source is its AT URI


class BotStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


class PublicationStatus(enum.StrEnum):
    PENDING = "pending"  # written to the outbox, not yet sent
    SENT = "sent"  # the platform call was made; its answer is not yet recorded
    CONFIRMED = "confirmed"  # the platform returned (or reconciliation found) the post id
    FAILED = "failed"  # given up on; never retried automatically
    # waiting for a person (the approval queue): a reply the platform's policy lets out only
    # with approval; approving makes it pending, rejecting failed
    HELD = "held"


class CandidateStatus(enum.StrEnum):
    NEW = "new"
    REJECTED = "rejected"  # a guard check failed
    QUEUED = "queued"  # waiting in the approval queue
    CHOSEN = "chosen"  # picked for publication
    DISCARDED = "discarded"  # passed the guard but was not picked


@dataclass(frozen=True, slots=True, kw_only=True)
class Metrics:
    """Engagement counts of one post, observed at one moment."""

    observed_at: datetime
    like_count: int = 0
    repost_count: int = 0
    reply_count: int = 0
    quote_count: int = 0
    bookmark_count: int = 0
    impression_count: int | None = None  # None where the platform does not expose it

    def total(self) -> int:
        return (
            self.like_count
            + self.repost_count
            + self.reply_count
            + self.quote_count
            + self.bookmark_count
        )


_TID = re.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}")
# a TID's base32-sortable digits ("234567a...z") as int()'s base-32 digits ("0...9a...v")
_TID_DIGITS = str.maketrans("234567abcdefghijklmnopqrstuvwxyz", "0123456789abcdefghijklmnopqrstuv")


def post_id_key(post_id: str) -> tuple[int, int, str]:
    """Sort key of post ids, oldest first: the one order cursors, timelines and SFT agree on.

    Numeric ids (X's snowflakes, the sandbox's) compare by value and come after every
    non-numeric id; ids ending in a TID record key (Bluesky's `did/rkey`) compare by the TID,
    which is time; other non-numeric ids compare as strings among themselves; ids of one value
    spelled differently ("007", "7") compare by spelling, so the order is total.
    """
    if post_id.isascii() and post_id.isdigit():  # not "²": str.isdigit takes it, int() not
        return (1, int(post_id), post_id)
    _, slash, rkey = post_id.rpartition("/")
    if slash and _TID.fullmatch(rkey):
        return (0, int(rkey.translate(_TID_DIGITS), 32), post_id)
    return (0, 0, post_id)


def post_id_newer(a: str, b: str) -> bool:
    """Whether post id `a` comes after `b` in `post_id_key` order."""
    return post_id_key(a) > post_id_key(b)


@dataclass(frozen=True, slots=True, kw_only=True)
class Post:
    """A post as vibeforge keeps it (ingested: scrubbed text, pseudonymous author)."""

    id: str  # the platform's id
    text: str
    author_id: str  # a pseudonym (keyed HMAC) for ingested posts; the bot's account id for its own
    created_at: datetime
    platform: str = "x"
    in_reply_to_id: str | None = None
    quote_of_id: str | None = None
    lang: str | None = None
    metrics: Metrics | None = None
    made_with_ai: bool = False
    # the author's follower count when read (reach, for reward normalisation): a number, not an
    # identity; None where the platform did not say
    author_followers: int | None = None
    # withheld by the platform in some country or for copyright (X's `withheld`): compliance
    # removes it downstream as if deleted
    withheld: bool = False
    # a repost is a post of its own on X (`RT @author: ...`, referencing the original as
    # "retweeted"): the reposted post's id. Ingest stores no reposts (loop/ingest.py)
    repost_of_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PostRef:
    """What a platform returns for a published post."""

    id: str
    text: str
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    id: str
    handle: str
    name: str = ""
    followers_count: int = 0
    following_count: int = 0
    post_count: int = 0
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeline:
    """A curated source of posts that one or more bots follow."""

    name: str
    kind: TimelineKind
    source: str  # list id, comma-separated handles, or the home account's handle
    platform: str = "x"
    poll_interval_s: int = 900
    since_id: str | None = None  # newest post id seen so far (incremental polling)
    last_polled_at: datetime | None = None

    @property
    def handles(self) -> tuple[str, ...]:
        if self.kind is not TimelineKind.HANDLES:
            return ()
        return tuple(h.strip().lstrip("@") for h in self.source.split(",") if h.strip())


@dataclass(frozen=True, slots=True, kw_only=True)
class Bot:
    """A small bot: one LoRA adapter on a shared base model, following one timeline."""

    name: str
    timeline: str | None = None  # the name of the timeline it follows
    account: str | None = None  # its handle on the platform
    persona: str = ""  # a line of instruction used in its prompts
    base_model: str = "smollm2-135m"
    status: BotStatus = BotStatus.ACTIVE
    posts_per_day: float = 4.0
    created_at: datetime | None = None
    parent_elder: str | None = None  # set when spawned from an elder (lineage)
    # the platform it is on, by its name in vibeforge.yaml's `platforms:`; None: `platform:`'s
    platform: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SamplingTrace:
    """How a chosen candidate was sampled, kept so the off-policy update can learn from the
    post's real reward: the prompt, the completion, and the behaviour policy's log-probabilities.
    """

    prompt_ids: tuple[int, ...]
    token_ids: tuple[int, ...]  # the completion
    logprobs: tuple[float, ...]  # one per token id, under the adapter that sampled it
    temperature: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """A generated post that has not been published (yet)."""

    bot: str
    text: str
    id: int | None = None  # assigned by the store
    adapter_version: int | None = None
    predicted_reward: float | None = None
    guard: dict[str, Any] = field(default_factory=dict)  # check name -> verdict
    status: CandidateStatus = CandidateStatus.NEW
    created_at: datetime | None = None
    trace: SamplingTrace | None = None  # kept for the chosen one: off-policy RL learns from it


@dataclass(frozen=True, slots=True, kw_only=True)
class Image:
    """An image to attach to a post: its bytes, MIME type and alt text (read to screen
    readers; an empty alt is allowed but discouraged). X and Bluesky both take them; the
    outbox keeps the one a publication carries (`store.images`)."""

    data: bytes
    mime: str = "image/png"
    alt: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Publication:
    """An outbox entry: written before the platform call, so a crash never double-posts."""

    idempotency_key: str
    bot: str
    text: str
    status: PublicationStatus = PublicationStatus.PENDING
    candidate_id: int | None = None
    reply_to: str | None = None
    quote_of: str | None = None  # the post it quotes (its id on the platform)
    platform_post_id: str | None = None
    attempts: int = 0
    error: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Reward:
    """A scalar reward computed from a post's engagement at a given age."""

    bot: str
    post_id: str
    value: float
    preset: str
    age_s: float
    components: dict[str, float] = field(default_factory=dict)
    computed_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AdapterVersion:
    """One saved version of a bot's LoRA adapter, with its lineage."""

    bot: str
    version: int
    path: str
    sha256: str
    kind: str = "sft"  # sft | rl | spawn
    parent: int | None = None
    window_start: datetime | None = None  # training data window
    window_end: datetime | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Elder:
    """A larger model distilled from a subset of bots."""

    name: str
    base_model: str
    version: int = 1
    bots: tuple[str, ...] = ()
    niches: tuple[str, ...] = ()
    path: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiCall:
    """One line of the call and cost ledger (aggregated per day, bot, kind and endpoint)."""

    day: date
    bot: str  # "*" for calls shared by all bots (timeline polls)
    kind: str  # post_read | user_read | post_create | post_create_with_url
    endpoint: str
    calls: int
    units: int
    cost_usd: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Provenance:
    """Where a published post came from, recorded when the platform confirmed it."""

    platform: str
    post_id: str  # the platform's id
    bot: str
    publication_key: str  # the outbox row's idempotency key
    base_model: str
    prompt_version: str  # learn.prompt.PROMPT_VERSION the post was written under
    published_at: datetime  # platform time
    ai_flag: bool  # the platform's own AI marking was set (made_with_ai, a bot label)
    ai_label: str | None = None  # which marking: "made_with_ai", "self-label bot", ...
    candidate_id: int | None = None
    adapter_version: int | None = None  # None: the base model wrote it (no adapter yet)
    adapter_sha256: str | None = None  # of the adapter's weights file as stored
    lineage: dict[str, Any] | None = None  # the elder it was spawned from (elder, version, ...)
    recorded_at: datetime | None = None
    removed_at: datetime | None = None  # compliance found it gone from the platform
