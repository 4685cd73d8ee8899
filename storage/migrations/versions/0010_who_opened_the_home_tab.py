"""who opened the Home tab, and whether theirs shows the latest

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-05 03:31:54
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "home_viewer",
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("opened_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("stale", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_until", storage.types.UTCDateTime(), nullable=True),
        sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("published_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("user_id"),
    )
    with op.batch_alter_table("home_viewer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_home_viewer_opened_at"), ["opened_at"], unique=False)
        batch_op.create_index("ix_home_viewer_stale", ["stale", "next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("home_viewer", schema=None) as batch_op:
        batch_op.drop_index("ix_home_viewer_stale")
        batch_op.drop_index(batch_op.f("ix_home_viewer_opened_at"))
    op.drop_table("home_viewer")
