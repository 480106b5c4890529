"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 18:49:45.111059
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "accounts",
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("handle", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("followers_count", sa.Integer(), nullable=False),
        sa.Column("following_count", sa.Integer(), nullable=False),
        sa.Column("post_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("observed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("platform", "id", name=op.f("pk_accounts")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_accounts_handle"), ["handle"], unique=False)

    op.create_table(
        "elders",
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("base_model", sa.String(length=255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("bots", sa.JSON(), nullable=False),
        sa.Column("niches", sa.JSON(), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_elders")),
    )
    op.create_table(
        "timelines",
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("poll_interval_s", sa.Integer(), nullable=False),
        sa.Column("since_id", sa.String(length=64), nullable=True),
        sa.Column("last_polled_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_timelines")),
    )
    op.create_table(
        "bots",
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("timeline", sa.String(length=63), nullable=True),
        sa.Column("account", sa.String(length=64), nullable=True),
        sa.Column("persona", sa.Text(), nullable=False),
        sa.Column("base_model", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("posts_per_day", sa.Float(), nullable=False),
        sa.Column("parent_elder", sa.String(length=63), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["timeline"],
            ["timelines.name"],
            name=op.f("fk_bots_timeline_timelines"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_bots")),
    )
    with op.batch_alter_table("bots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bots_timeline"), ["timeline"], unique=False)

    op.create_table(
        "adapter_versions",
        sa.Column("bot", sa.String(length=63), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("parent", sa.Integer(), nullable=True),
        sa.Column("window_start", sa.DateTime(), nullable=True),
        sa.Column("window_end", sa.DateTime(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bot"], ["bots.name"], name=op.f("fk_adapter_versions_bot_bots"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("bot", "version", name=op.f("pk_adapter_versions")),
    )
    op.create_table(
        "candidates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("bot", sa.String(length=63), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("adapter_version", sa.Integer(), nullable=True),
        sa.Column("predicted_reward", sa.Float(), nullable=True),
        sa.Column("guard", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bot"], ["bots.name"], name=op.f("fk_candidates_bot_bots"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_candidates")),
    )
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_candidates_bot"), ["bot"], unique=False)
        batch_op.create_index(batch_op.f("ix_candidates_status"), ["status"], unique=False)

    op.create_table(
        "posts",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("post_id", sa.String(length=64), nullable=False),
        sa.Column("author_id", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("in_reply_to_id", sa.String(length=64), nullable=True),
        sa.Column("quote_of_id", sa.String(length=64), nullable=True),
        sa.Column("lang", sa.String(length=16), nullable=True),
        sa.Column("made_with_ai", sa.Boolean(), nullable=False),
        sa.Column("timeline", sa.String(length=63), nullable=True),
        sa.Column("bot", sa.String(length=63), nullable=True),
        sa.Column("ingested_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bot"], ["bots.name"], name=op.f("fk_posts_bot_bots"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["timeline"],
            ["timelines.name"],
            name=op.f("fk_posts_timeline_timelines"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_posts")),
        sa.UniqueConstraint("platform", "post_id", name="uq_posts_platform_post_id"),
    )
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_posts_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_posts_bot"), ["bot"], unique=False)
        batch_op.create_index(batch_op.f("ix_posts_content_hash"), ["content_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_posts_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_posts_timeline"), ["timeline"], unique=False)

    op.create_table(
        "rewards",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("bot", sa.String(length=63), nullable=False),
        sa.Column("post_id", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("preset", sa.String(length=64), nullable=False),
        sa.Column("age_s", sa.Float(), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bot"], ["bots.name"], name=op.f("fk_rewards_bot_bots"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rewards")),
        sa.UniqueConstraint("bot", "post_id", "preset", "age_s", name="uq_rewards_observation"),
    )
    with op.batch_alter_table("rewards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rewards_bot"), ["bot"], unique=False)

    op.create_table(
        "metric_observations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("post_pk", sa.Integer(), nullable=False),
        sa.Column("observed_at", sa.DateTime(), nullable=False),
        sa.Column("age_s", sa.Float(), nullable=True),
        sa.Column("like_count", sa.Integer(), nullable=False),
        sa.Column("repost_count", sa.Integer(), nullable=False),
        sa.Column("reply_count", sa.Integer(), nullable=False),
        sa.Column("quote_count", sa.Integer(), nullable=False),
        sa.Column("bookmark_count", sa.Integer(), nullable=False),
        sa.Column("impression_count", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["post_pk"],
            ["posts.pk"],
            name=op.f("fk_metric_observations_post_pk_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_observations")),
    )
    with op.batch_alter_table("metric_observations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_metric_observations_post_time", ["post_pk", "observed_at"], unique=False
        )

    op.create_table(
        "publications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("bot", sa.String(length=63), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reply_to", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("platform_post_id", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bot"], ["bots.name"], name=op.f("fk_publications_bot_bots"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidates.id"],
            name=op.f("fk_publications_candidate_id_candidates"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publications")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_publications_idempotency_key")),
    )
    with op.batch_alter_table("publications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_publications_bot"), ["bot"], unique=False)
        batch_op.create_index(batch_op.f("ix_publications_status"), ["status"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("publications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_publications_status"))
        batch_op.drop_index(batch_op.f("ix_publications_bot"))

    op.drop_table("publications")
    with op.batch_alter_table("metric_observations", schema=None) as batch_op:
        batch_op.drop_index("ix_metric_observations_post_time")

    op.drop_table("metric_observations")
    with op.batch_alter_table("rewards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rewards_bot"))

    op.drop_table("rewards")
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_posts_timeline"))
        batch_op.drop_index(batch_op.f("ix_posts_created_at"))
        batch_op.drop_index(batch_op.f("ix_posts_content_hash"))
        batch_op.drop_index(batch_op.f("ix_posts_bot"))
        batch_op.drop_index(batch_op.f("ix_posts_author_id"))

    op.drop_table("posts")
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_candidates_status"))
        batch_op.drop_index(batch_op.f("ix_candidates_bot"))

    op.drop_table("candidates")
    op.drop_table("adapter_versions")
    with op.batch_alter_table("bots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bots_timeline"))

    op.drop_table("bots")
    op.drop_table("timelines")
    op.drop_table("elders")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_handle"))

    op.drop_table("accounts")
