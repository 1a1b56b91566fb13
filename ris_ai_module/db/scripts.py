"""The DBA's SQL scripts (``sql/<dialect>/NN_<what>.sql``): find them, split them, run them.

The scripts are written for the database's own command-line client (psql, mysql, SQL*Plus/SQLcl,
sqlite3) so that a DBA can read, adapt and run them by hand. This module runs the same files from
Python (``init-demo``, tests), which needs a statement splitter that understands what those clients
understand:

* ``--`` and ``/* */`` comments (``#`` too on MySQL), quoted strings and identifiers, so a ``;``
  inside any of them never ends a statement;
* PostgreSQL dollar-quoted bodies (``$$ ... $$``, ``$tag$ ... $tag$``);
* MySQL ``DELIMITER //`` lines (the client command that lets a trigger body contain ``;``);
* Oracle PL/SQL units (``CREATE [OR REPLACE] TRIGGER|FUNCTION|PROCEDURE|PACKAGE|TYPE``, anonymous
  ``DECLARE``/``BEGIN`` blocks) which end at a line holding only ``/``; plain SQL statements end at
  ``;``, which is dropped (the Oracle drivers reject it), while a PL/SQL unit keeps its ``END;``;
* SQLite ``CREATE TRIGGER ... BEGIN ...; ...; END;`` bodies (``CASE ... END`` inside is counted);
* SQL Server batches, which end at a line holding only ``GO`` (sqlcmd/SSMS); a batch may hold several
  statements and is sent whole; 达梦 DM8 scripts follow the Oracle rules (disql ends a PL/SQL unit at
  ``/``) and KingbaseES scripts the PostgreSQL rules (ksql is psql).

Scripts are numbered: ``10_demo_ris``, ``20_view_exam``, ``30_trigger_exam_start``, ``31_trigger_name_index``, ``40_grants``
(not on SQLite), ``90_uninstall`` (trigger and view), ``91_uninstall_demo_ris``.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from sqlalchemy.engine import Engine

from ris_ai_module.db.dialects import name_of

#: Dialect folder names under sql/.
DIALECTS = ("sqlite", "postgresql", "mysql", "oracle", "mssql", "dm", "kingbase")

#: How each folder's scripts are split: by its own rules, or by those of the database it is compatible with.
_SPLIT_RULES = {"dm": "oracle", "kingbase": "postgresql"}

#: Scripts that install the RIS side of the interface, in order (the demo RIS first when wanted).
DEMO_RIS = "10_demo_ris.sql"
VIEW = "20_view_exam.sql"
TRIGGER = "30_trigger_exam_start.sql"
NAME_TRIGGER = "31_trigger_name_index.sql"
GRANTS = "40_grants.sql"
UNINSTALL = "90_uninstall.sql"
UNINSTALL_DEMO_RIS = "91_uninstall_demo_ris.sql"


def sql_root() -> Path:
    """The folder holding ``<dialect>/*.sql``: the installed package data, else the repository's sql/."""
    try:
        root = resources.files("ris_ai_module.sql")
    except (ModuleNotFoundError, TypeError):
        root = None
    if root is not None:
        path = Path(str(root))
        if path.is_dir() and any(path.glob("*/*.sql")):
            return path
    return Path(__file__).resolve().parents[2] / "sql"


def folder_of(engine: Engine) -> str:
    """The script folder for a connected database: KingbaseES (PostgreSQL's dialect through ksycopg2) has
    its own folder; MariaDB shares MySQL's."""
    return "kingbase" if engine.dialect.driver == "ksycopg2" else name_of(engine)


def _folder(dialect: str) -> str:
    d = "mysql" if dialect == "mariadb" else dialect
    if d not in DIALECTS:
        raise ValueError(f"no SQL scripts for dialect {dialect!r}; expected one of {', '.join(DIALECTS)}")
    return d


def list_scripts(dialect: str) -> list[Path]:
    """All scripts for a dialect (``mariadb`` means ``mysql``), sorted by their number."""
    return sorted((sql_root() / _folder(dialect)).glob("[0-9][0-9]_*.sql"))


