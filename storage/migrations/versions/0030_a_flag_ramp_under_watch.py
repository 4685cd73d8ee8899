"""a flag ramp under watch: the change asked, its baseline, its window, its watcher, its end

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-05 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "flag_watch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flag_id", sa.Integer(), nullable=False),
        sa.Column("key", _text(64), nullable=False),
        sa.Column("environment", _text(64), nullable=False),
        sa.Column("from_percentage", sa.Integer(), nullable=False),
        sa.Column("to_percentage", sa.Integer(), nullable=False),
        sa.Column("actor", _text(255), nullable=False),
        sa.Column("actor_name", _text(255), nullable=False),
        sa.Column("via", _text(32), nullable=False),
        sa.Column("fix_reason", sa.Text(), nullable=True),
        sa.Column("state", _text(16), nullable=False),
        sa.Column("baseline", sa.JSON(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("until", storage.types.UTCDateTime(), nullable=True),
        sa.Column("holder", _text(255), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("verdict", sa.Text(), nullable=True),
        sa.Column("ended_at", storage.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["flag_id"], ["flag.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["outbox_message.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("flag_watch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flag_watch_flag_id"), ["flag_id"], unique=False)
        batch_op.create_index("ix_flag_watch_state", ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("flag_watch", schema=None) as batch_op:
        batch_op.drop_index("ix_flag_watch_state")
        batch_op.drop_index(batch_op.f("ix_flag_watch_flag_id"))
    op.drop_table("flag_watch")
