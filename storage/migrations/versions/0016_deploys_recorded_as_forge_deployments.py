"""deploys recorded as GitHub and GitLab deployments, and what each forge was last told

Revision ID: 0016
Revises: 0010
Create Date: 2026-12-09 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0016"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "forge_deployment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deploy_id", sa.Integer(), nullable=False),
        sa.Column("forge", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("project", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("forge_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("shown", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("claimed_until", storage.types.UTCDateTime(), nullable=True),
        sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("updated_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["deploy_id"], ["deploy.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("deploy_id", "forge", name="uq_forge_deployment"),
    )
    with op.batch_alter_table("forge_deployment", schema=None) as batch_op:
        batch_op.create_index("ix_forge_deployment_due", ["next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("forge_deployment", schema=None) as batch_op:
        batch_op.drop_index("ix_forge_deployment_due")
    op.drop_table("forge_deployment")
