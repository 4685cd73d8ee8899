"""the CI's own name for a run (GitLab's ``workflow:name``), kept so ``/ci`` shows it beside the
pipeline as the announcement did

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ci_result", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("ci_result", schema=None) as batch_op:
        batch_op.drop_column("label")
