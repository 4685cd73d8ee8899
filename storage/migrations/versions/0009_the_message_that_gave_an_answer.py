"""the thread message that gave an answer of the five whys, so an edit of it finds the answer

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("why_answer", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("message_ts", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("why_answer", schema=None) as batch_op:
        batch_op.drop_column("message_ts")
