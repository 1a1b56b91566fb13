"""The statement splitter, and static checks of every dialect's scripts (Oracle cannot run here)."""

from __future__ import annotations

import re

import pytest

from ris_ai_module.db import scripts, tables
from ris_ai_module.db.scripts import list_scripts, split_statements

INSTALL_NAMES = ["10_demo_ris.sql", "20_view_exam.sql", "30_trigger_exam_start.sql", "31_trigger_name_index.sql",
                 "90_uninstall.sql",
                 "91_uninstall_demo_ris.sql"]  # fmt: skip


# ------------------------------------------------------------------------------------------ splitter


def test_plain_statements_comments_and_strings() -> None:
    text = """
    -- a comment; with a semicolon
    CREATE TABLE t (a VARCHAR(10) DEFAULT 'x;y');  /* block; comment */
    INSERT INTO t VALUES ('it''s; fine');
    /* only a comment; */
    SELECT "odd;name" FROM t   -- trailing; comment
    """
    assert split_statements(text, "sqlite") == [
        "CREATE TABLE t (a VARCHAR(10) DEFAULT 'x;y')",
        "INSERT INTO t VALUES ('it''s; fine')",
        'SELECT "odd;name" FROM t   -- trailing; comment',
    ]


def test_postgresql_dollar_quoted_bodies() -> None:
    text = """
    CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO x VALUES (1); -- ; in body
        RETURN NULL;
    END;
    $$;
    DO $body$ BEGIN PERFORM 1; END $body$;
    SELECT a$b, $1 FROM t;
    """
    parts = split_statements(text, "postgresql")
    assert len(parts) == 3
    assert parts[0].startswith("CREATE FUNCTION") and parts[0].endswith("$$")
    assert parts[1] == "DO $body$ BEGIN PERFORM 1; END $body$"
    assert parts[2] == "SELECT a$b, $1 FROM t"


def test_mysql_delimiter_and_escapes() -> None:
    text = """DROP TRIGGER IF EXISTS t1;
# hash comment; here
DELIMITER //
CREATE TRIGGER t1 AFTER INSERT ON x FOR EACH ROW
BEGIN
    IF NEW.a = 'it\\'s;' THEN INSERT INTO y VALUES (1); END IF;
END//
delimiter ;
SELECT 1;
"""
    parts = split_statements(text, "mysql")
    assert parts[0] == "DROP TRIGGER IF EXISTS t1"
    assert parts[1].startswith("CREATE TRIGGER t1") and parts[1].endswith("END")
    assert "INSERT INTO y VALUES (1); END IF;" in parts[1]
    assert parts[2] == "SELECT 1"
    assert len(parts) == 3


def test_sqlite_trigger_bodies_with_case() -> None:
    text = """
    CREATE TRIGGER tr AFTER UPDATE ON x FOR EACH ROW WHEN NEW.s = 'STARTED'
    BEGIN
        INSERT INTO y VALUES (CASE WHEN NEW.a > 1 THEN 'big;' ELSE 'small' END);
        UPDATE z SET n = n + 1;
    END;
    CREATE TEMP TRIGGER tr2 AFTER INSERT ON x BEGIN SELECT 1; END;
    BEGIN;
    SELECT 2;
    """
    parts = split_statements(text, "sqlite")
    assert len(parts) == 4
    assert parts[0].startswith("CREATE TRIGGER tr") and parts[0].endswith("END")
    assert parts[1] == "CREATE TEMP TRIGGER tr2 AFTER INSERT ON x BEGIN SELECT 1; END"
    assert parts[2:] == ["BEGIN", "SELECT 2"]


def test_oracle_plsql_units_end_at_slash() -> None:
    text = """
    CREATE TABLE t (a NUMBER);
    CREATE OR REPLACE TRIGGER tr
    AFTER INSERT ON t FOR EACH ROW
    DECLARE
        v VARCHAR2(10) := 'a;/b';
    BEGIN
        INSERT INTO u VALUES (:NEW.a);
    END;
    /
    /* comment */
    BEGIN
        NULL;
    END;
    /
    GRANT SELECT ON t TO x;
    /
    """
    parts = split_statements(text, "oracle")
    assert parts[0] == "CREATE TABLE t (a NUMBER)"
    assert parts[1].startswith("CREATE OR REPLACE TRIGGER tr") and parts[1].endswith("END;")
    assert parts[2] == "BEGIN\n        NULL;\n    END;"
    assert parts[3] == "GRANT SELECT ON t TO x"  # the '/' after it does not run it twice
    assert len(parts) == 4


def test_mariadb_is_mysql_and_unknown_dialects_fail() -> None:
    assert split_statements("SELECT 1; # x\n", "mariadb") == ["SELECT 1"]
    with pytest.raises(ValueError, match="db2"):
        split_statements("SELECT 1", "db2")


# ------------------------------------------------------------------------------ the scripts themselves


def test_every_dialect_has_its_scripts() -> None:
    assert (scripts.sql_root() / "sqlite").is_dir()
    for dialect in scripts.DIALECTS:
        names = [p.name for p in list_scripts(dialect)]
        expected = sorted(INSTALL_NAMES + ([] if dialect == "sqlite" else ["40_grants.sql"]))
        assert names == expected, dialect
    assert list_scripts("mariadb") == list_scripts("mysql")


