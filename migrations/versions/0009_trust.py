"""Nothing wrong reaches a report: patient-check review state on objects, SR provenance, superseded values,
acceptance of AI values at signing.

Revision ID: 0009_trust
Revises: 0008_deploy
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ris_ai_module.db.dialects import BigKey, Timestamp

revision = "0009_trust"
down_revision = "0008_deploy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rai_object") as batch:
        batch.add_column(sa.Column("patient_name", sa.String(200), nullable=True, comment="PatientName as sent (decoded)"))
        batch.add_column(sa.Column("review_state", sa.String(16), nullable=True,
                                   comment="NEEDS_REVIEW, CONFIRMED or MOVED; NULL = passed the patient check"))
        batch.add_column(sa.Column("review_reason", sa.String(500), nullable=True,
                                   comment="Why the object waits (or was confirmed)"))
        batch.add_column(sa.Column("review_exam_key", sa.String(64), nullable=True,
                                   comment="The exam the link rules found, while in review"))
        batch.add_column(sa.Column("review_method", sa.String(20), nullable=True,
                                   comment="The link rule that found review_exam_key"))
    op.create_index("rai_ix_object_review", "rai_object", ["review_state"], unique=False)
    with op.batch_alter_table("rai_measurement") as batch:
        batch.add_column(sa.Column("report_key", sa.String(64), nullable=True,
                                   comment="The key written in the report (item_key + suffix)"))
        batch.add_column(sa.Column("superseded_by", sa.String(64), nullable=True,
                                   comment="SOP Instance UID of the SR whose value replaced this one; NULL = current"))
    with op.batch_alter_table("rai_report_state") as batch:
        batch.add_column(sa.Column("signed_checked_at", Timestamp, nullable=True,
                                   comment="When the signed report was compared (acceptance)"))
    op.create_table(
        "rai_sr_source",
        sa.Column("sop_instance_uid", sa.String(64), nullable=False),
        sa.Column("exam_key", sa.String(64), nullable=True),
        sa.Column("manufacturer", sa.String(64), nullable=True),
        sa.Column("model", sa.String(64), nullable=True),
        sa.Column("software_versions", sa.String(200), nullable=True),
        sa.Column("device_serial", sa.String(64), nullable=True),
        sa.Column("algorithm_name", sa.String(200), nullable=True, comment="TID 4019 Algorithm Name"),
        sa.Column("algorithm_version", sa.String(64), nullable=True, comment="TID 4019 Algorithm Version"),
        sa.Column("observer", sa.String(1000), nullable=True, comment="JSON: observer context (TID 1002/1004)"),
        sa.Column("content_at", Timestamp, nullable=True, comment="ContentDate/Time as sent (device clock)"),
        sa.Column("instance_at", Timestamp, nullable=True, comment="InstanceCreationDate/Time as sent"),
        sa.Column("predecessors", sa.String(1000), nullable=True, comment="JSON list: Predecessor Documents Sequence"),
        sa.Column("device_key", sa.String(200), nullable=True, comment="Manufacturer|model|serial: one source device"),
        sa.Column("completion_flag", sa.String(16), nullable=True),
        sa.Column("verification_flag", sa.String(16), nullable=True),
        sa.Column("read_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("sop_instance_uid", name=op.f("rai_sr_source_pk")),
    )
    op.create_index("rai_ix_sr_source_exam", "rai_sr_source", ["exam_key"], unique=False)
    op.create_table(
        "rai_acceptance",
        sa.Column("acceptance_id", BigKey, sa.Identity(always=False), nullable=False),
        sa.Column("exam_key", sa.String(64), nullable=False),
        sa.Column("target", sa.String(16), nullable=False, comment="rows, columns, text or procedure"),
        sa.Column("item_key", sa.String(64), nullable=False,
                  comment="Measurement key; * for a text block or procedure"),
        sa.Column("outcome", sa.String(16), nullable=False, comment="ACCEPTED, EDITED, REMOVED or UNREADABLE"),
        sa.Column("written_value", sa.String(1000), nullable=True),
        sa.Column("signed_value", sa.String(1000), nullable=True),
        sa.Column("sop_instance_uid", sa.String(64), nullable=True, comment="The SR the value came from"),
        sa.Column("model", sa.String(200), nullable=True, comment="AI model and version of that SR"),
        sa.Column("compared_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("acceptance_id", name=op.f("rai_acceptance_pk")),
        sa.UniqueConstraint("exam_key", "target", "item_key", name="rai_uq_acceptance"),
    )
    op.create_index("rai_ix_acceptance_at", "rai_acceptance", ["compared_at"], unique=False)


def downgrade() -> None:
    op.drop_index("rai_ix_acceptance_at", table_name="rai_acceptance")
    op.drop_table("rai_acceptance")
    op.drop_index("rai_ix_sr_source_exam", table_name="rai_sr_source")
    op.drop_table("rai_sr_source")
    with op.batch_alter_table("rai_report_state") as batch:
        batch.drop_column("signed_checked_at")
    with op.batch_alter_table("rai_measurement") as batch:
        batch.drop_column("superseded_by")
        batch.drop_column("report_key")
    op.drop_index("rai_ix_object_review", table_name="rai_object")
    with op.batch_alter_table("rai_object") as batch:
        for name in ("review_method", "review_exam_key", "review_reason", "review_state", "patient_name"):
            batch.drop_column(name)
