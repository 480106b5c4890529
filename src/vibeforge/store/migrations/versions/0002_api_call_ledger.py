"""api call ledger

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 19:00:01.653623
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_calls",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("bot", sa.String(length=63), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("endpoint", sa.String(length=128), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("day", "bot", "kind", "endpoint", name=op.f("pk_api_calls")),
    )


def downgrade() -> None:
    op.drop_table("api_calls")
