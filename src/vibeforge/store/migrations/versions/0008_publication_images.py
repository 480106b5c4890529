"""publication images

The image an outbox row carries (`loop.outbox`): its bytes, MIME type and alt text, written in
the transaction that moves the row to `sent`, and gone with the row.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-14 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "publication_images",
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("mime", sa.String(length=64), nullable=False),
        sa.Column("alt", sa.Text(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["idempotency_key"],
            ["publications.idempotency_key"],
            name=op.f("fk_publication_images_idempotency_key_publications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("idempotency_key", name=op.f("pk_publication_images")),
    )


def downgrade() -> None:
    op.drop_table("publication_images")
