"""Report targets: the ways measurements reach the hospital's report tables, each named in config.

Every target writes inside the caller's transaction and returns the keys it wrote. The rule that keeps
doctors' work safe: a row or column value the module did not write (its key is not among the keys that
target wrote at the exam's last apply, RAI_REPORT_STATE.written_keys) is never changed, and neither is
one the module wrote but a doctor has since edited (it differs from the value recorded at that apply);
any other value the module wrote before is replaced, or cleared when the newer SR no longer has it. The text target owns its marked
block as a whole; a procedure owns whatever it stores.
Tables and columns are named by config, so they are built here as lightweight ``table()`` clauses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Column, DateTime, String, Text, column, delete, insert, select, table, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import TableClause

from ris_ai_module.db.dialects import identifier, name_of, procedure_call, qualified_name
from ris_ai_module.errors import ConfigError
from ris_ai_module.report.display import ReportItem
from ris_ai_module.report.findings import replace_block
from ris_ai_module.report.findings_kind import DocumentInfo, findings_text
from ris_ai_module.report.images import ImageSet, write_image_rows
from ris_ai_module.report.section import ReportConfig


@dataclass(frozen=True)
class WriteJob:
    """What every target needs for one exam."""

    conn: Connection
    cfg: ReportConfig
    exam_key: str
    items: Sequence[ReportItem]
    #: Per target, key -> value written at the last apply (None: value not recorded).
    previous: Mapping[str, Mapping[str, str | None]]
    source_uid: str
    now_local: datetime
    #: A hospital's findings hook: (items by key, the module's paragraph) -> the paragraph to write.
    render_text: Callable[[Mapping[str, ReportItem], str], str] | None = None
    #: The SR's document (title, template id, SOP class): chooses the findings template; None = echo.
    document: DocumentInfo | None = None
    #: SR SOP Instance UID -> "Acme EchoAI v3.2.1" (issue 9: every value says where it came from).
    provenance: Mapping[str, str] = field(default_factory=dict)
    #: The exam's images now (target ``images``; :mod:`report.images`); None: not given (a preview).
    images: ImageSet | None = None

    def previous_of(self, target: str) -> Mapping[str, str | None]:
        return self.previous.get(target, {})

    @property
    def by_key(self) -> dict[str, ReportItem]:
        return {i.key: i for i in self.items}


@dataclass
class TargetResult:
    #: key -> the value written (what a later apply compares with, to spot a doctor's edit).
    written: dict[str, str] = field(default_factory=dict)
    #: Keys left alone because a doctor's value is there.
    kept: set[str] = field(default_factory=set)
    #: Problems worth the report state's detail (no findings template for the document, unplaced values).
    warnings: list[str] = field(default_factory=list)


def ris_table(name: str, *columns: Column | object) -> TableClause:
    """A RIS table named by config (``RIS_REPORT``, ``RIS.RIS_REPORT``) with the given columns."""
    schema, table_name = qualified_name(name)
    return table(table_name, *columns, schema=schema)  # type: ignore[arg-type]


def text_column(name: str, kind: type = String) -> object:
    return column(identifier(name), kind())


def same_value(current: object, recorded: str | None) -> bool:
    """Is ``current`` still what the module wrote? Numbers compare as numbers (a NUMBER column gives 60.0
    for the "60" written); an unrecorded value (None) is taken as unchanged."""
    if recorded is None:
        return True
    if current is None:
        return False
    if str(current) == recorded:
        return True
    try:
        return float(str(current)) == float(recorded)
    except ValueError:
        return False


def _wanted(keys: Sequence[str], item: ReportItem) -> bool:
    return not keys or item.key in keys or item.base_key in keys


def write_rows(job: WriteJob) -> TargetResult:
    """One row per item in the key/value table; rows with keys the module did not write are kept."""
    c = job.cfg.rows
    optional = {
        "name": c.name_column, "value": c.value_column, "unit": c.unit_column, "source": c.source_column,
        "updated": c.updated_column, "provenance": c.provenance_column,
    }
    cols = {k: (text_column(v, DateTime) if k == "updated" else text_column(v)) for k, v in optional.items() if v}
    exam_col, key_col = text_column(c.exam_id_column), text_column(c.key_column)
    t = ris_table(c.table, exam_col, key_col, *cols.values())
    exam, key = t.c[identifier(c.exam_id_column)], t.c[identifier(c.key_column)]
    previous = job.previous_of("rows")
    value_col = t.c[identifier(c.value_column)] if c.value_column else None
    found = job.conn.execute(select(key, *([value_col] if value_col is not None else [])).where(exam == job.exam_key))
    existing = {str(r[0]): (r[1] if value_col is not None else None) for r in found}
    edited = {k for k, v in existing.items() if k in previous and not same_value(v, previous[k])}
    doctors = (set(existing) - set(previous)) | edited
    result = TargetResult()
    todo = [i for i in job.items if _wanted(c.keys, i)]
    result.kept = {i.key for i in todo if i.key in doctors}
    ours = sorted((set(existing) & set(previous)) - edited)
    if ours:
        job.conn.execute(delete(t).where(exam == job.exam_key, key.in_(ours)))
    rows = []
    for item in todo:
        if item.key in doctors:
            continue
        values = {identifier(c.exam_id_column): job.exam_key, identifier(c.key_column): item.key}
        fill = {
            "name": item.name_zh if c.name_language == "zh" else item.name_en,
            "value": item.display_value, "unit": item.display_unit, "source": item.source_uid,
            "updated": job.now_local, "provenance": job.provenance.get(item.source_uid, "")[:200] or None,
        }
        values.update({identifier(optional[k]): v for k, v in fill.items() if k in cols})
        rows.append(values)
        result.written[item.key] = item.display_value
    if rows:
        job.conn.execute(insert(t), rows)
    return result


def write_columns(job: WriteJob) -> TargetResult:
    """Named columns of the exam's row; a column holding a value the module did not write is kept."""
    c = job.cfg.columns
    table_name = c.table or job.cfg.table
    exam_name = c.exam_id_column or job.cfg.exam_id_column
    mapping = {k: identifier(v) for k, v in c.columns.items()}
    t = ris_table(table_name, column(identifier(exam_name), String()), *(column(v) for v in set(mapping.values())))
    exam = t.c[identifier(exam_name)]
    row = job.conn.execute(select(*(t.c[v] for v in set(mapping.values()))).where(exam == job.exam_key)).first()
    current = dict(row._mapping) if row is not None else {}
    items = job.by_key
    previous = job.previous_of("columns")
    values: dict[str, object] = {}
    result = TargetResult()
    for key, col in mapping.items():
        item = items.get(key)
        value = current.get(col)
        doctors = value is not None and (key not in previous or not same_value(value, previous[key]))
        if doctors:
            if item is not None:
                result.kept.add(key)
            continue
        if item is not None:
            values[col] = item.display_value
            result.written[key] = item.display_value
        elif key in previous:
            values[col] = None  # the older SR's value, not repeated by this one
    if c.provenance_column and result.written:
        labels = dict.fromkeys(job.provenance.get(items[k].source_uid, "") for k in result.written)
        values[identifier(c.provenance_column)] = "；".join(x for x in labels if x)[:200] or None
    if not values:
        return result
    if c.provenance_column:
        t.append_column(column(identifier(c.provenance_column)))
    if row is None:
        job.conn.execute(insert(t).values({identifier(exam_name): job.exam_key, **values}))
    else:
        job.conn.execute(update(t).where(exam == job.exam_key).values(values))
    return result


