"""Name look-up kept current by triggers (issue 13): RAI_NAME_QUEUE, the exams whose name or date changed in
the RIS, filled by sql/<dialect>/31_trigger_name_index.sql and drained by the module.

Revision ID: 0012_lookup
Revises: 0011_ops
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ris_ai_module.db.dialects import BigKey, Timestamp

revision = "0012_lookup"
down_revision = "0011_ops"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rai_name_queue",
        sa.Column("queue_id", BigKey, sa.Identity(always=False), nullable=False),
        sa.Column("exam_key", sa.String(length=64), nullable=False),
        sa.Column("queued_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("queue_id", name=op.f("rai_name_queue_pk")),
    )


def downgrade() -> None:
    op.drop_table("rai_name_queue")
