"""The databases Chinese hospitals run beside the four of CI: SQL Server, 达梦 DM8, 人大金仓 KingbaseES.

No SQL Server or DM server can run here: their DDL and the module's runtime statements are compiled with
their dialects, and the limits that a server would enforce (identifier length, index key size) are
checked by hand. KingbaseES is PostgreSQL-compatible: its driver (ksycopg2) is run for real against the
PostgreSQL server, with the migrations and the scripts of sql/kingbase/.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
import venv
from pathlib import Path

import pytest
from sqlalchemy import String, select, text
from sqlalchemy.dialects import mssql
from sqlalchemy.schema import CreateIndex, CreateTable

from ris_ai_module.db import migrate, scripts
from ris_ai_module.db.dialects import MSSQL_CLAIM_HINT, lock_for_claim, procedure_call
from ris_ai_module.db.tables import metadata, task
from tests.dbs import fresh_database, in_ci

ROOT = Path(__file__).resolve().parents[3]


class _Fake:
    """What the dialect helpers look at: ``engine.dialect``."""

    def __init__(self, dialect: object) -> None:
        self.dialect = dialect


def _key_bytes(columns: list) -> int:
    """Bytes of an index key on SQL Server: NVARCHAR(n) is 2n, the rest 8 at most."""
    return sum(2 * c.type.length if isinstance(c.type, String) and c.type.length else 8 for c in columns)


def test_sql_server_ddl_is_unicode_with_microseconds_and_fits_its_limits() -> None:
    dialect = mssql.dialect()
    for table in metadata.sorted_tables:
        ddl = str(CreateTable(table).compile(dialect=dialect))
        assert " VARCHAR" not in ddl, f"{table.name}: Chinese needs NVARCHAR on SQL Server"
        assert " TEXT" not in ddl.upper().replace("NVARCHAR", "")
        for c in table.columns:
            if "Timestamp" in repr(c.type) or c.type.__class__.__name__ == "DateTime":
                assert f"{c.name} DATETIME2(6)" in ddl, (table.name, c.name)  # DATETIME rounds to 3.33 ms
        names = [table.name, *(c.name for c in table.columns), *(i.name for i in table.indexes)]
        assert all(len(str(n)) <= 128 for n in names)
        if table.primary_key.columns:
            assert _key_bytes(list(table.primary_key.columns)) <= 900, table.name  # clustered key limit
        for index in table.indexes:
            str(CreateIndex(index).compile(dialect=dialect))
            assert _key_bytes(list(index.columns)) <= 1700, index.name  # non-clustered key limit


def test_sql_server_claim_locks_with_readpast_hints_not_for_update() -> None:
    """SQLAlchemy drops FOR UPDATE on SQL Server without a word; the claim must carry the table hints."""
    stmt = lock_for_claim(select(task.c.task_id).order_by(task.c.task_id), _Fake(mssql.dialect()), 20)  # type: ignore[arg-type]
    sql = str(stmt.compile(dialect=mssql.dialect(), compile_kwargs={"render_postcompile": True}))
    assert sql.startswith("SELECT TOP 20 rai_task.task_id")
    assert f"FROM rai_task {MSSQL_CLAIM_HINT}" in sql
    assert "FOR UPDATE" not in sql


def test_sql_server_runtime_statements_compile() -> None:
    from ris_ai_module.db.ris import exam_view
    from ris_ai_module.db.tables import study_uid
    from ris_ai_module.report.section import ReportConfig
    from ris_ai_module.report.writer import report_table
    from ris_ai_module.tasks.queue import _GUARDED_FINISH

    dialect = mssql.dialect()
    finish = str(_GUARDED_FINISH.compile(dialect=dialect))
    assert finish.startswith("UPDATE rai_task SET") and "lease_owner = :b_owner" in finish
    batch = select(exam_view, study_uid.c.study_uid).select_from(
        exam_view.outerjoin(study_uid, study_uid.c.exam_key == exam_view.c.exam_key)
    ).where(exam_view.c.exam_key.in_(["E1", "E2"]))
    sql = str(batch.compile(dialect=dialect, compile_kwargs={"render_postcompile": True}))
    assert "LEFT OUTER JOIN rai_study_uid" in sql and "rai_v_exam" in sql
    cfg = ReportConfig()
    report = report_table(cfg)
    from ris_ai_module.db.dialects import lock_rows

    locked = lock_rows(select(report.c[cfg.status_column.lower()]), _Fake(dialect))  # type: ignore[arg-type]
    assert "WITH (UPDLOCK, ROWLOCK)" in str(locked.compile(dialect=dialect))


def test_stored_procedure_calls_per_dialect() -> None:
    assert str(procedure_call("mssql", "dbo.RIS_AI_WRITE", ["exam_id", "payload"])) == \
        "EXEC dbo.RIS_AI_WRITE :exam_id, :payload"
    assert str(procedure_call("dm", "RIS.RIS_AI_WRITE", ["exam_id", "payload"])) == \
        "BEGIN RIS.RIS_AI_WRITE(:exam_id, :payload); END;"


def test_sql_server_batches_end_at_go_lines_only() -> None:
    text_ = "CREATE TABLE t (a INT);\nINSERT INTO t VALUES (1); -- GO inside a comment\nGO\n  go  \nSELECT 'GO';\nGO"
    assert scripts.split_statements(text_, "mssql") == [
        "CREATE TABLE t (a INT);\nINSERT INTO t VALUES (1); -- GO inside a comment", "SELECT 'GO';"]


def test_sql_server_trigger_compares_old_and_new_row_by_row() -> None:
    """Statement-level trigger: one INSERT ... SELECT over inserted LEFT JOIN deleted, per started exam."""
    (batch,) = scripts.split_statements(scripts.script_path("mssql", scripts.TRIGGER).read_text("utf-8"), "mssql")
    assert "AFTER INSERT, UPDATE" in batch and "FROM inserted i" in batch
    assert "LEFT JOIN deleted d ON d.EXAM_ID = i.EXAM_ID" in batch
    assert "d.EXAM_STATUS IS NULL OR d.EXAM_STATUS <> N'STARTED'" in batch
    assert "SYSUTCDATETIME()" in batch and "NEWID()" in batch


# ------------------------------------------------------------------------------------ KingbaseES


@pytest.fixture
def kingbase_engine():
    """An engine through the Kingbase driver on a fresh PostgreSQL database (the wire protocol is the same)."""
    pytest.importorskip("ksycopg2") if not in_ci() else __import__("ksycopg2")
    from ris_ai_module.config.schema import DatabaseConfig
    from ris_ai_module.db.engine import make_engine

    with fresh_database("postgresql") as url:
        kingbase_url = re.sub(r"^postgresql(\+\w+)?://", "kingbase://", url)
        engine = make_engine(DatabaseConfig(url=kingbase_url))
        try:
            yield engine
        finally:
            engine.dispose()


@pytest.mark.postgres
def test_kingbase_driver_runs_migrations_scripts_trigger_and_claim(kingbase_engine) -> None:
    from ris_ai_module.tasks import queue

    engine = kingbase_engine
    assert engine.dialect.name == "postgresql" and engine.dialect.driver == "ksycopg2"
    assert scripts.folder_of(engine) == "kingbase"
    migrate.upgrade(engine)
    ran = scripts.install(engine, demo_ris=True)
    assert [p.parent.name for p in ran] == ["kingbase"] * 4  # demo RIS, view, exam-start and name triggers
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO RIS_EXAM (EXAM_ID, PATIENT_ID, PATIENT_NAME, EXAM_STATUS) "
                          "VALUES ('K1', 'P1', '张三', 'REGISTERED'), ('K2', 'P2', '李四', 'STARTED')"))
        conn.execute(text("UPDATE RIS_EXAM SET EXAM_STATUS = 'STARTED' WHERE EXAM_ID = 'K1'"))
        conn.execute(text("UPDATE RIS_EXAM SET EXAM_DESC = 'x' WHERE EXAM_ID = 'K1'"))  # still STARTED: no task
        rows = conn.execute(text("SELECT EXAM_KEY, TASK_UUID, KIND FROM RAI_TASK ORDER BY EXAM_KEY")).all()
        name = conn.execute(text("SELECT PATIENT_NAME FROM RAI_V_EXAM WHERE EXAM_KEY = 'K1'")).scalar()
    assert [(r[0], r[2]) for r in rows] == [("K1", "EXAM_PUSH"), ("K2", "EXAM_PUSH")]
    for r in rows:
        assert uuid.UUID(r[1]).version == 4 and str(uuid.UUID(r[1])) == r[1]
    assert name == "张三"
    claimed = queue.claim(engine, "kb-worker", 30, 10)
    assert sorted(t.exam_key for t in claimed) == ["K1", "K2"]
    scripts.uninstall(engine, demo_ris=True)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT to_regclass('ris_exam')")).scalar() is None


# ------------------------------------------------------------------------------------------ 达梦 DM8

_DM_CHECK = r'''
import json, sys
sys.path.insert(0, sys.argv[1])
import dmSQLAlchemy
from sqlalchemy import select
from ris_ai_module.db import dm
dm.register()  # dmpython-pure declares a 'dm' dialect of its own
from sqlalchemy.schema import CreateIndex, CreateTable
from ris_ai_module.db.dialects import lock_for_claim
from ris_ai_module.db.tables import metadata, task
from ris_ai_module.tasks.queue import _GUARDED_FINISH

d = dmSQLAlchemy.dialect()
class E: dialect = d
out = {"name": d.name, "max_identifier_length": d.max_identifier_length, "ddl": [], "names": []}
for t in metadata.sorted_tables:
    out["ddl"].append(str(CreateTable(t).compile(dialect=d)))
    out["ddl"] += [str(CreateIndex(i).compile(dialect=d)) for i in t.indexes]
    out["names"] += [t.name, *(c.name for c in t.columns), *(i.name for i in t.indexes)]
claim = lock_for_claim(select(task.c.task_id).order_by(task.c.task_id), E, 20)
out["claim"] = str(claim.compile(dialect=d))
out["finish"] = str(_GUARDED_FINISH.compile(dialect=d))
print(json.dumps(out))
'''


@pytest.mark.slow
def test_dm_dialect_compiles_every_table_and_the_claim(tmp_path: Path) -> None:
    """dmSQLAlchemy (达梦's own dialect) supports SQLAlchemy 2.0 only: it runs in a venv of its own, with
    the pure-Python dmPython stand-in, exactly as the ``dm`` extra installs it."""
    env_dir = tmp_path / "dm-venv"
    venv.create(env_dir, system_site_packages=True, with_pip=True)
    python = env_dir / ("Scripts" if sys.platform == "win32" else "bin") / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", "sqlalchemy>=2.0,<2.1",
                              "dmSQLAlchemy", "dmpython-pure"], capture_output=True, text=True, timeout=600)
    if install.returncode != 0:
        message = f"cannot install the DM dialect: {install.stderr[-500:]}"
        pytest.fail(message) if in_ci() else pytest.skip(message)
    check = subprocess.run([str(python), "-c", _DM_CHECK, str(ROOT)], capture_output=True, text=True,
                           timeout=120, env={"PYTHONNOUSERSITE": "1", "PATH": "/usr/bin:/bin"})
    assert check.returncode == 0, check.stderr[-2000:]
    import json

    out = json.loads(check.stdout)
    assert out["name"] == "dm"
    assert all(len(n) <= min(out["max_identifier_length"], 128) for n in out["names"])
    assert any("CREATE TABLE rai_task" in ddl for ddl in out["ddl"])
    assert "FOR UPDATE SKIP LOCKED" in out["claim"].upper()
    assert "FETCH" not in out["claim"].upper() and "LIMIT" not in out["claim"].upper()
    assert out["finish"].startswith("UPDATE rai_task SET")
