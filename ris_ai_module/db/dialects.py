"""Every difference between databases lives here: column types, the claim statement, now() in UTC.

The module runs on SQLite (demo, single writer), PostgreSQL, MySQL/MariaDB and Oracle 12c+, and on the
databases Chinese hospitals run beside them: SQL Server 2016+ (``mssql``), 达梦 DM8 (``dm``, Oracle-like)
and 人大金仓 KingbaseES (PostgreSQL's dialect with the ksycopg2 driver, so it is ``postgresql`` here).
Timestamps in RAI_* tables are UTC without a zone, written by the module or by the trigger with
the database's own UTC function, so the module's and the database's clocks need not share a zone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Integer,
    Select,
    String,
    Text,
    TextClause,
    and_,
    func,
    or_,
    text,
)
from sqlalchemy.dialects import mssql, mysql, oracle, postgresql
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateTable
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

#: UTC timestamp with microseconds on every dialect (MySQL DATETIME and Oracle DATE drop them otherwise).
Timestamp = (
    DateTime()
    .with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
    .with_variant(oracle.TIMESTAMP(), "oracle", "dm")
    .with_variant(mssql.DATETIME2(precision=6), "mssql")
)

#: A search term compared byte by byte (binary collation), so a prefix is a range of the index on every
#: database: PostgreSQL "C", MySQL/MariaDB utf8mb4_bin (whose general collation folds characters outside the
#: BMP together), SQLite BINARY, Oracle's default BINARY.
SearchTerm = (
    String(64)
    .with_variant(postgresql.VARCHAR(64, collation="C"), "postgresql")
    .with_variant(mysql.VARCHAR(64, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb")
)

#: Surrogate key type: BIGINT where it autoincrements, INTEGER on SQLite (only INTEGER PRIMARY KEY is the rowid).
BigKey = BigInteger().with_variant(Integer(), "sqlite")

#: Dialects that support SELECT ... FOR UPDATE SKIP LOCKED (SQL Server's READPAST hint is its twin).
SKIP_LOCKED_DIALECTS = frozenset({"postgresql", "oracle", "mysql", "mariadb", "dm"})

#: Dialects where a row limit cannot be combined with FOR UPDATE (ORA-02014; DM follows Oracle here): the
#: claim reads at most ``limit`` rows with fetchmany() instead.
NO_LIMIT_WITH_LOCK = frozenset({"oracle", "dm"})

#: SQL Server's row locking for a claim: update locks on the rows read, skipping rows other workers hold.
MSSQL_CLAIM_HINT = "WITH (UPDLOCK, ROWLOCK, READPAST)"

#: Dialects where the name index's first build stages its terms in a TEMP table and writes them in index order
#: (``web/name_first_build.py``): SQLite, whose page cache of a few MB rewrote the whole term index once per
#: 10,000-exam transaction. The server databases build by the incremental rescan.
STAGED_FIRST_BUILD = frozenset({"sqlite"})


def name_of(engine: Engine) -> str:
    """Short dialect name, with MariaDB reported as mysql (same SQL for our purposes)."""
    name = engine.dialect.name
    return "mysql" if name == "mariadb" else name


def supports_skip_locked(engine: Engine) -> bool:
    if engine.dialect.name == "mysql" and getattr(engine.dialect, "is_mariadb", False):
        version = engine.dialect.server_version_info or (0,)
        return tuple(version[:2]) >= (10, 6)
    return engine.dialect.name in SKIP_LOCKED_DIALECTS


def lock_for_claim(stmt: Select, engine: Engine, limit: int) -> Select:
    """Add row locking (and a row limit where legal) to a candidate-task SELECT.

    Oracle raises ORA-02014 when FETCH FIRST is combined with FOR UPDATE, so there the caller reads
    at most ``limit`` rows with fetchmany() instead. SQLite has no row locks: its single writer
    serialises claims, and the guarded UPDATE that follows decides who wins.
    """
    dialect = name_of(engine)
    if dialect == "sqlite":
        return stmt.limit(limit)
    if dialect in NO_LIMIT_WITH_LOCK:
        return stmt.with_for_update(skip_locked=True)
    if dialect == "mssql":  # SQL Server has no FOR UPDATE (SQLAlchemy drops it silently): table hints
        (table,) = stmt.get_final_froms()
        return stmt.limit(limit).with_hint(table, MSSQL_CLAIM_HINT, "mssql")
    return stmt.limit(limit).with_for_update(skip_locked=supports_skip_locked(engine))


def lock_rows(stmt: Select, engine: Engine) -> Select:
    """``SELECT … FOR UPDATE`` (waiting, not skipping) on every dialect that locks rows; SQLite's BEGIN
    IMMEDIATE already excludes other writers."""
    dialect = name_of(engine)
    if dialect == "sqlite":
        return stmt
    if dialect == "mssql":
        (table,) = stmt.get_final_froms()
        return stmt.with_hint(table, "WITH (UPDLOCK, ROWLOCK)", "mssql")
    return stmt.with_for_update()



_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$#]*")


def identifier(name: str) -> str:
    """A table or column name from config, as SQLAlchemy must be given it.

    An all-upper-case name (``RIS_REPORT``) means the DBA's case-insensitive identifier: it becomes lower
    case, which SQLAlchemy leaves unquoted (Oracle folds it to upper, PostgreSQL to lower; the MySQL
    demo tables are lower case). Any other name is used exactly as written (quoted when needed).
    """
    return name.lower() if name == name.upper() else name


def qualified_name(name: str) -> tuple[str | None, str]:
    """``"RIS.RIS_REPORT"`` -> (``"ris"``, ``"ris_report"``); a plain name has no schema."""
    schema, _, table_name = name.rpartition(".")
    return (identifier(schema) if schema else None), identifier(table_name)


def procedure_call(dialect: str, name: str, arg_names: Sequence[str]) -> TextClause:
    """The statement that calls a stored procedure with bound arguments, per dialect.

    ``name`` comes from config and is checked to be a (schema-qualified) plain identifier, since it is
    the one thing that cannot be a bound parameter. ``dialect`` is ``name_of(engine)``. SQLite has no
    stored procedures.
    """
    if not all(_PLAIN_NAME.fullmatch(part) for part in name.split(".")) or name.count(".") > 1:
        raise ValueError(f"not a plain procedure name: {name!r}")
    params = ", ".join(f":{a}" for a in arg_names)
    if dialect in ("oracle", "dm"):
        return text(f"BEGIN {name}({params}); END;")
    if dialect == "mssql":
        return text(f"EXEC {name} {params}")
    if dialect in ("postgresql", "mysql", "mariadb"):
        return text(f"CALL {name}({params})")
    raise ValueError(f"stored procedures are not supported on {dialect}")


@compiles(CreateTable, "mysql", "mariadb")
def _rai_tables_in_utf8mb4(element: CreateTable, compiler: Any, **kw: Any) -> str:
    """RAI_* tables hold Chinese names and SR text: utf8mb4 whatever the database's default charset
    (a latin1 or utf8mb3 default would lose or reject characters). Applies to migrations and create_all."""
    sql = compiler.visit_create_table(element, **kw)
    if element.element.name.lower().startswith("rai_") and "CHARSET" not in sql.upper():
        sql = sql.rstrip() + " DEFAULT CHARSET=utf8mb4"
    return sql


@compiles(String, "mssql")
@compiles(Text, "mssql")
def _unicode_text_on_sql_server(element: String, compiler: Any, **kw: Any) -> str:
    """SQL Server's VARCHAR holds only the collation's code page: Chinese needs NVARCHAR (n ≤ 4000, else MAX)."""
    length = getattr(element, "length", None)
    return f"NVARCHAR({length})" if length and length <= 4000 else "NVARCHAR(max)"


def bind_value(conn: Any, column: Any, value: Any) -> Any:
    """``value`` as the driver receives it for ``column`` (its type's bind processing, done once)."""
    processor = column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return processor(value) if processor else value


def bulk_insert(conn: Any, table: Any, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert many rows with the driver's own executemany. The values must be driver-ready (``bind_value``):
    SQLAlchemy's per-row parameter processing costs more than the insert for millions of small rows.
    Placeholders follow the driver's paramstyle."""
    if not rows:
        return
    dialect = conn.dialect
    style = dialect.paramstyle
    if style == "qmark":
        marks = ["?"] * len(columns)
    elif style in ("format", "pyformat"):
        marks = ["%s"] * len(columns)
    elif style == "numeric":
        marks = [f":{i + 1}" for i in range(len(columns))]
    else:  # named
        marks = [f":{c}" for c in columns]
    preparer = dialect.identifier_preparer
    sql = (f"INSERT INTO {preparer.format_table(table)} ({', '.join(preparer.quote(c) for c in columns)}) "
           f"VALUES ({', '.join(marks)})")
    if style == "named":
        conn.exec_driver_sql(sql, [dict(zip(columns, r, strict=True)) for r in rows])
    else:
        conn.exec_driver_sql(sql, list(rows))


#: How each database says "no such table or view" (SQLite, PostgreSQL 42P01, MariaDB/MySQL 1146,
#: SQL Server 208, Oracle ORA-00942): the pattern's first group is the missing name where it is given.
_MISSING_TABLE = (
    re.compile(r"no such table: ([\w.\"]+)", re.I),
    re.compile(r"relation \"([\w.]+)\" does not exist", re.I),
    re.compile(r"Table '([\w.]+)' doesn't exist", re.I),
    re.compile(r"Invalid object name '([\w.]+)'", re.I),
    re.compile(r"ORA-00942()", re.I),
)


def missing_table(exc: BaseException) -> str | None:
    """The table or view a database error says is missing ("" when the database does not name it), else None."""
    text = str(getattr(exc, "orig", None) or exc)
    for pattern in _MISSING_TABLE:
        found = pattern.search(text)
        if found:
            return found.group(1).strip('"').split(".")[-1]
    return None


def trigger_names(conn: Any) -> set[str] | None:
    """The triggers of the connected database (lower case), or None where this is not inspected."""
    name = conn.dialect.name
    if name == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    elif name == "postgresql":
        sql = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
    elif name in ("mysql", "mariadb"):
        sql = "SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = DATABASE()"
    else:
        return None
    return {str(row[0]).lower() for row in conn.execute(text(sql))}


class _InstantsDiffer(ColumnElement[bool]):
    """``a`` and ``b`` are different timestamps, NULL counting as a value (see ``instants_differ``)."""

    type = Boolean()
    inherit_cache = True

    def __init__(self, a: Any, b: Any) -> None:
        self.a, self.b = a, b

    _traverse_internals = [("a", InternalTraversal.dp_clauseelement), ("b", InternalTraversal.dp_clauseelement)]


def instants_differ(a: Any, b: Any) -> ColumnElement[bool]:
    """A NULL-safe "these timestamps differ" for the name index's rescan, which compares the view's exam date
    with its ledger's in the database. SQLite keeps timestamps as text in whatever format the writer chose
    (the RIS: ``2026-11-20 09:00:00``, SQLAlchemy: ``2026-11-20 09:00:00.000000``), so there both sides are
    normalised with ``datetime()`` first; elsewhere they are typed and compare as they are."""
    return _InstantsDiffer(a, b)


@compiles(_InstantsDiffer)
def _instants_differ(element: _InstantsDiffer, compiler: Any, **kw: Any) -> str:
    a, b = element.a, element.b
    expr = or_(a != b, and_(a.is_(None), b.is_not(None)), and_(a.is_not(None), b.is_(None)))
    return compiler.process(expr, **kw)  # type: ignore[no-any-return]


@compiles(_InstantsDiffer, "sqlite")
def _instants_differ_sqlite(element: _InstantsDiffer, compiler: Any, **kw: Any) -> str:
    return compiler.process(func.datetime(element.a).is_not(func.datetime(element.b)), **kw)  # type: ignore[no-any-return]
