"""feature flags, their rollout per environment, and every change to them

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-05 15:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "flag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", _text(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("created_by", _text(255), nullable=False),
        sa.Column("created_by_name", _text(255), nullable=False),
        sa.Column("created_via", _text(32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_table(
        "flag_rollout",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flag_id", sa.Integer(), nullable=False),
        sa.Column("environment", _text(64), nullable=False),
        sa.Column("percentage", sa.Integer(), nullable=False),
        sa.Column("changed_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("changed_by", _text(255), nullable=False),
        sa.Column("changed_by_name", _text(255), nullable=False),
        sa.Column("changed_via", _text(32), nullable=False),
        sa.ForeignKeyConstraint(["flag_id"], ["flag.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("flag_id", "environment", name="uq_flag_rollout_env"),
    )
    with op.batch_alter_table("flag_rollout", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flag_rollout_flag_id"), ["flag_id"], unique=False)
    op.create_table(
        "flag_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flag_id", sa.Integer(), nullable=False),
        sa.Column("environment", _text(64), nullable=False),
        sa.Column("from_percentage", sa.Integer(), nullable=False),
        sa.Column("to_percentage", sa.Integer(), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("actor", _text(255), nullable=False),
        sa.Column("actor_name", _text(255), nullable=False),
        sa.Column("via", _text(32), nullable=False),
        sa.Column("fix_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["flag_id"], ["flag.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("flag_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flag_change_flag_id"), ["flag_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_flag_change_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("flag_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flag_change_at"))
        batch_op.drop_index(batch_op.f("ix_flag_change_flag_id"))
    op.drop_table("flag_change")
    with op.batch_alter_table("flag_rollout", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flag_rollout_flag_id"))
    op.drop_table("flag_rollout")
    op.drop_table("flag")