def script_path(dialect: str, name: str) -> Path:
    path = sql_root() / _folder(dialect) / name
    if not path.is_file():
        raise FileNotFoundError(path)
    return path


# --------------------------------------------------------------------------------------- splitting

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$#]*")
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
_MYSQL_DELIMITER = re.compile(r"[ \t]*DELIMITER[ \t]+(\S+)[ \t]*(?:\r?\n|$)", re.IGNORECASE)
_SLASH_LINE = re.compile(r"[ \t]*/[ \t]*(?:\r?\n|$)")
_GO_LINE = re.compile(r"[ \t]*GO[ \t]*(?:\r?\n|$)", re.IGNORECASE)
_SLASH_LINE_ANYWHERE = re.compile(r"^[ \t]*/[ \t]*$", re.MULTILINE)
_ORACLE_PLSQL_HEAD = re.compile(
    r"(?:CREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:NON)?EDITIONABLE\s+)?"
    r"(?:TRIGGER|FUNCTION|PROCEDURE|PACKAGE|TYPE|LIBRARY)\b|DECLARE\b|BEGIN\b)",
    re.IGNORECASE,
)
_SQLITE_TRIGGER_HEAD = re.compile(r"CREATE\s+(?:TEMP\s+|TEMPORARY\s+)?TRIGGER\b", re.IGNORECASE)


def _strip_leading_comments(stmt: str, dialect: str) -> str:
    while True:
        stmt = stmt.lstrip()
        if stmt.startswith("--") or (dialect == "mysql" and stmt.startswith("#")):
            nl = stmt.find("\n")
            stmt = "" if nl < 0 else stmt[nl + 1 :]
        elif stmt.startswith("/*"):
            end = stmt.find("*/", 2)
            stmt = "" if end < 0 else stmt[end + 2 :]
        else:
            return stmt.rstrip()


def split_statements(text: str, dialect: str) -> list[str]:
    """Split a script into statements the driver can execute one by one.

    Statements come back without their terminator (except a PL/SQL unit's own ``END;``), without
    leading comments, and blank or comment-only pieces are dropped.
    """
    d = _folder(dialect)
    d = _SPLIT_RULES.get(d, d)
    out: list[str] = []
    n = len(text)
    i = 0
    start = 0  # where the current statement began
    delimiter = ";"
    head_seen = False  # the current statement's first significant character was seen
    mode = "plain"  # plain | plsql (Oracle) | trigger (SQLite)
    depth = 0  # SQLite trigger: BEGIN/CASE ... END nesting
    body_seen = False

    def flush(end: int) -> None:
        stmt = _strip_leading_comments(text[start:end], d)
        if stmt:
            out.append(stmt)

    while i < n:
        at_line_start = i == 0 or text[i - 1] == "\n"
        if at_line_start:
            if d == "mysql":
                m = _MYSQL_DELIMITER.match(text, i)
                if m:
                    flush(i)
                    delimiter = m.group(1)
                    i = start = m.end()
                    head_seen, mode, depth, body_seen = False, "plain", 0, False
                    continue
            if d == "mssql":
                m = _GO_LINE.match(text, i)
                if m:  # a batch ends only here: ';' inside it never splits it
                    flush(i)
                    i = start = m.end()
                    head_seen = False
                    continue
            if d == "oracle":
                m = _SLASH_LINE.match(text, i)
                if m:  # ends a statement not yet ended by ';' (a '/' after one does not re-run it)
                    flush(i)
                    i = start = m.end()
                    head_seen, mode = False, "plain"
                    continue
        ch = text[i]
        if ch in " \t\r\n":
            i += 1
            continue
        # comments
        if text.startswith("--", i) or (d == "mysql" and ch == "#"):
            nl = text.find("\n", i)
            i = n if nl < 0 else nl  # the newline itself is handled next round (line start)
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        if not head_seen:
            head_seen = True
            if d == "oracle" and _ORACLE_PLSQL_HEAD.match(text, i):
                mode = "plsql"
            elif d == "sqlite" and _SQLITE_TRIGGER_HEAD.match(text, i):
                mode, depth, body_seen = "trigger", 0, False
        if mode == "plsql":
            m = _SLASH_LINE_ANYWHERE.search(text, i)
            end = n if m is None else m.start()
            flush(end)
            i = start = n if m is None else m.end()
            head_seen, mode = False, "plain"
            continue
        # quoted strings and identifiers
        if ch in "'\"`":
            i = _skip_quoted(text, i, ch, backslash=(d == "mysql" and ch != "`"))
            continue
        if ch == "$" and d == "postgresql" and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = _DOLLAR_TAG.match(text, i)
            if m:
                close = text.find(m.group(0), m.end())
                i = n if close < 0 else close + len(m.group(0))
                continue
        if d != "mssql" and text.startswith(delimiter, i):
            if mode == "trigger" and not (body_seen and depth <= 0):
                i += len(delimiter)
                continue
            flush(i)
            i = start = i + len(delimiter)
            head_seen, mode, depth, body_seen = False, "plain", 0, False
            continue
        m = _WORD.match(text, i)
        if m:
            if mode == "trigger":
                word = m.group(0).upper()
                if word in ("BEGIN", "CASE"):
                    depth += 1
                    body_seen = body_seen or word == "BEGIN"
                elif word == "END":
                    depth -= 1
            i = m.end()
            continue
        i += 1
    flush(n)
    return out


