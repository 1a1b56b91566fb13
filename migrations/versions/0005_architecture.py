"""Task attempts in protocol-neutral terms: where the attempt went and the far side's answer as text.

RAI_TASK_ATTEMPT.HTTP_STATUS stays (filled by HTTP deliveries; DBAs query it); RESPONSE_BODY holds the
bounded answer of any protocol.

Revision ID: 0005_architecture
Revises: 0004_ops
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_architecture"
down_revision = "0004_ops"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rai_task_attempt") as batch:
        batch.add_column(sa.Column("target", sa.String(length=200), nullable=True,
                                   comment="Where the attempt went: URL, AE@host:port, ..."))
        batch.add_column(sa.Column("status_text", sa.String(length=200), nullable=True,
                                   comment="The far side's answer in its protocol's terms: HTTP 422 ..., 0xA700, AE"))


def downgrade() -> None:
    with op.batch_alter_table("rai_task_attempt") as batch:
        batch.drop_column("status_text")
        batch.drop_column("target")
