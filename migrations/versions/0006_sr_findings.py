"""SR findings: RAI_MEASUREMENT keeps coded and text values (categories, descriptors) beside numbers.

A CODE finding (BI-RADS 4B, echo pattern "Hypoechoic") keeps its code as sent (scheme, code, meaning),
a TEXT finding its text; both keep the Chinese wording the report shows (issue 8 item 9). NULL for a
NUM row, and for rows written before this revision (read as NUM).

Revision ID: 0006_sr_findings
Revises: 0005_architecture
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_sr_findings"
down_revision = "0005_architecture"
branch_labels = None
depends_on = None

def _columns() -> list[sa.Column]:
    """Fresh Column objects on every call: a Column belongs to one table, and ``Column.copy()`` is
    deprecated (SQLAlchemy warned on every migration run)."""
    return [
        sa.Column("value_type", sa.String(length=8), nullable=True, comment="NUM, CODE or TEXT (NULL = NUM)"),
        sa.Column("value_scheme", sa.String(length=16), nullable=True, comment="CODE: coding scheme as sent"),
        sa.Column("value_code", sa.String(length=64), nullable=True, comment="CODE: code value as sent"),
        sa.Column("value_meaning", sa.String(length=200), nullable=True, comment="CODE: code meaning as sent"),
        sa.Column("value_text", sa.String(length=1000), nullable=True, comment="TEXT: the text as sent"),
        sa.Column("value_zh", sa.String(length=100), nullable=True,
                  comment="CODE/TEXT: the value as the report writes it"),
    ]


def upgrade() -> None:
    with op.batch_alter_table("rai_measurement") as batch:
        for column in _columns():
            batch.add_column(column)


def downgrade() -> None:
    with op.batch_alter_table("rai_measurement") as batch:
        for column in reversed(_columns()):
            batch.drop_column(column.name)
