"""one flag version, moved in the transaction of every flag change, read by OFREP's ETag

Revision ID: 0035
Revises: 0030
Create Date: 2026-12-05 18:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0035"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    version = op.create_table(
        "flag_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(version, [{"id": 1, "n": 0}])


def downgrade() -> None:
    op.drop_table("flag_version")
