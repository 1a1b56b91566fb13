"""40_grants.sql on real servers: the module's account can do its job and nothing more, and the RIS
application's own account fires the trigger without any grant on RAI_TASK (the trigger runs with its
owner's / definer's rights)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from ris_ai_module.db import scripts
from ris_ai_module.db.dialects import name_of
from tests.dbs import engine_for

from .test_sql_scripts import add_exam, tasks_for


@pytest.fixture
def accounts(any_db: Engine, tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    """(module engine, RIS application engine) connected as two fresh least-privilege accounts."""
    dialect = name_of(any_db)
    suffix = secrets.token_hex(4)
    module, app = f"rai_test_mod_{suffix}", f"rai_test_app_{suffix}"
    grants = scripts.script_path(dialect, scripts.GRANTS).read_text(encoding="utf-8")
    script = tmp_path / "40_grants.sql"
    script.write_text(re.sub(r"\brai_module\b", module, grants, flags=re.IGNORECASE), encoding="utf-8")
    database = any_db.url.database
    with any_db.begin() as conn:
        conn = conn.execution_options(no_parameters=True)  # '%' is not a placeholder here
        if dialect == "postgresql":
            conn.exec_driver_sql(f"CREATE ROLE {module} LOGIN")
            conn.exec_driver_sql(f"CREATE ROLE {app} LOGIN")
            conn.exec_driver_sql(f"GRANT SELECT, INSERT, UPDATE ON ris_exam TO {app}")
        else:
            conn.exec_driver_sql(f"CREATE USER '{module}'@'%'")
            conn.exec_driver_sql(f"CREATE USER '{app}'@'%'")
            conn.exec_driver_sql(f"GRANT SELECT, INSERT, UPDATE ON {database}.ris_exam TO '{app}'@'%'")
    scripts.apply_script(any_db, script)
    engines = [engine_for(any_db.url.set(username=name).render_as_string(hide_password=False)) for name in (module, app)]
    try:
        yield engines[0], engines[1]
    finally:
        for engine in engines:
            engine.dispose()
        with any_db.begin() as conn:
            conn = conn.execution_options(no_parameters=True)
            for name in (module, app):
                if dialect == "postgresql":
                    conn.exec_driver_sql(f"DROP OWNED BY {name}")
                    conn.exec_driver_sql(f"DROP ROLE {name}")
                else:
                    conn.exec_driver_sql(f"DROP USER '{name}'@'%'")


def denied(engine: Engine, sql: str) -> bool:
    try:
        with engine.begin() as conn:
            conn.execute(text(sql))
    except DBAPIError as exc:
        message = str(exc.orig).lower()
        assert "denied" in message or "permission" in message, message
        return True
    return False


SERVERS = [
    pytest.param("postgresql", marks=pytest.mark.postgres),
    pytest.param("mariadb", marks=pytest.mark.mariadb),
]  # SQLite has no accounts


@pytest.mark.parametrize("any_db", SERVERS, indirect=True)
def test_least_privilege_accounts(any_db: Engine, accounts: tuple[Engine, Engine]) -> None:
    module, app = accounts

    # the RIS application starts an exam: the trigger inserts the task with its owner's rights
    with app.begin() as conn:
        add_exam(conn, "G1", status="STARTED", name="赵六")
    with any_db.connect() as conn:
        assert len(tasks_for(conn, "G1")) == 1
    assert denied(app, "SELECT * FROM rai_task")

    # the module reads exams through the view, works its queue, writes reports
    with module.begin() as conn:
        assert conn.execute(text("SELECT PATIENT_NAME FROM rai_v_exam WHERE EXAM_KEY = 'G1'")).scalar() == "赵六"
        conn.execute(
            text(
                "INSERT INTO rai_task (task_uuid, kind, status, exam_key, attempts) "
                "VALUES ('00000000-0000-4000-8000-000000000001', 'EXAM_PUSH', 'SCHEDULED', 'G1', 0)"
            )
        )
        conn.execute(text("UPDATE rai_task SET status = 'DONE' WHERE exam_key = 'G1'"))
        conn.execute(text("DELETE FROM rai_task WHERE status = 'DONE'"))
        conn.execute(text("INSERT INTO ris_report (EXAM_ID, FINDINGS, REPORT_STATUS) VALUES ('G1', '所见', 'DRAFT')"))
        conn.execute(text("UPDATE ris_report SET IMPRESSION = '提示' WHERE EXAM_ID = 'G1'"))
        conn.execute(
            text("INSERT INTO ris_report_measure (EXAM_ID, ITEM_KEY, ITEM_NAME, ITEM_VALUE) VALUES ('G1', 'LVEF', '射血分数', '60')")
        )
    with module.connect() as conn:  # config check --db and run read the RAI_* tables' revision
        assert conn.execute(text("SELECT version_num FROM rai_schema_version")).scalar()
    # ... and nothing more
    assert denied(module, "DELETE FROM rai_schema_version")
    assert denied(module, "SELECT * FROM ris_exam")
    assert denied(module, "UPDATE ris_exam SET EXAM_STATUS = 'FINISHED'")
    assert denied(module, "DELETE FROM ris_report")
    with module.begin() as conn:  # the rows target replaces the module's own older rows
        conn.execute(text("DELETE FROM ris_report_measure WHERE EXAM_ID = 'G1' AND ITEM_KEY = 'LVEF'"))
