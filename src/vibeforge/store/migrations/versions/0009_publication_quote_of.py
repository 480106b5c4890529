"""publication quote target

The post an outbox row quotes (`loop.outbox`): kept with the row, so a quote held for approval
keeps its target, the policy can refuse an unapproved one, and the platform call embeds it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-21 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("publications") as batch:
        batch.add_column(sa.Column("quote_of", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("publications") as batch:
        batch.drop_column("quote_of")
