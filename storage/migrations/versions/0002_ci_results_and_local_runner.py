"""ci results and the local runner queue

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 15:05:42.480834
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ci_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("branch", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("queued_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("started_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("finished_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("claimed_until", storage.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ci_job", schema=None) as batch_op:
        batch_op.create_index("ix_ci_job_status", ["status", "id"], unique=False)

    op.create_table(
        "ci_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("provider", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("revision", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("branch", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("pipeline", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("author_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("author_email", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("failed_tests", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("revision", "pipeline", "run_id", "status", name="uq_ci_result"),
    )
    with op.batch_alter_table("ci_result", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ci_result_branch_pipeline", ["branch", "pipeline", "id"], unique=False
        )
        batch_op.create_index(
            "ix_ci_result_revision_pipeline", ["revision", "pipeline", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ci_result", schema=None) as batch_op:
        batch_op.drop_index("ix_ci_result_revision_pipeline")
        batch_op.drop_index("ix_ci_result_branch_pipeline")

    op.drop_table("ci_result")
    with op.batch_alter_table("ci_job", schema=None) as batch_op:
        batch_op.drop_index("ix_ci_job_status")

    op.drop_table("ci_job")
