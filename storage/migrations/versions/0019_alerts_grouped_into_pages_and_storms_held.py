"""alerts grouped into pages, and the new pages a storm held

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("page", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("held_for", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
    op.create_table(
        "page_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("identity", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("fired_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("resolved_at", storage.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["page_id"], ["page.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("page_id", "identity", name="uq_page_alert_page_identity"),
    )
    with op.batch_alter_table("page_alert", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_page_alert_page_id"), ["page_id"], unique=False)
        batch_op.create_index("ix_page_alert_identity_status", ["identity", "status"], unique=False)
    op.create_table(
        "alert_storm",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("last_held_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("alerts", sa.Integer(), nullable=False),
        sa.Column("told_pages", sa.Integer(), nullable=False),
        sa.Column("told_alerts", sa.Integer(), nullable=False),
        sa.Column("told_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["message_id"], ["outbox_message.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alert_storm", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alert_storm_last_held_at"), ["last_held_at"], unique=False
        )
    # Every page so far was one alert: it becomes that alert's page, and a held one was held
    # for flapping, the only reason there was.
    op.execute(
        "INSERT INTO page_alert (page_id, identity, name, summary, value, status, fired_at, "
        "resolved_at) SELECT id, identity, name, summary, value, CASE WHEN status = 'resolved' "
        "THEN 'resolved' ELSE 'firing' END, opened_at, resolved_at FROM page"
    )
    op.execute("UPDATE page SET held_for = 'flapping' WHERE status = 'held'")


def downgrade() -> None:
    with op.batch_alter_table("alert_storm", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_storm_last_held_at"))
    op.drop_table("alert_storm")
    with op.batch_alter_table("page_alert", schema=None) as batch_op:
        batch_op.drop_index("ix_page_alert_identity_status")
        batch_op.drop_index(batch_op.f("ix_page_alert_page_id"))
    op.drop_table("page_alert")
    with op.batch_alter_table("page", schema=None) as batch_op:
        batch_op.drop_column("held_for")
