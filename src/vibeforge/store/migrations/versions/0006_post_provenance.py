"""post provenance

One row per published post: bot, adapter version and its sha256, base model, elder lineage,
prompt template version, publication time, platform and the platform's AI marking. Written in
the transaction that confirms the outbox row (loop.outbox).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-09 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provenance",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("post_id", sa.String(length=64), nullable=False),
        sa.Column("bot", sa.String(length=63), nullable=False),
        sa.Column("publication_key", sa.String(length=128), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=True),
        sa.Column("adapter_version", sa.Integer(), nullable=True),
        sa.Column("adapter_sha256", sa.String(length=64), nullable=True),
        sa.Column("base_model", sa.String(length=255), nullable=False),
        sa.Column("lineage", sa.JSON(), nullable=True),
        sa.Column("prompt_version", sa.String(length=32), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.Column("ai_flag", sa.Boolean(), nullable=False),
        sa.Column("ai_label", sa.String(length=64), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("removed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provenance")),
        sa.UniqueConstraint("platform", "post_id", name="uq_provenance_platform_post"),
    )
    with op.batch_alter_table("provenance", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_provenance_bot"), ["bot"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("provenance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provenance_bot"))
    op.drop_table("provenance")
