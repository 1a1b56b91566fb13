"""Operations: page sessions and login failures in the database; the audit purge procedure.

RAI_AUDIT becomes append-only for the module's account (40_grants.sql grants only SELECT, INSERT); its
rows leave through RAI_AUDIT_PURGE, created here with its owner's rights (PostgreSQL and KingbaseES,
MySQL/MariaDB, SQL Server, Oracle, DM8), which deletes nothing younger
than 180 days (网络安全法: logs kept six months). SQLite has no accounts and gets no procedure.

Revision ID: 0004_ops
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ris_ai_module.db.dialects import Timestamp

revision = "0004_ops"
down_revision = "0003"
branch_labels = None
depends_on = None

_PURGE = {
    "postgresql": [
        """CREATE OR REPLACE PROCEDURE rai_audit_purge(p_days integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM rai_audit
     WHERE audit_at < (now() AT TIME ZONE 'UTC') - make_interval(days => GREATEST(p_days, 180));
END
$$""",
        "REVOKE ALL ON PROCEDURE rai_audit_purge(integer) FROM PUBLIC",
    ],
    "mysql": [
        """CREATE PROCEDURE rai_audit_purge(IN p_days INT)
SQL SECURITY DEFINER
DELETE FROM rai_audit WHERE audit_at < UTC_TIMESTAMP(6) - INTERVAL GREATEST(p_days, 180) DAY""",
    ],
    "mssql": [
        """CREATE OR ALTER PROCEDURE rai_audit_purge @p_days INT WITH EXECUTE AS OWNER AS
BEGIN
    SET NOCOUNT ON;
    DELETE FROM rai_audit
     WHERE audit_at < DATEADD(day, -(CASE WHEN @p_days > 180 THEN @p_days ELSE 180 END), SYSUTCDATETIME());
END""",
    ],
    "oracle": [
        """CREATE OR REPLACE PROCEDURE rai_audit_purge(p_days IN NUMBER) AUTHID DEFINER AS
BEGIN
    DELETE FROM rai_audit
     WHERE audit_at < SYS_EXTRACT_UTC(SYSTIMESTAMP) - NUMTODSINTERVAL(GREATEST(p_days, 180), 'DAY');
END;""",
    ],
}


_PURGE["dm"] = _PURGE["oracle"]  # 达梦 DM8 runs the Oracle PL/SQL unit as written


def _dialect() -> str:
    name = op.get_bind().dialect.name
    return "mysql" if name == "mariadb" else name


def upgrade() -> None:
    op.create_table(
        "rai_session",
        sa.Column("session_hash", sa.String(length=64), nullable=False, comment="SHA-256 of the cookie value"),
        sa.Column("user_name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False,
                  comment="Sent back by the page on every state change"),
        sa.Column("source", sa.String(length=45), nullable=True, comment="Client address at login"),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("last_seen_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("session_hash", name=op.f("rai_session_pk")),
    )
    op.create_index("rai_ix_session_seen", "rai_session", ["last_seen_at"], unique=False)
    op.create_table(
        "rai_login_failure",
        sa.Column("fail_key", sa.String(length=150), nullable=False),
        sa.Column("fail_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("first_failed_at", Timestamp, nullable=False),
        sa.Column("last_failed_at", Timestamp, nullable=False),
        sa.Column("locked_until", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("fail_key", name=op.f("rai_login_failure_pk")),
    )
    for statement in _PURGE.get(_dialect(), []):
        op.execute(statement)


def downgrade() -> None:
    if _dialect() in _PURGE:
        op.execute("DROP PROCEDURE rai_audit_purge" + ("(integer)" if _dialect() == "postgresql" else ""))
    op.drop_table("rai_login_failure")
    op.drop_index("rai_ix_session_seen", table_name="rai_session")
    op.drop_table("rai_session")
