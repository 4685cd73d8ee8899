"""five whys, their answers and the action items they bought

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 17:37:12.674544
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "action_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stoppage_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("owner_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("done_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("done_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("reminded_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["stoppage_id"],
            ["stoppage.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("stoppage_id", "level", name="uq_action_item"),
    )
    with op.batch_alter_table("action_item", schema=None) as batch_op:
        batch_op.create_index("ix_action_item_owner_status", ["owner", "status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_action_item_stoppage_id"), ["stoppage_id"], unique=False
        )

    op.create_table(
        "why_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stoppage_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("by_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("edited_at", storage.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["stoppage_id"],
            ["stoppage.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("stoppage_id", "level", name="uq_why_answer"),
    )
    with op.batch_alter_table("why_answer", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_why_answer_stoppage_id"), ["stoppage_id"], unique=False
        )

    op.create_table(
        "whys",
        sa.Column("stoppage_id", sa.Integer(), nullable=False),
        sa.Column("severity", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("severity_from", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("open_level", sa.Integer(), nullable=False),
        sa.Column("scheduled_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("scheduled_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("remind_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("nag_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("done_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("repeat_of", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["repeat_of"],
            ["stoppage.id"],
        ),
        sa.ForeignKeyConstraint(
            ["stoppage_id"],
            ["stoppage.id"],
        ),
        sa.PrimaryKeyConstraint("stoppage_id"),
    )
    with op.batch_alter_table("whys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_whys_nag_at"), ["nag_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_whys_remind_at"), ["remind_at"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("whys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_whys_remind_at"))
        batch_op.drop_index(batch_op.f("ix_whys_nag_at"))

    op.drop_table("whys")
    with op.batch_alter_table("why_answer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_why_answer_stoppage_id"))

    op.drop_table("why_answer")
    with op.batch_alter_table("action_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_action_item_stoppage_id"))
        batch_op.drop_index("ix_action_item_owner_status")

    op.drop_table("action_item")
