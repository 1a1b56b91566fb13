"""Password history of the HTTP accounts (等保 password policy: no reuse of the last N).

Revision ID: 0008_deploy
Revises: 0007_ops_search
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ris_ai_module.db.dialects import BigKey, Timestamp

revision = "0008_deploy"
down_revision = "0007_ops_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rai_password_history",
        sa.Column("history_id", BigKey, sa.Identity(always=False), nullable=False),
        sa.Column("user_name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("set_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("history_id", name=op.f("rai_password_history_pk")),
    )
    op.create_index("rai_ix_pwhist_user", "rai_password_history", ["user_name", "set_at"], unique=False)


def downgrade() -> None:
    op.drop_index("rai_ix_pwhist_user", table_name="rai_password_history")
    op.drop_table("rai_password_history")
