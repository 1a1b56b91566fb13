"""``config check --db``: connect with the configuration and say, line by line, whether the database is
ready for the module (OK/FAIL and what to do), instead of letting ``run`` find out later."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from ris_ai_module.settings import Config


@dataclass(frozen=True)
class Line:
    ok: bool
    what: str
    detail: str

    def __str__(self) -> str:
        return f"{'OK  ' if self.ok else 'FAIL'} {self.what}: {self.detail}"


def _error(exc: Exception) -> str:
    orig = getattr(exc, "orig", None) or exc
    return " ".join(str(orig).split())[:300]


def check_database(engine: Engine, cfg: Config) -> list[Line]:
    """Connection, module tables at the code's revision, the view's columns, the exam trigger (or polling)."""
    where = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return [Line(False, "connect", f"{where}: {_error(exc)} (check database.url, the server and its port)")]
    lines = [Line(True, "connect", where)]
    lines.append(_module_tables(engine))
    lines.append(_view(engine, cfg))
    lines.append(_detection(engine, cfg))
    lines.append(_name_index(engine, cfg))
    lines.extend(_report_targets(engine, cfg))
    lines.append(_grants(engine, cfg))
    return lines


def _grants(engine: Engine, cfg: Config) -> Line:
    """What the module's account may do, tried with statements that touch no row (``WHERE 1=0``), rolled back."""
    from ris_ai_module.db.dialects import identifier

    if engine.dialect.name == "sqlite":
        return Line(True, "grants", "SQLite has no accounts")
    probes = [("SELECT", "RAI_V_EXAM", f"SELECT {', '.join(cfg.view_columns())} FROM rai_v_exam WHERE 1=0")]
    for table, names in report_tables(cfg).items():
        columns = [identifier(c) for c in names]
        cols = ", ".join(columns)
        table = ".".join(identifier(part) for part in table.split("."))
        probes += [("SELECT", table, f"SELECT {cols} FROM {table} WHERE 1=0"),
                   ("UPDATE", table, f"UPDATE {table} SET {columns[0]} = {columns[0]} WHERE 1=0"),
                   ("INSERT", table, f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {table} WHERE 1=0")]
    denied = []
    for privilege, table, sql in probes:
        with engine.connect() as conn:
            try:
                conn.execute(text(sql))
            except SQLAlchemyError as exc:
                denied.append(f"{privilege} on {table.upper()} ({_error(exc)[:120]})")
            finally:
                conn.rollback()
    if denied:
        return Line(False, "grants", "; ".join(denied) + " (sql/<dialect>/40_grants.sql)")
    return Line(True, "grants", f"{len(probes)} statements allowed (SELECT on RAI_V_EXAM; SELECT, INSERT, UPDATE "
                                f"on the report tables)")


def report_tables(cfg: Config) -> dict[str, list[str]]:
    """The RIS tables the configured report targets write, with the columns each needs."""
    r = cfg.report
    need: dict[str, list[str]] = {}

    def add(table: str, *columns: str) -> None:
        need.setdefault(table, []).extend(c for c in columns if c and c not in need[table])

    add(r.table, r.exam_id_column, r.status_column, r.updated_column)
    if "text" in r.targets:
        add(r.table, r.text.column)
    if "rows" in r.targets:
        w = r.rows
        add(w.table, w.exam_id_column, w.key_column, w.name_column, w.value_column, w.unit_column,
            w.source_column, w.updated_column, w.provenance_column)
    if "columns" in r.targets:
        c = r.columns
        add(c.table or r.table, c.exam_id_column or r.exam_id_column, *c.columns.values(), c.provenance_column)
    if "images" in r.targets:
        i = r.images
        add(i.table, i.exam_id_column, i.sop_uid_column, i.order_column, i.series_number_column,
            i.instance_number_column, i.path_column, i.caption_column, i.state_column, i.source_column,
            i.updated_column)
    return need


def _report_targets(engine: Engine, cfg: Config) -> list[Line]:
    from ris_ai_module.db.dialects import qualified_name

    lines = []
    for table, columns in report_tables(cfg).items():
        what = f"report table {table}"
        schema, name = qualified_name(table)
        try:
            found = {c["name"].lower() for c in inspect(engine).get_columns(name, schema=schema)}
        except SQLAlchemyError as exc:
            found = set()
            detail = _error(exc)
        else:
            detail = ""
        if not found:
            lines.append(Line(False, what, f"missing or not readable {detail}".rstrip()
                              + " (check [report] and the module account's grants, sql/<dialect>/40_grants.sql)"))
            continue
        missing = [c.upper() for c in columns if c.lower() not in found]
        lines.append(Line(not missing, what, f"columns missing: {', '.join(missing)} (check [report])" if missing
                          else f"{len(columns)} columns as configured"))
    if "procedure" in cfg.report.targets:
        lines.append(Line(True, "report procedure", f"{cfg.report.procedure.name} (not inspected)"))
    if "images" in cfg.report.targets and cfg.report.images.jpeg_folder:
        lines.append(_jpeg_folder(cfg.report.images.jpeg_folder))
    return lines


def _jpeg_folder(folder: str) -> Line:
    """The JPEG folder of the images target exists (or can be made) and takes a file."""
    import os
    import tempfile

    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".rai-check-", suffix=".tmp"):
            pass
    except OSError as exc:
        return Line(False, "report images folder", f"{folder}: {exc.strerror or exc} (report.images.jpeg_folder)")
    return Line(True, "report images folder", f"{folder} writable")


#: The triggers of sql/<dialect>/30_trigger_exam_start.sql.
EXAM_TRIGGERS = ("rai_trg_exam_start_ins", "rai_trg_exam_start_upd")


def _detection(engine: Engine, cfg: Config) -> Line:
    from ris_ai_module.db.dialects import trigger_names

    if cfg.ris.detect == "poll":
        return Line(True, "exam detection", "polling RAI_V_EXAM (ris.detect = \"poll\")")
    try:
        with engine.connect() as conn:
            names = trigger_names(conn)
    except SQLAlchemyError as exc:
        return Line(False, "exam detection", f"triggers not readable: {_error(exc)}")
    if names is None:
        return Line(True, "exam detection", "trigger (not inspected on this database)")
    missing = [t.upper() for t in EXAM_TRIGGERS if t not in names]
    if missing:
        return Line(False, "exam detection", f"trigger {', '.join(missing)} missing (install "
                                             f"sql/<dialect>/30_trigger_exam_start.sql, or set ris.detect = \"poll\")")
    return Line(True, "exam detection", f"triggers {', '.join(t.upper() for t in EXAM_TRIGGERS)} installed")


#: The triggers of sql/<dialect>/31_trigger_name_index.sql (Oracle, SQL Server, DM: one, not inspected).
NAME_TRIGGERS = ("rai_trg_exam_name_ins", "rai_trg_exam_name_upd", "rai_trg_exam_name_del")


def _name_index(engine: Engine, cfg: Config) -> Line:
    """Says how the name look-up learns of renamed exams; without the trigger that is only a warning-free
    fact (polling mode is supported), with part of it a failure (some changes would wait for the rescan)."""
    from ris_ai_module.db.dialects import trigger_names

    every = f"every {float(cfg.http.name_rescan_interval):g} s (http.name_rescan_interval)"
    try:
        with engine.connect() as conn:
            names = trigger_names(conn)
    except SQLAlchemyError as exc:
        return Line(False, "name index", f"triggers not readable: {_error(exc)}")
    if names is None:
        return Line(True, "name index", f"trigger not inspected on this database; rescan {every}")
    present = [t for t in NAME_TRIGGERS if t in names]
    if not present:
        return Line(True, "name index", f"no trigger (31_trigger_name_index.sql): renamed exams found after the rescan, {every}")
    if len(present) < len(NAME_TRIGGERS):
        missing = ", ".join(t.upper() for t in NAME_TRIGGERS if t not in names)
        return Line(False, "name index", f"trigger {missing} missing (re-run sql/<dialect>/31_trigger_name_index.sql)")
    return Line(True, "name index", f"triggers {', '.join(t.upper() for t in NAME_TRIGGERS)} installed; rescan {every}")


def _module_tables(engine: Engine) -> Line:
    from alembic.script import ScriptDirectory

    from ris_ai_module.db import migrate

    try:
        current = migrate.current(engine)
        head = ScriptDirectory.from_config(migrate.alembic_config(engine)).get_current_head()
    except SQLAlchemyError as exc:
        if _tables_readable(engine) or _denied(exc):
            return Line(False, "module tables", f"{_error(exc)} ({VERSION_GRANT})")
        return Line(False, "module tables", f"{_error(exc)} (run `ris-ai-module init-db`)")
    if current is None:
        if _tables_readable(engine):  # MySQL/MariaDB hide a table the account may not read
            return Line(False, "module tables", f"RAI_SCHEMA_VERSION is not readable by this account while the "
                                                f"RAI_* tables are ({VERSION_GRANT})")
        return Line(False, "module tables", "the RAI_* tables are missing (run `ris-ai-module init-db`)")
    if current != head:
        return Line(False, "module tables", f"at revision {current}, this version needs {head} "
                                            f"(run `ris-ai-module init-db`)")
    return Line(True, "module tables", f"RAI_* at revision {current}")


#: The advice when the account cannot read the migrations' version table (the tables themselves are there).
VERSION_GRANT = ("grant SELECT on RAI_SCHEMA_VERSION to the module's account, sql/<dialect>/40_grants.sql, "
                 "then check again")


def _tables_readable(engine: Engine) -> bool:
    """Whether the module's first table answers a query that reads no row (the tables exist and are granted)."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1 FROM rai_task WHERE 1=0"))
        return True
    except SQLAlchemyError:
        return False


def _denied(exc: Exception) -> bool:
    message = _error(exc).lower()
    return any(word in message for word in ("permission denied", "command denied", "access denied", "ora-01031"))


def _view(engine: Engine, cfg: Config) -> Line:
    hint = "(the DBA script sql/<dialect>/20_view_exam.sql)"
    try:
        found = {c["name"].lower() for c in inspect(engine).get_columns("rai_v_exam")}
    except SQLAlchemyError as exc:
        return Line(False, "view RAI_V_EXAM", f"{_error(exc)} {hint}")
    if not found:
        return Line(False, "view RAI_V_EXAM", f"missing {hint}")
    missing = [c for c in cfg.view_columns() if c.lower() not in found]
    if missing:
        return Line(False, "view RAI_V_EXAM", f"columns missing: {', '.join(c.upper() for c in missing)} {hint}")
    return Line(True, "view RAI_V_EXAM", f"{len(cfg.view_columns())} columns as configured")
