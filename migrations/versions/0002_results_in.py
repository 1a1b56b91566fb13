"""Results in: stored objects, measurements, report state, association rejections.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ris_ai_module.db.dialects import BigKey, Timestamp

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rai_assoc_reject',
    sa.Column('reject_id', BigKey, sa.Identity(always=False), nullable=False),
    sa.Column('rejected_at', Timestamp, nullable=False),
    sa.Column('address', sa.String(length=64), nullable=True),
    sa.Column('calling_ae', sa.String(length=16), nullable=True),
    sa.Column('called_ae', sa.String(length=16), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('reject_id', name=op.f('rai_assoc_reject_pk'))
    )
    op.create_index('rai_ix_reject_at', 'rai_assoc_reject', ['rejected_at'], unique=False)
    op.create_table('rai_measurement',
    sa.Column('measurement_id', BigKey, sa.Identity(always=False), nullable=False),
    sa.Column('sop_instance_uid', sa.String(length=64), nullable=False),
    sa.Column('exam_key', sa.String(length=64), nullable=True),
    sa.Column('item_key', sa.String(length=64), nullable=True, comment='Canonical key; NULL = not in the catalog'),
    sa.Column('name_zh', sa.String(length=100), nullable=True),
    sa.Column('name_en', sa.String(length=200), nullable=True),
    sa.Column('num_value', sa.Float(), nullable=True, comment='In the canonical unit'),
    sa.Column('unit', sa.String(length=32), nullable=True),
    sa.Column('raw_value', sa.String(length=64), nullable=True),
    sa.Column('raw_unit', sa.String(length=32), nullable=True),
    sa.Column('concept_scheme', sa.String(length=16), nullable=True),
    sa.Column('concept_code', sa.String(length=32), nullable=True),
    sa.Column('concept_meaning', sa.String(length=200), nullable=True),
    sa.Column('context', sa.Text(), nullable=True, comment='JSON: finding site, laterality, fetus, ...'),
    sa.Column('selected', sa.Integer(), server_default='0', nullable=False),
    sa.Column('item_path', sa.String(length=100), nullable=True),
    sa.Column('created_at', Timestamp, nullable=False),
    sa.PrimaryKeyConstraint('measurement_id', name=op.f('rai_measurement_pk'))
    )
    op.create_index('rai_ix_measure_exam', 'rai_measurement', ['exam_key', 'item_key'], unique=False)
    op.create_index('rai_ix_measure_sop', 'rai_measurement', ['sop_instance_uid'], unique=False)
    op.create_table('rai_object',
    sa.Column('sop_instance_uid', sa.String(length=64), nullable=False),
    sa.Column('sop_class_uid', sa.String(length=64), nullable=False),
    sa.Column('study_uid', sa.String(length=64), nullable=True),
    sa.Column('series_uid', sa.String(length=64), nullable=True),
    sa.Column('transfer_syntax', sa.String(length=64), nullable=True),
    sa.Column('patient_id', sa.String(length=64), nullable=True),
    sa.Column('accession_no', sa.String(length=64), nullable=True),
    sa.Column('exam_key', sa.String(length=64), nullable=True, comment='Linked exam; NULL = unlinked'),
    sa.Column('link_method', sa.String(length=20), nullable=True, comment='STUDY_UID, ACCESSION, PATIENT_DATE or MANUAL'),
    sa.Column('source', sa.String(length=16), nullable=False, comment='DICOM or IMPORT'),
    sa.Column('sender_ae', sa.String(length=16), nullable=True),
    sa.Column('sender_address', sa.String(length=64), nullable=True),
    sa.Column('file_path', sa.String(length=500), nullable=False, comment='Relative to storage.root'),
    sa.Column('file_size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('received_at', Timestamp, nullable=False),
    sa.PrimaryKeyConstraint('sop_instance_uid', name=op.f('rai_object_pk'))
    )
    op.create_index('rai_ix_object_exam', 'rai_object', ['exam_key'], unique=False)
    op.create_index('rai_ix_object_received', 'rai_object', ['received_at'], unique=False)
    op.create_index('rai_ix_object_study', 'rai_object', ['study_uid'], unique=False)
    op.create_table('rai_report_state',
    sa.Column('exam_key', sa.String(length=64), nullable=False),
    sa.Column('sop_instance_uid', sa.String(length=64), nullable=True, comment='The SR last applied or waiting'),
    sa.Column('state', sa.String(length=16), nullable=False, comment='APPLIED, PENDING or FAILED'),
    sa.Column('detail', sa.String(length=1000), nullable=True),
    sa.Column('written_keys', sa.Text(), nullable=True, comment='JSON {target: {item key: value the module wrote}}'),
    sa.Column('updated_at', Timestamp, nullable=False),
    sa.PrimaryKeyConstraint('exam_key', name=op.f('rai_report_state_pk'))
    )
    op.create_index('rai_ix_report_state', 'rai_report_state', ['state'], unique=False)


def downgrade() -> None:
    op.drop_index('rai_ix_report_state', table_name='rai_report_state')
    op.drop_table('rai_report_state')
    op.drop_index('rai_ix_object_study', table_name='rai_object')
    op.drop_index('rai_ix_object_received', table_name='rai_object')
    op.drop_index('rai_ix_object_exam', table_name='rai_object')
    op.drop_table('rai_object')
    op.drop_index('rai_ix_measure_sop', table_name='rai_measurement')
    op.drop_index('rai_ix_measure_exam', table_name='rai_measurement')
    op.drop_table('rai_measurement')
    op.drop_index('rai_ix_reject_at', table_name='rai_assoc_reject')
    op.drop_table('rai_assoc_reject')
