"""deploys, releases, the deploy lock, and who claimed an outbox message

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 16:40:35.856163
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True)
        )
    op.create_table(
        "release",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("environment", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("revision", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("live_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("healthy_since", storage.types.UTCDateTime(), nullable=True),
        sa.Column("left_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("bad", sa.Boolean(), nullable=False),
        sa.Column("bad_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("environment", "revision", name="uq_release"),
    )
    op.create_table(
        "deploy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("environment", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("revision", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("requested_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("requested_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column(
            "requested_by_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False
        ),
        sa.Column("via", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("approved_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("approved_by_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("fix_reason", sa.Text(), nullable=True),
        sa.Column("started_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("finished_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("migrated", sa.Boolean(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("holder", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["outbox_message.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deploy", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deploy_environment_status", ["environment", "status", "id"], unique=False
        )

    op.create_table(
        "deploy_host",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deploy_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("step", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("previous_revision", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("started_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("staged_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("activated_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("finished_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("files_sent", sa.Integer(), nullable=False),
        sa.Column("bytes_sent", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["deploy_id"],
            ["deploy.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deploy_host", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deploy_host_deploy_id"), ["deploy_id"], unique=False)

    op.create_table(
        "deploy_lock",
        sa.Column("environment", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("deploy_id", sa.Integer(), nullable=True),
        sa.Column("holder", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("expires_at", storage.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["deploy_id"],
            ["deploy.id"],
        ),
        sa.PrimaryKeyConstraint("environment"),
    )


def downgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_column("claimed_by")
    op.drop_table("deploy_lock")
    with op.batch_alter_table("deploy_host", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deploy_host_deploy_id"))

    op.drop_table("deploy_host")
    with op.batch_alter_table("deploy", schema=None) as batch_op:
        batch_op.drop_index("ix_deploy_environment_status")

    op.drop_table("deploy")
    op.drop_table("release")
