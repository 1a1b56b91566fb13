"""Storage retention (issue 14): when retention deleted an object's file; the row stays, so the trace tells
what happened and a request for the file gets a clear answer.

Revision ID: 0013_retention
Revises: 0012_lookup
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ris_ai_module.db.dialects import Timestamp

revision = "0013_retention"
down_revision = "0012_lookup"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rai_object") as batch:
        batch.add_column(sa.Column("purged_at", Timestamp, nullable=True,
                                   comment="When storage retention deleted the file (UTC); NULL = file kept"))


def downgrade() -> None:
    with op.batch_alter_table("rai_object") as batch:
        batch.drop_column("purged_at")
