"""the digest: commit times, week indexes, the posted weeks

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 19:21:54.562230
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "digest_post",
        sa.Column("week", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("posted_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["outbox_message.id"],
        ),
        sa.PrimaryKeyConstraint("week"),
    )
    with op.batch_alter_table("action_item", schema=None) as batch_op:
        batch_op.create_index("ix_action_item_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_action_item_done_at", ["done_at"], unique=False)

    with op.batch_alter_table("ci_result", schema=None) as batch_op:
        batch_op.create_index("ix_ci_result_received_at", ["received_at"], unique=False)

    with op.batch_alter_table("deploy", schema=None) as batch_op:
        batch_op.add_column(sa.Column("committed_at", storage.types.UTCDateTime(), nullable=True))
        batch_op.create_index("ix_deploy_finished_at", ["finished_at"], unique=False)

    with op.batch_alter_table("page", schema=None) as batch_op:
        batch_op.create_index("ix_page_opened_at", ["opened_at"], unique=False)

    with op.batch_alter_table("page_event", schema=None) as batch_op:
        batch_op.create_index("ix_page_event_kind_at", ["kind", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("page_event", schema=None) as batch_op:
        batch_op.drop_index("ix_page_event_kind_at")

    with op.batch_alter_table("page", schema=None) as batch_op:
        batch_op.drop_index("ix_page_opened_at")

    with op.batch_alter_table("deploy", schema=None) as batch_op:
        batch_op.drop_index("ix_deploy_finished_at")
        batch_op.drop_column("committed_at")

    with op.batch_alter_table("ci_result", schema=None) as batch_op:
        batch_op.drop_index("ix_ci_result_received_at")

    with op.batch_alter_table("action_item", schema=None) as batch_op:
        batch_op.drop_index("ix_action_item_done_at")
        batch_op.drop_index("ix_action_item_created_at")

    op.drop_table("digest_post")
