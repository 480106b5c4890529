"""SQLAlchemy 2.0 tables, one per domain object.

Ingested posts hold scrubbed text and a pseudonymous author only. Metrics are time-stamped
observations (a post has many). Publications are an outbox: a row is written, with a unique
idempotency key, before the platform is called.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# stable constraint names so that migrations render the same on SQLite and PostgreSQL
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so we store naive UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime (UTC)")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class TimelineRow(Base):
    __tablename__ = "timelines"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    platform: Mapped[str] = mapped_column(String(32), default="x")
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(Text)
    poll_interval_s: Mapped[int] = mapped_column(Integer, default=900)
    since_id: Mapped[str | None] = mapped_column(String(64))
    last_polled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BotRow(Base):
    __tablename__ = "bots"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    timeline: Mapped[str | None] = mapped_column(
        ForeignKey("timelines.name", ondelete="RESTRICT"), index=True
    )
    account: Mapped[str | None] = mapped_column(String(64))
    persona: Mapped[str] = mapped_column(Text, default="")
    base_model: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="active")
    posts_per_day: Mapped[float] = mapped_column(Float, default=4.0)
    parent_elder: Mapped[str | None] = mapped_column(String(63))
    # a `platforms:` name of vibeforge.yaml; NULL: its `platform:` section
    platform: Mapped[str | None] = mapped_column(String(63))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AccountRow(Base):
    """The bots' own platform accounts (never the humans they read)."""

    __tablename__ = "accounts"

    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    handle: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    followers_count: Mapped[int] = mapped_column(Integer, default=0)
    following_count: Mapped[int] = mapped_column(Integer, default=0)
    post_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime | None]
    observed_at: Mapped[datetime] = mapped_column(default=utcnow)


class PostRow(Base):
    __tablename__ = "posts"
    __table_args__ = (UniqueConstraint("platform", "post_id", name="uq_posts_platform_post_id"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(32), default="x")
    post_id: Mapped[str] = mapped_column(String(64))
    author_id: Mapped[str] = mapped_column(String(64), index=True)  # pseudonym for ingested posts
    text: Mapped[str] = mapped_column(Text)  # scrubbed
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    in_reply_to_id: Mapped[str | None] = mapped_column(String(64))
    quote_of_id: Mapped[str | None] = mapped_column(String(64))
    lang: Mapped[str | None] = mapped_column(String(16))
    made_with_ai: Mapped[bool] = mapped_column(Boolean, default=False)
    # the author's follower count when the post was read (a number, never who they are)
    author_followers: Mapped[int | None] = mapped_column(Integer)
    timeline: Mapped[str | None] = mapped_column(
        ForeignKey("timelines.name", ondelete="SET NULL"), index=True
    )
    bot: Mapped[str | None] = mapped_column(
        ForeignKey("bots.name", ondelete="SET NULL"), index=True
    )
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)


class MetricRow(Base):
    __tablename__ = "metric_observations"
    __table_args__ = (Index("ix_metric_observations_post_time", "post_pk", "observed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    post_pk: Mapped[int] = mapped_column(ForeignKey("posts.pk", ondelete="CASCADE"))
    observed_at: Mapped[datetime]
    age_s: Mapped[float | None] = mapped_column(Float)
    like_count: Mapped[int] = mapped_column(Integer, default=0)
    repost_count: Mapped[int] = mapped_column(Integer, default=0)
    reply_count: Mapped[int] = mapped_column(Integer, default=0)
    quote_count: Mapped[int] = mapped_column(Integer, default=0)
    bookmark_count: Mapped[int] = mapped_column(Integer, default=0)
    impression_count: Mapped[int | None] = mapped_column(Integer)


class CandidateRow(Base):
    __tablename__ = "candidates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bot: Mapped[str] = mapped_column(ForeignKey("bots.name", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    adapter_version: Mapped[int | None] = mapped_column(Integer)
    predicted_reward: Mapped[float | None] = mapped_column(Float)
    guard: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    trace: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class PublicationRow(Base):
    __tablename__ = "publications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    bot: Mapped[str] = mapped_column(ForeignKey("bots.name", ondelete="CASCADE"), index=True)
    candidate_id: Mapped[int | None] = mapped_column(
        ForeignKey("candidates.id", ondelete="SET NULL")
    )
    text: Mapped[str] = mapped_column(Text)
    reply_to: Mapped[str | None] = mapped_column(String(64))
    quote_of: Mapped[str | None] = mapped_column(String(64))  # the post it quotes
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    platform_post_id: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PublicationImageRow(Base):
    """The image an outbox row carries: written with the row's move to `sent`, so a retry
    sends the same picture and the dashboard shows the one the post went out with. The bytes
    live in the row (a trend chart is ~20 kB), on every backend alike."""

    __tablename__ = "publication_images"

    idempotency_key: Mapped[str] = mapped_column(
        String(128),
        ForeignKey("publications.idempotency_key", ondelete="CASCADE"),
        primary_key=True,
    )
    mime: Mapped[str] = mapped_column(String(64))
    alt: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RewardRow(Base):
    __tablename__ = "rewards"
    __table_args__ = (
        UniqueConstraint("bot", "post_id", "preset", "age_s", name="uq_rewards_observation"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bot: Mapped[str] = mapped_column(ForeignKey("bots.name", ondelete="CASCADE"), index=True)
    post_id: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)
    preset: Mapped[str] = mapped_column(String(64))
    age_s: Mapped[float] = mapped_column(Float)
    components: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class AdapterVersionRow(Base):
    __tablename__ = "adapter_versions"

    bot: Mapped[str] = mapped_column(ForeignKey("bots.name", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="sft")
    parent: Mapped[int | None] = mapped_column(Integer)
    window_start: Mapped[datetime | None]
    window_end: Mapped[datetime | None]
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ElderRow(Base):
    __tablename__ = "elders"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    base_model: Mapped[str] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer, default=1)
    bots: Mapped[list[str]] = mapped_column(JSON, default=list)
    niches: Mapped[list[str]] = mapped_column(JSON, default=list)
    path: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiCallRow(Base):
    """The call and cost ledger: one row per day, bot, call kind and endpoint."""

    __tablename__ = "api_calls"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    bot: Mapped[str] = mapped_column(String(63), primary_key=True)  # "*" for shared polls
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(128), primary_key=True)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    units: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)


class FlagRow(Base):
    """Operator switches shared by every process of a deployment (e.g. the kill switch)."""

    __tablename__ = "flags"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ProvenanceRow(Base):
    """Where each published post came from, written with its outbox row's confirmation.

    An audit record: it names the bot as a string (no foreign key) so it outlives the bot.
    """

    __tablename__ = "provenance"
    __table_args__ = (UniqueConstraint("platform", "post_id", name="uq_provenance_platform_post"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(32))
    post_id: Mapped[str] = mapped_column(String(64))
    bot: Mapped[str] = mapped_column(String(63), index=True)
    publication_key: Mapped[str] = mapped_column(String(128))
    candidate_id: Mapped[int | None] = mapped_column(Integer)
    adapter_version: Mapped[int | None] = mapped_column(Integer)
    adapter_sha256: Mapped[str | None] = mapped_column(String(64))
    base_model: Mapped[str] = mapped_column(String(255))
    lineage: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prompt_version: Mapped[str] = mapped_column(String(32))
    published_at: Mapped[datetime]
    ai_flag: Mapped[bool] = mapped_column(Boolean)
    ai_label: Mapped[str | None] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None]
