"""Name look-up at a million exams: the module's own table of search terms (Chinese substrings, pinyin keys).

Revision ID: 0007_ops_search
Revises: 0006_sr_findings
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ris_ai_module.db.dialects import SearchTerm, Timestamp

revision = "0007_ops_search"
down_revision = "0006_sr_findings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rai_name_index",
        sa.Column("exam_key", sa.String(length=64), nullable=False),
        sa.Column("patient_name", sa.String(length=200), nullable=True),
        sa.Column("exam_date", Timestamp, nullable=True),
        sa.Column("indexed_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("exam_key", name=op.f("rai_name_index_pk")),
    )
    op.create_table(
        "rai_name_key",
        sa.Column("term", SearchTerm, nullable=False),
        sa.Column("exam_date", Timestamp, nullable=False),
        sa.Column("exam_key", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("term", "exam_date", "exam_key", name=op.f("rai_name_key_pk")),
    )
    op.create_index("rai_ix_name_key_exam", "rai_name_key", ["exam_key"], unique=False)
    op.create_table(
        "rai_name_scan",
        sa.Column("scan_name", sa.String(length=40), nullable=False),
        sa.Column("started_at", Timestamp, nullable=False),
        sa.Column("finished_at", Timestamp, nullable=True),
        sa.Column("exams", sa.Integer(), nullable=True),
        sa.Column("changed", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("scan_name", name=op.f("rai_name_scan_pk")),
    )


def downgrade() -> None:
    op.drop_table("rai_name_scan")
    op.drop_index("rai_ix_name_key_exam", table_name="rai_name_key")
    op.drop_table("rai_name_key")
    op.drop_table("rai_name_index")
