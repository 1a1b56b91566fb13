"""``config check --db`` against a real database, broken and then correct: each line OK/FAIL with what to
do, exit status 1 while anything fails (SQLite, PostgreSQL, MariaDB)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from ris_ai_module.db import migrate, scripts
from tests.dbs import engine_for, fresh_database
from tests.integration.db.test_sql_grants import accounts  # noqa: F401 - a fixture


def _check(tmp_path: Path, url: str, extra: str = "") -> tuple[int, dict[str, str]]:
    config = tmp_path / "c.toml"
    config.write_text(f'[database]\nurl = "{url}"\nconnect_timeout = "5s"\n[worker]\nenabled = false\n{extra}',
                      encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "ris_ai_module", "config", "check", "--db", str(config)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    lines = {}
    for line in proc.stdout.splitlines():
        if line[:4] in ("OK  ", "FAIL"):
            what, _, detail = line[5:].partition(": ")
            lines[what] = f"{line[:4].strip()} {detail}"
    return proc.returncode, lines


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mariadb"])
def test_config_check_db_says_what_is_missing_then_ok(tmp_path: Path, kind: str) -> None:
    with fresh_database(kind, tmp_path) as url:
        status, lines = _check(tmp_path, url)
        assert status == 1
        assert lines["connect"].startswith("OK ")
        assert lines["module tables"].startswith("FAIL ") and "init-db" in lines["module tables"]
        assert lines["view RAI_V_EXAM"].startswith("FAIL ") and "20_view_exam.sql" in lines["view RAI_V_EXAM"]
        assert lines["exam detection"].startswith("FAIL trigger RAI_TRG_EXAM_START_INS, RAI_TRG_EXAM_START_UPD")
        assert lines["name index"].startswith("OK no trigger (31_trigger_name_index.sql)"), "polling mode is allowed"
        assert lines["report table RIS_REPORT"].startswith("FAIL missing")
        assert lines["report table RIS_REPORT_MEASURE"].startswith("FAIL missing")

        engine = engine_for(url)
        try:
            migrate.upgrade(engine)
            scripts.install(engine, demo_ris=True)
            status, lines = _check(tmp_path, url)
            assert status == 0, lines
            assert all(v.startswith("OK ") for v in lines.values()), lines
            assert lines["name index"].startswith(
                "OK triggers RAI_TRG_EXAM_NAME_INS, RAI_TRG_EXAM_NAME_UPD, RAI_TRG_EXAM_NAME_DEL installed")
            assert set(lines) == {"connect", "module tables", "view RAI_V_EXAM", "exam detection", "name index",
                                  "report table RIS_REPORT", "report table RIS_REPORT_MEASURE", "grants"}
            status, lines = _check(tmp_path, url, '[report.rows]\nvalue_column = "ITEM_VAL"\n')
            assert status == 1
            assert lines["report table RIS_REPORT_MEASURE"] == "FAIL columns missing: ITEM_VAL (check [report])"
            assert lines["report table RIS_REPORT"].startswith("OK ")

            with engine.begin() as conn:  # a view the DBA got wrong: two columns only
                conn.execute(text("DROP VIEW rai_v_exam"))
                conn.execute(text("CREATE VIEW rai_v_exam AS SELECT exam_id AS exam_key, patient_id FROM ris_exam"))
            status, lines = _check(tmp_path, url)
            assert status == 1
            view = lines["view RAI_V_EXAM"]
            assert view.startswith("FAIL columns missing: ") and "EXAM_STATUS" in view and "PATIENT_ID," not in view
            assert lines["module tables"].startswith("OK ") and lines["exam detection"].startswith("OK triggers")
        finally:
            engine.dispose()


def test_config_check_db_unreachable_is_one_fail_line(tmp_path: Path) -> None:
    from tests.support import free_port

    status, lines = _check(tmp_path, f"postgresql+psycopg://u:secret@127.0.0.1:{free_port()}/x")
    assert status == 1 and list(lines) == ["connect"]
    assert lines["connect"].startswith("FAIL ") and "secret" not in lines["connect"]


@pytest.mark.parametrize("any_db", [pytest.param("postgresql", marks=pytest.mark.postgres),
                                    pytest.param("mariadb", marks=pytest.mark.mariadb)], indirect=True)
def test_config_check_db_names_a_missing_grant(any_db, accounts, tmp_path: Path) -> None:  # noqa: ANN001, F811

    module, _app = accounts
    url = module.url.render_as_string(hide_password=False)
    status, lines = _check(tmp_path, url)
    assert lines["grants"].startswith("OK "), lines
    assert lines["module tables"].startswith("OK RAI_* at revision "), lines  # the account reads RAI_SCHEMA_VERSION
    user = module.url.username
    with any_db.begin() as conn:
        target = f"{user}" if any_db.dialect.name == "postgresql" else f"'{user}'@'%'"
        conn.execution_options(no_parameters=True).exec_driver_sql(f"REVOKE SELECT ON rai_schema_version FROM {target}")
    status, lines = _check(tmp_path, url)
    assert status == 1
    tables = lines["module tables"]
    assert tables.startswith("FAIL ") and "grant SELECT on RAI_SCHEMA_VERSION" in tables, tables
    assert "init-db" not in tables, "the tables are there: init-db as this account would be the wrong advice"
    with any_db.begin() as conn:
        conn.execution_options(no_parameters=True).exec_driver_sql(f"GRANT SELECT ON rai_schema_version TO {target}")
        conn.execution_options(no_parameters=True).exec_driver_sql(f"REVOKE UPDATE ON ris_report FROM {target}")
    status, lines = _check(tmp_path, url)
    assert status == 1
    assert lines["grants"].startswith("FAIL UPDATE on RIS_REPORT ("), lines["grants"]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mariadb"])
def test_config_check_db_checks_the_key_image_table(tmp_path: Path, kind: str) -> None:
    """Target images (issue 14): the image table's configured columns, and the JPEG folder, like the others."""
    images = '[report]\ntargets = ["rows", "text", "images"]\n[report.images]\njpeg_folder = "jpeg"\n'
    with fresh_database(kind, tmp_path) as url:
        engine = engine_for(url)
        try:
            migrate.upgrade(engine)
            scripts.install(engine, demo_ris=True)
            status, lines = _check(tmp_path, url, images)
            assert status == 0, lines
            assert lines["report table RIS_REPORT_IMAGE"] == "OK 10 columns as configured"
            assert lines["report images folder"] == f"OK {tmp_path / 'jpeg'} writable"
            status, lines = _check(tmp_path, url, images + 'caption_column = "TITLE"\n')
            assert status == 1
            assert lines["report table RIS_REPORT_IMAGE"] == "FAIL columns missing: TITLE (check [report])"
        finally:
            engine.dispose()
