"""the line, stoppages, audit log and outbox

Revision ID: 0001
Revises:
Create Date: 2026-11-26 14:26:30.175928
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("actor_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("via", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entry_at"), ["at"], unique=False)

    op.create_table(
        "inbound_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "key", name="uq_inbound_delivery"),
    )
    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("lane", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("claimed_until", storage.types.UTCDateTime(), nullable=True),
        sa.Column("sent_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("ts", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("permalink", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["outbox_message.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_pending_lane", ["status", "lane", "id"], unique=False)

    op.create_table(
        "stoppage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("opened_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("opened_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("opened_by_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("opened_via", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("closed_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("closed_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("closed_by_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("closed_via", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("announcement_id", sa.Integer(), nullable=True),
        sa.Column("thread_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["announcement_id"],
            ["outbox_message.id"],
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["outbox_message.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("stoppage", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stoppage_opened_at"), ["opened_at"], unique=False)

    line = op.create_table(
        "line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("since", storage.types.UTCDateTime(), nullable=False),
        sa.Column("stoppage_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["stoppage_id"],
            ["stoppage.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    # The line starts out running; its one row exists from the first migration on.
    op.bulk_insert(line, [{"id": 1, "state": "running", "since": datetime.now(UTC)}])
    op.create_table(
        "stoppage_cause",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stoppage_id", sa.Integer(), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("actor_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("via", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["stoppage_id"],
            ["stoppage.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("stoppage_cause", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stoppage_cause_stoppage_id"), ["stoppage_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("stoppage_cause", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stoppage_cause_stoppage_id"))

    op.drop_table("stoppage_cause")
    op.drop_table("line")
    with op.batch_alter_table("stoppage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stoppage_opened_at"))

    op.drop_table("stoppage")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_pending_lane")

    op.drop_table("outbox_message")
    op.drop_table("inbound_delivery")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entry_at"))

    op.drop_table("audit_entry")