@pytest.mark.parametrize("dialect", scripts.DIALECTS)
def test_headers_say_what_a_dba_changes_in_chinese_and_english(dialect: str) -> None:
    for path in list_scripts(dialect):
        text = path.read_text(encoding="utf-8")
        header = text[: text.index("\n\n", text.index("=====", 10))]
        assert all(line.startswith("--") for line in header.splitlines()), path
        assert path.name in header
        assert re.search(r"[\u4e00-\u9fff]", header), f"{path}: no Chinese in the header"
        assert "DBA" in header, path
        if path.name.startswith(("20_", "30_", "40_")):
            assert "DBA 需要修改的地方" in header and "What a DBA changes" in header, path


def _insert_columns(statement: str) -> list[str]:
    m = re.search(r"INSERT\s+INTO\s+rai_task\s*\(([^)]*)\)", statement, re.IGNORECASE)
    assert m, statement
    return [c.strip().lower() for c in m.group(1).split(",")]


@pytest.mark.parametrize("dialect", scripts.DIALECTS)
def test_trigger_inserts_into_existing_task_columns(dialect: str) -> None:
    text = scripts.script_path(dialect, scripts.TRIGGER).read_text(encoding="utf-8")
    inserts = [s for s in split_statements(text, dialect) if re.search(r"INSERT\s+INTO", s, re.IGNORECASE)]
    assert inserts
    for stmt in inserts:
        cols = _insert_columns(stmt)
        assert set(cols) <= set(tables.task.c.keys())
        assert cols == ["task_uuid", "kind", "status", "exam_key", "attempts", "next_run_at", "created_at",
                        "updated_at"]  # fmt: skip
        assert len(re.findall(r"INSERT\s+INTO", stmt, re.IGNORECASE)) == 1
    assert "DBMS_ALERT" not in "".join(split_statements(text, dialect)).upper()


@pytest.mark.parametrize("dialect", ["postgresql", "mysql", "oracle", "mssql", "dm", "kingbase"])
def test_grants_cover_every_module_table(dialect: str) -> None:
    text = scripts.script_path(dialect, scripts.GRANTS).read_text(encoding="utf-8")
    body = ";\n".join(split_statements(text, dialect)).lower()
    for name in tables.metadata.tables:
        if name == "rai_audit":  # append-only for the module: old rows leave through the purge procedure
            assert re.search(r"grant select, insert on rai_audit to", body), dialect
            assert re.search(r"grant execute on (procedure )?rai_audit_purge", body), dialect
            continue
        assert re.search(rf"select, insert, update, delete on\s[^;]*\b{name}\b", body), (dialect, name)
    assert re.search(r"grant select on rai_v_exam to", body)
    assert re.search(r"grant select on rai_schema_version to", body), dialect  # read only: the revision
    assert re.search(r"grant select, insert, update on\s[^;]*\bris_report\b", body), dialect
    assert not re.search(r"delete on\s[^;]*\bris_report\b", body), dialect  # never the report row itself
    # the rows target replaces the module's own older rows of the key/value table (issue 9)
    assert re.search(r"grant select, insert, update, delete on\s[^;]*\bris_report_measure\b", body), dialect
    assert "ris_exam" not in body  # the module never reads RIS tables directly


ORACLE_COUNTS = {
    "10_demo_ris.sql": 7,  # 4 tables (issue 14: RIS_REPORT_IMAGE), 3 indexes
    "20_view_exam.sql": 1,
    "30_trigger_exam_start.sql": 1,
    "40_grants.sql": 1 + 1 + len(tables.metadata.tables) + 3 + 2,  # view, version table, one per RAI_* table, 3 report
    # tables (with the key image table of issue 14); audit: REVOKE block, purge EXECUTE
    "90_uninstall.sql": 1,
    "91_uninstall_demo_ris.sql": 1,
}

_PLSQL = re.compile(r"^(CREATE\s+OR\s+REPLACE\s+TRIGGER|BEGIN|DECLARE)\b", re.IGNORECASE)


def _code_only(statement: str) -> str:
    """Statement text without comments and string literals (so only identifiers and keywords remain)."""
    statement = re.sub(r"'(?:[^']|'')*'", "''", statement)
    statement = re.sub(r"/\*.*?\*/", " ", statement, flags=re.DOTALL)
    return re.sub(r"--[^\n]*", " ", statement)


@pytest.mark.parametrize("name", sorted(ORACLE_COUNTS))
def test_oracle_scripts_parse(name: str) -> None:
    text = scripts.script_path("oracle", name).read_text(encoding="utf-8")
    statements = split_statements(text, "oracle")
    assert len(statements) == ORACLE_COUNTS[name]
    for stmt in statements:
        if _PLSQL.match(stmt):
            assert stmt.endswith("END;"), stmt[-40:]
        else:
            assert not stmt.endswith(";"), stmt[-40:]  # the drivers reject a trailing ';'
            assert "/" not in _code_only(stmt).strip()[-1:]
        code = _code_only(stmt)
        assert code.count("(") == code.count(")"), stmt[:80]
        long_names = [w for w in re.findall(r"[A-Za-z_][A-Za-z0-9_$#]*", code) if len(w) > 30]
        assert not long_names, long_names


def test_oracle_trigger_uses_the_contracted_functions() -> None:
    text = scripts.script_path("oracle", scripts.TRIGGER).read_text(encoding="utf-8")
    (stmt,) = split_statements(text, "oracle")
    assert "SYS_GUID()" in stmt and "SYS_EXTRACT_UTC(SYSTIMESTAMP)" in stmt
    assert "WHEN (NEW.EXAM_STATUS = 'STARTED' AND (OLD.EXAM_STATUS IS NULL OR OLD.EXAM_STATUS <> 'STARTED'))" in stmt
