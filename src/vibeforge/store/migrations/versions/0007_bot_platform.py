"""bot platform

A bot names the platform it is on: a key of vibeforge.yaml's `platforms:`, for a fleet that
mixes platforms (`vibeforge run` builds one runtime per platform in use). NULL, as every bot
before this revision, is the `platform:` section's.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-12 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("platform", sa.String(length=63), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bots", schema=None) as batch_op:
        batch_op.drop_column("platform")
