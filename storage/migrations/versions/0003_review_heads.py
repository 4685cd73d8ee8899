"""open review heads for forge statuses

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 15:28:47.622793
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "review_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("forge", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("project", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("head_sha", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("published", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("published_sha", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("updated_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("forge", "project", "number", name="uq_review_head"),
    )


def downgrade() -> None:
    op.drop_table("review_head")
