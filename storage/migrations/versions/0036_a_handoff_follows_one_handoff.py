"""a handoff names the handoff it follows, once: two replicas cannot both tell the same change

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-05 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A handoff recorded before this revision follows the one with the next lower id (0: the first).
_FOLLOWS = """
UPDATE oncall_handoff SET follows = COALESCE(
    (SELECT MAX(earlier.id) FROM oncall_handoff AS earlier WHERE earlier.id < oncall_handoff.id),
    0
)
"""


def upgrade() -> None:
    op.add_column(
        "oncall_handoff",
        sa.Column("follows", sa.Integer(), nullable=False, server_default="0"),
    )
    op.execute(_FOLLOWS)
    with op.batch_alter_table("oncall_handoff") as batch_op:
        batch_op.alter_column("follows", server_default=None)
        batch_op.create_index("ix_oncall_handoff_follows", ["follows"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("oncall_handoff") as batch_op:
        batch_op.drop_index("ix_oncall_handoff_follows")
        batch_op.drop_column("follows")