def write_procedure(job: WriteJob) -> TargetResult:
    """CALL name(exam id, JSON) once per exam or once per measurement."""
    c = job.cfg.procedure
    dialect = name_of(job.conn.engine)
    try:
        stmt = procedure_call(dialect, c.name, ("exam_id", "payload"))
    except ValueError as exc:
        raise ConfigError("report.procedure.name", str(exc)) from exc
    todo = [i for i in job.items if _wanted(c.keys, i)]
    if c.per == "measurement":
        for item in todo:
            job.conn.execute(stmt, {"exam_id": job.exam_key, "payload": json.dumps(item.to_json(), ensure_ascii=False)})
    elif todo:
        payload = {"exam_key": job.exam_key, "source_uid": job.source_uid, "measurements": [i.to_json() for i in todo]}
        job.conn.execute(stmt, {"exam_id": job.exam_key, "payload": json.dumps(payload, ensure_ascii=False)})
    return TargetResult()  # the procedure owns what it stores; nothing to protect on our side


def write_text(job: WriteJob) -> TargetResult:
    """The findings paragraph in the module's marked block of the text column of the report row."""
    c = job.cfg.text
    paragraph, warnings = findings_text(c, job.document, job.items)
    if job.render_text is not None:
        paragraph = job.render_text(job.by_key, paragraph)
    if paragraph and c.ai_notice:  # the doctor reads that these are AI values awaiting confirmation
        from ris_ai_module.report.sr_sources import notice

        paragraph += "\n" + notice(job.provenance.get(i.source_uid, "") for i in job.items)
    col = identifier(c.column)
    t = ris_table(job.cfg.table, column(identifier(job.cfg.exam_id_column), String()), column(col, Text()))
    exam = t.c[identifier(job.cfg.exam_id_column)]
    current = job.conn.execute(select(t.c[col]).where(exam == job.exam_key)).scalar()
    new = replace_block(current, paragraph, c.begin_marker, c.end_marker, c.place)
    if new != (current or ""):
        job.conn.execute(update(t).where(exam == job.exam_key).values({col: new}))
    # the marked block is the module's as a whole; kept so that the signed report can be compared with it
    return TargetResult(written={"*": paragraph} if paragraph else {}, warnings=warnings)


def write_images(job: WriteJob) -> TargetResult:
    """One row per image of the exam in the image table (典型图像); rows the module did not write are kept."""
    if job.images is None:
        return TargetResult()
    written, kept = write_image_rows(job.conn, job.cfg.images, job.exam_key, job.images,
                                     dict(job.previous_of("images")), job.now_local)
    return TargetResult(written=written, kept={f"image {k}" for k in kept}, warnings=list(job.images.warnings))


#: Target name in ``[report].targets`` -> the function writing it.
TARGETS: Mapping[str, Callable[[WriteJob], TargetResult]] = {
    "rows": write_rows,
    "columns": write_columns,
    "procedure": write_procedure,
    "text": write_text,
    "images": write_images,
}
