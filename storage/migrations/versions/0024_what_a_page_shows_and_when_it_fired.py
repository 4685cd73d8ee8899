"""what a page shows besides its summary (the sender's facts), when it fired, and each alert's
severity as last sent

Revision ID: 0024
Revises: 0021
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0024"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("page", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fired_at", storage.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("facts", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("page_alert", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("severity", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
    # Alerts recorded before knew only their page's severity: theirs, so a re-send is no change.
    op.execute(
        "UPDATE page_alert SET severity = "
        "(SELECT page.severity FROM page WHERE page.id = page_alert.page_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("page_alert", schema=None) as batch_op:
        batch_op.drop_column("severity")
    with op.batch_alter_table("page", schema=None) as batch_op:
        batch_op.drop_column("facts")
        batch_op.drop_column("fired_at")
