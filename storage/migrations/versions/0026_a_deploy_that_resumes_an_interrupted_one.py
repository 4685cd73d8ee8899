"""a deploy that resumes an interrupted one: which, and who resumed it

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deploy", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resumes", sa.Integer(), nullable=True))
        for name, length in (("resumed_by", 255), ("resumed_by_name", 255), ("resumed_via", 32)):
            batch_op.add_column(
                sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=length), nullable=True)
            )
        batch_op.create_foreign_key("fk_deploy_resumes", "deploy", ["resumes"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("deploy", schema=None) as batch_op:
        batch_op.drop_constraint("fk_deploy_resumes", type_="foreignkey")
        for name in ("resumed_via", "resumed_by_name", "resumed_by", "resumes"):
            batch_op.drop_column(name)
