"""pages, on-call overrides and handoffs, check states

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 17:14:07.578963
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "check_state",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("checked_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("due_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("out_since", storage.types.UTCDateTime(), nullable=True),
        sa.Column("firing", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "oncall_handoff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "oncall_override",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("starts_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("until", storage.types.UTCDateTime(), nullable=False),
        sa.Column("by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("by_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("oncall_override", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oncall_override_until"), ["until"], unique=False)

    op.create_table(
        "page",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("severity", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("stops_line", sa.Boolean(), nullable=False),
        sa.Column("opened_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("last_fired_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("fired", sa.Integer(), nullable=False),
        sa.Column("oncall", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("due_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("acked_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("acked_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("acked_by_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("resolved_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("resolved_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("resolved_by_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("dm_id", sa.Integer(), nullable=True),
        sa.Column("channel_id", sa.Integer(), nullable=True),
        sa.Column("stoppage_id", sa.Integer(), nullable=True),
        sa.Column("suspects", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["outbox_message.id"],
        ),
        sa.ForeignKeyConstraint(
            ["dm_id"],
            ["outbox_message.id"],
        ),
        sa.ForeignKeyConstraint(
            ["stoppage_id"],
            ["stoppage.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("page", schema=None) as batch_op:
        batch_op.create_index("ix_page_identity_status", ["identity", "status"], unique=False)
        batch_op.create_index("ix_page_status_due", ["status", "due_at"], unique=False)

    op.create_table(
        "page_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["page_id"],
            ["page.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("page_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_page_event_page_id"), ["page_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("page_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_page_event_page_id"))

    op.drop_table("page_event")
    with op.batch_alter_table("page", schema=None) as batch_op:
        batch_op.drop_index("ix_page_status_due")
        batch_op.drop_index("ix_page_identity_status")

    op.drop_table("page")
    with op.batch_alter_table("oncall_override", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oncall_override_until"))

    op.drop_table("oncall_override")
    op.drop_table("oncall_handoff")
    op.drop_table("check_state")
