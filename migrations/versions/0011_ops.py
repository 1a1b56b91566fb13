"""C-STORE metrics (issue 13): counts by SOP class, DIMSE status and handling time; refused presentation
contexts; the A-ASSOCIATE-RJ reason of each rejection as a code (earlier rows get theirs from the text).

Revision ID: 0011_ops
Revises: 0010_stgcmt
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ris_ai_module.db.dialects import Timestamp

revision = "0011_ops"
down_revision = "0010_stgcmt"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rai_cstore_stat",
        sa.Column("sop_class_uid", sa.String(64), primary_key=True, comment="The presentation context's abstract syntax"),
        sa.Column("status", sa.Integer, primary_key=True,
                  comment="The DIMSE status sent (0 = Success, 42752 = 0xA700 ...)"),
        sa.Column("le_ms", sa.Integer, primary_key=True,
                  comment="Handling-time bucket: at most this many ms (and above the previous bound); "
                          "2147483647 = above all"),
        sa.Column("events", sa.BigInteger, nullable=False, comment="C-STORE requests answered"),
        sa.Column("sum_ms", sa.Float, nullable=False, comment="Their handling time in all, ms"),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("sop_class_uid", "status", "le_ms", name="rai_cstore_stat_pk"),
    )
    op.create_table(
        "rai_context_reject_stat",
        sa.Column("sop_class_uid", sa.String(64), primary_key=True, comment="Proposed abstract syntax, or 'other'"),
        sa.Column("result", sa.Integer, primary_key=True,
                  comment="PS3.8 result: 3 abstract syntax not supported, 4 transfer syntaxes not supported, "
                          "2 no reason"),
        sa.Column("events", sa.BigInteger, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("sop_class_uid", "result", name="rai_context_reject_stat_pk"),
    )
    with op.batch_alter_table("rai_assoc_reject") as batch:
        batch.add_column(sa.Column("reason_code", sa.String(32), nullable=True,
                                   comment="CALLING_AE_NOT_RECOGNISED, CALLED_AE_NOT_RECOGNISED or LOCAL_LIMIT_EXCEEDED"))
    op.execute("UPDATE rai_assoc_reject SET reason_code = CASE "
               "WHEN reason LIKE 'called AE title%' THEN 'CALLED_AE_NOT_RECOGNISED' "
               "WHEN reason LIKE '%dicom.max_associations%' THEN 'LOCAL_LIMIT_EXCEEDED' "
               "ELSE 'CALLING_AE_NOT_RECOGNISED' END")


def downgrade() -> None:
    with op.batch_alter_table("rai_assoc_reject") as batch:
        batch.drop_column("reason_code")
    op.drop_table("rai_context_reject_stat")
    op.drop_table("rai_cstore_stat")
