"""the chatter of a stoppage's thread, kept so a reply can be pinned as an answer

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "thread_reply",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stoppage_id", sa.Integer(), nullable=False),
        sa.Column("message", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("by_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["stoppage_id"], ["stoppage.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("thread_reply", schema=None) as batch_op:
        batch_op.create_index("ix_thread_reply_message", ["stoppage_id", "message"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("thread_reply", schema=None) as batch_op:
        batch_op.drop_index("ix_thread_reply_message")
    op.drop_table("thread_reply")