def _skip_quoted(text: str, i: int, quote: str, *, backslash: bool) -> int:
    """Index just past the quoted item starting at ``i`` (doubled quotes escape; MySQL backslashes too)."""
    j = i + 1
    n = len(text)
    while j < n:
        c = text[j]
        if backslash and c == "\\":
            j += 2
            continue
        if c == quote:
            if j + 1 < n and text[j + 1] == quote:
                j += 2
                continue
            return j + 1
        j += 1
    return n


# ---------------------------------------------------------------------------------------- running


def apply_script(engine: Engine, path: Path | str) -> int:
    """Run every statement of a script; return how many ran.

    All statements run in one transaction, which makes the script atomic on PostgreSQL and SQLite
    (transactional DDL). MySQL/MariaDB and Oracle commit each DDL statement implicitly, so there a
    failure part-way leaves the earlier statements applied; the install scripts are written to be
    re-runnable (``CREATE OR REPLACE`` / ``DROP ... IF EXISTS`` first) so running them again fixes it.
    """
    path = Path(path)
    statements = split_statements(path.read_text(encoding="utf-8"), folder_of(engine))
    # no_parameters: the driver must not treat '%' (strftime, DATE_FORMAT) as a placeholder.
    with engine.begin() as conn:
        conn = conn.execution_options(no_parameters=True)
        for stmt in statements:
            try:
                conn.exec_driver_sql(stmt)
            except Exception as exc:
                if hasattr(exc, "add_note"):  # Python 3.11+
                    exc.add_note(f"while running {path.name}: {stmt[:200]}")
                raise
    return len(statements)


def install(engine: Engine, *, demo_ris: bool = False, grants: bool = False, name_trigger: bool = True) -> list[Path]:
    """Install the RIS side: (demo RIS,) view RAI_V_EXAM, exam-start trigger, name-index trigger (, grants).
    Returns the scripts run."""
    dialect = folder_of(engine)
    names = (([DEMO_RIS] if demo_ris else []) + [VIEW, TRIGGER] + ([NAME_TRIGGER] if name_trigger else [])
             + ([GRANTS] if grants else []))
    paths = [script_path(dialect, name) for name in names]
    for path in paths:
        apply_script(engine, path)
    return paths


def uninstall(engine: Engine, *, demo_ris: bool = False) -> list[Path]:
    """Remove trigger and view (and the demo RIS tables). RAI_* tables belong to the migrations."""
    dialect = folder_of(engine)
    names = [UNINSTALL] + ([UNINSTALL_DEMO_RIS] if demo_ris else [])
    paths = [script_path(dialect, name) for name in names]
    for path in paths:
        apply_script(engine, path)
    return paths
