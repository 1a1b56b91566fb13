"""Health: check results, alert state, leader lease, sent reports.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ris_ai_module.db.dialects import BigKey, Timestamp

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rai_check",
        sa.Column("check_id", BigKey, sa.Identity(always=False), nullable=False),
        sa.Column("checked_at", Timestamp, nullable=False),
        sa.Column("target", sa.String(length=100), nullable=False,
                  comment="Peer name, HTTP check name, queue:*, disk:*, cert:*"),
        sa.Column("kind", sa.String(length=16), nullable=False, comment="ECHO, HTTP, QUEUE, DISK or CERT"),
        sa.Column("ok", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.Column("detail", sa.String(length=1000), nullable=True),
        sa.Column("instance", sa.String(length=100), nullable=True, comment="Module instance that ran the check"),
        sa.PrimaryKeyConstraint("check_id", name=op.f("rai_check_pk")),
    )
    op.create_index("rai_ix_check_at", "rai_check", ["checked_at"], unique=False)
    op.create_index("rai_ix_check_target", "rai_check", ["target", "checked_at"], unique=False)
    op.create_table(
        "rai_lease",
        sa.Column("lease_name", sa.String(length=40), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("acquired_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("lease_name", name=op.f("rai_lease_pk")),
    )
    op.create_table(
        "rai_alert_state",
        sa.Column("target", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False, comment="UP or DOWN"),
        sa.Column("fail_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("changed_at", Timestamp, nullable=False),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("sent_state", sa.String(length=8), nullable=False, comment="State last announced to IT"),
        sa.Column("sent_at", Timestamp, nullable=True),
        sa.Column("changes", sa.Integer(), server_default="0", nullable=False, comment="State changes since sent_at"),
        sa.PrimaryKeyConstraint("target", name=op.f("rai_alert_state_pk")),
    )
    op.create_table(
        "rai_report_sent",
        sa.Column("report_date", sa.String(length=10), nullable=False,
                  comment="YYYY-MM-DD of the day reported (local)"),
        sa.Column("status", sa.String(length=16), nullable=False, comment="CLAIMED, SENT or FAILED"),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("claimed_at", Timestamp, nullable=False),
        sa.Column("sent_at", Timestamp, nullable=True),
        sa.Column("detail", sa.String(length=1000), nullable=True),
        sa.PrimaryKeyConstraint("report_date", name=op.f("rai_report_sent_pk")),
    )


def downgrade() -> None:
    op.drop_table("rai_report_sent")
    op.drop_table("rai_alert_state")
    op.drop_table("rai_lease")
    op.drop_index("rai_ix_check_target", table_name="rai_check")
    op.drop_index("rai_ix_check_at", table_name="rai_check")
    op.drop_table("rai_check")
