"""Accept-time refusals (issue 13): connections the SCP closed before reading anything (address not on any
peer's whitelist, handshake limits), counted by reason for GET /metrics.

Revision ID: 0014_refusal_stat
Revises: 0013_retention
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ris_ai_module.db.dialects import Timestamp

revision = "0014_refusal_stat"
down_revision = "0013_retention"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rai_refusal_stat",
        sa.Column("reason_code", sa.String(32), primary_key=True, comment="ADDRESS_NOT_ALLOWED or HANDSHAKE_LIMIT"),
        sa.Column("events", sa.BigInteger, nullable=False, comment="Connections refused"),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("reason_code", name="rai_refusal_stat_pk"),
    )


def downgrade() -> None:
    op.drop_table("rai_refusal_stat")
