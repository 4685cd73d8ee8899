"""the digest reads indexes alone: shipped deploys, items per week, overdue items, the CI week

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-05 22:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0037"
down_revision: str | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, index, columns now, columns before this revision; None: the index is new)
_INDEXES: tuple[tuple[str, str, list[str], list[str] | None], ...] = (
    ("deploy", "ix_deploy_shipped", ["finished_at", "kind", "status", "environment"], None),
    ("deploy", "ix_deploy_requested_at", ["requested_at"], None),
    ("action_item", "ix_action_item_created_at", ["created_at", "status"], ["created_at"]),
    (
        "action_item",
        "ix_action_item_done_at",
        ["done_at", "due", "created_at", "status"],
        ["done_at"],
    ),
    ("action_item", "ix_action_item_due", ["due", "id"], None),
    ("stoppage", "ix_stoppage_closed_at", ["closed_at"], None),
    (
        "ci_result",
        "ix_ci_result_received_at",
        ["received_at", "status", "pipeline", "duration_s"],
        ["received_at"],
    ),
)


def upgrade() -> None:
    for table, name, columns, before in _INDEXES:
        if before is not None:
            op.drop_index(name, table_name=table)
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for table, name, _columns, before in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
        if before is not None:
            op.create_index(name, table, before, unique=False)
