"""Foundation: task queue, attempts, generated study UIDs, audit, polling ledger.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ris_ai_module.db.dialects import BigKey, Timestamp

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rai_audit',
    sa.Column('audit_id', BigKey, sa.Identity(always=False), nullable=False),
    sa.Column('audit_at', Timestamp, nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False, comment='cli, http:<address>, scp'),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=True),
    sa.Column('detail', sa.String(length=1000), nullable=True),
    sa.Column('ok', sa.Integer(), server_default='1', nullable=False),
    sa.PrimaryKeyConstraint('audit_id', name=op.f('rai_audit_pk'))
    )
    op.create_index('rai_ix_audit_at', 'rai_audit', ['audit_at'], unique=False)
    op.create_table('rai_exam_started',
    sa.Column('exam_key', sa.String(length=64), nullable=False),
    sa.Column('task_id', BigKey, nullable=True),
    sa.Column('seen_at', Timestamp, nullable=False),
    sa.PrimaryKeyConstraint('exam_key', name=op.f('rai_exam_started_pk'))
    )
    op.create_table('rai_study_uid',
    sa.Column('exam_key', sa.String(length=64), nullable=False),
    sa.Column('study_uid', sa.String(length=64), nullable=False),
    sa.Column('created_at', Timestamp, nullable=False),
    sa.PrimaryKeyConstraint('exam_key', name=op.f('rai_study_uid_pk')),
    sa.UniqueConstraint('study_uid', name='rai_uq_study_uid')
    )
    op.create_table('rai_task',
    sa.Column('task_id', BigKey, sa.Identity(always=False), nullable=False),
    sa.Column('task_uuid', sa.String(length=36), nullable=True, comment='Idempotency key sent to peers; same on every attempt'),
    sa.Column('kind', sa.String(length=20), nullable=False, comment='EXAM_PUSH, SR_APPLY, ...'),
    sa.Column('status', sa.String(length=16), server_default='SCHEDULED', nullable=False),
    sa.Column('exam_key', sa.String(length=64), nullable=True, comment='The RAI_V_EXAM.EXAM_KEY this task concerns'),
    sa.Column('payload', sa.Text(), nullable=True, comment='Kind-specific JSON'),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_run_at', Timestamp, nullable=True, comment='UTC; NULL means now'),
    sa.Column('lease_owner', sa.String(length=100), nullable=True),
    sa.Column('lease_expires_at', Timestamp, nullable=True),
    sa.Column('last_error', sa.String(length=1000), nullable=True),
    sa.Column('created_at', Timestamp, nullable=True),
    sa.Column('updated_at', Timestamp, nullable=True),
    sa.Column('finished_at', Timestamp, nullable=True),
    sa.PrimaryKeyConstraint('task_id', name=op.f('rai_task_pk')),
    sa.UniqueConstraint('task_uuid', name='rai_uq_task_uuid'),
    comment='ris-ai-module work queue: one row per asynchronous job'
    )
    op.create_index('rai_ix_task_exam', 'rai_task', ['exam_key', 'kind'], unique=False)
    op.create_index('rai_ix_task_status_run', 'rai_task', ['status', 'next_run_at'], unique=False)
    op.create_table('rai_task_attempt',
    sa.Column('attempt_id', BigKey, sa.Identity(always=False), nullable=False),
    sa.Column('task_id', BigKey, nullable=False),
    sa.Column('attempt_no', sa.Integer(), nullable=False),
    sa.Column('started_at', Timestamp, nullable=False),
    sa.Column('latency_ms', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False, comment='DONE, RETRY or FAILED'),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('error', sa.String(length=1000), nullable=True),
    sa.Column('response_body', sa.Text(), nullable=True, comment='Kept (bounded) for non-2xx answers'),
    sa.Column('worker', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('attempt_id', name=op.f('rai_task_attempt_pk'))
    )
    op.create_index('rai_ix_attempt_task', 'rai_task_attempt', ['task_id'], unique=False)


def downgrade() -> None:
    op.drop_index('rai_ix_attempt_task', table_name='rai_task_attempt')
    op.drop_table('rai_task_attempt')
    op.drop_index('rai_ix_task_status_run', table_name='rai_task')
    op.drop_index('rai_ix_task_exam', table_name='rai_task')
    op.drop_table('rai_task')
    op.drop_table('rai_study_uid')
    op.drop_table('rai_exam_started')
    op.drop_index('rai_ix_audit_at', table_name='rai_audit')
    op.drop_table('rai_audit')
