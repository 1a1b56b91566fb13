"""Storage Commitment (issue 14, PS3.4 Annex J): RAI_STGCMT transactions both ways, and the archive's
commitment per object on RAI_OBJECT.

Revision ID: 0010_stgcmt
Revises: 0009_trust
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ris_ai_module.db.dialects import BigKey, Timestamp

revision = "0010_stgcmt"
down_revision = "0009_trust"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rai_object") as batch:
        batch.add_column(sa.Column("commit_requested_at", Timestamp, nullable=True,
                                   comment="Last N-ACTION asking the archive to commit it"))
        batch.add_column(sa.Column("committed_at", Timestamp, nullable=True,
                                   comment="The archive committed to keep it (N-EVENT-REPORT)"))
        batch.add_column(sa.Column("commit_failure", sa.String(200), nullable=True,
                                   comment="Why not committed: Failure Reason 0x0112 ..., or no answer; NULL once committed"))
        batch.add_column(sa.Column("commit_uid", sa.String(64), nullable=True,
                                   comment="Transaction UID of the last request (RAI_STGCMT)"))
    op.create_table(
        "rai_stgcmt",
        sa.Column("transaction_uid", sa.String(64), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False, comment="IN (asked of us) or OUT (we asked the archive)"),
        sa.Column("state", sa.String(16), nullable=False,
                  comment="IN: PENDING, SENDING, REPORTED; OUT: REQUESTED, COMMITTED, FAILED, CLOSED, EXPIRED"),
        sa.Column("peer_ae", sa.String(16), nullable=True, comment="The requester (IN) or the archive (OUT)"),
        sa.Column("peer_address", sa.String(64), nullable=True),
        sa.Column("task_id", BigKey, nullable=True, comment="The STGCMT_REPORT or STGCMT_REQUEST task"),
        sa.Column("instances", sa.Text, nullable=False, comment="JSON [[SOP Class UID, SOP Instance UID], ...] as asked"),
        sa.Column("failures", sa.Text, nullable=True, comment="JSON [[class, instance, Failure Reason], ...]"),
        sa.Column("event_type", sa.Integer, nullable=True, comment="1 all committed, 2 failures exist"),
        sa.Column("channel", sa.String(8), nullable=True, comment="How the report went: SAME or NEW association"),
        sa.Column("requested_at", Timestamp, nullable=False),
        sa.Column("answered_at", Timestamp, nullable=True, comment="IN: report sent; OUT: report received"),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.Column("detail", sa.String(1000), nullable=True),
        sa.PrimaryKeyConstraint("transaction_uid", name=op.f("rai_stgcmt_pk")),
    )
    op.create_index("rai_ix_stgcmt_state", "rai_stgcmt", ["direction", "state"], unique=False)
    op.create_index("rai_ix_stgcmt_task", "rai_stgcmt", ["task_id"], unique=False)


def downgrade() -> None:
    op.drop_index("rai_ix_stgcmt_task", table_name="rai_stgcmt")
    op.drop_index("rai_ix_stgcmt_state", table_name="rai_stgcmt")
    op.drop_table("rai_stgcmt")
    with op.batch_alter_table("rai_object") as batch:
        for name in ("commit_uid", "commit_failure", "committed_at", "commit_requested_at"):
            batch.drop_column(name)
