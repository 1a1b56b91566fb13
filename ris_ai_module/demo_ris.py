"""Registering and starting exams in the demo RIS, and reading a demo report back: what a RIS user does by
hand, for the demo and the README's walk-through (no ``sqlite3`` CLI needed).

Only the embedded demo RIS may be written this way: the database must be SQLite and hold the demo RIS tables
that ``init-demo`` creates (``sql/sqlite/10_demo_ris.sql``). Against a hospital database the commands refuse:
there, exams are registered and started in the RIS itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import column, insert, inspect, select, table, update
from sqlalchemy.engine import Engine

from ris_ai_module.errors import ConfigError, NotFound

EXAM_COLUMNS = ("exam_id", "patient_id", "patient_name", "sex", "birth_date", "accession_no", "exam_items",
                "exam_desc", "exam_status", "modality", "exam_date")
ris_exam = table("ris_exam", *(column(c) for c in EXAM_COLUMNS))
ris_report = table("ris_report", *(column(c) for c in ("exam_id", "findings", "impression", "report_status")))
ris_measure = table("ris_report_measure", *(column(c) for c in (
    "exam_id", "item_key", "item_name", "item_value", "item_unit", "source_uid")))
ris_image = table("ris_report_image", *(column(c) for c in (
    "exam_id", "sop_instance_uid", "image_no", "image_path", "caption", "image_state")))


def require_demo_database(engine: Engine) -> None:
    """Refuse anything but the SQLite demo RIS (raises ConfigError naming database.url)."""
    if engine.dialect.name != "sqlite":
        raise ConfigError("database.url", "demo-exam writes only the demo RIS (the SQLite database `init-demo` "
                                          f"creates), not a {engine.dialect.name} database; in a hospital, exams are "
                                          "registered and started in the RIS itself")
    names = {n.lower() for n in inspect(engine).get_table_names()}
    missing = {"ris_exam", "ris_report", "ris_report_measure", "rai_task"} - names
    if missing:
        raise ConfigError("database.url", "this SQLite database is not the demo RIS written by `init-demo` "
                                          f"(missing tables: {', '.join(sorted(missing))})")


@dataclass(frozen=True)
class NewExam:
    exam_id: str
    patient_id: str
    patient_name: str
    sex: str
    birth_date: str
    accession_no: str
    exam_items: str
    exam_desc: str = ""


def register_exam(engine: Engine, exam: NewExam) -> None:
    """A new REGISTERED exam in RIS_EXAM (the module does nothing until it is started)."""
    require_demo_database(engine)
    with engine.begin() as conn:
        if conn.execute(select(ris_exam.c.exam_id).where(ris_exam.c.exam_id == exam.exam_id)).first():
            raise ConfigError("exam_id", f"exam {exam.exam_id} is already registered in the demo RIS")
        conn.execute(insert(ris_exam).values(
            exam_id=exam.exam_id, patient_id=exam.patient_id, patient_name=exam.patient_name, sex=exam.sex,
            birth_date=exam.birth_date or None, accession_no=exam.accession_no, exam_items=exam.exam_items,
            exam_desc=exam.exam_desc or exam.exam_items, exam_status="REGISTERED", modality="US",
            exam_date=datetime.now().replace(microsecond=0),
        ))


def start_exam(engine: Engine, exam_id: str) -> None:
    """REGISTERED/FINISHED → STARTED: the demo RIS's trigger queues the push, as a RIS would."""
    require_demo_database(engine)
    with engine.begin() as conn:
        done = conn.execute(update(ris_exam).where(ris_exam.c.exam_id == exam_id).values(exam_status="STARTED"))
        if done.rowcount == 0:
            raise NotFound(f"exam {exam_id} is not in the demo RIS (register it first: demo-exam register)")


def read_report(engine: Engine, exam_id: str) -> dict[str, Any]:
    """The demo report of an exam: findings text, impression, status and the measurement rows."""
    with engine.connect() as conn:
        row = conn.execute(select(ris_report).where(ris_report.c.exam_id == exam_id)).first()
        rows = conn.execute(select(ris_measure).where(ris_measure.c.exam_id == exam_id)
                            .order_by(ris_measure.c.item_key)).all()
        images = []
        if "ris_report_image" in {n.lower() for n in inspect(conn).get_table_names()}:  # a demo made before it
            images = conn.execute(select(ris_image).where(ris_image.c.exam_id == exam_id)
                                  .order_by(ris_image.c.image_no)).all()
    return {
        "exam_id": exam_id,
        "findings": row.findings if row is not None else None,
        "status": row.report_status if row is not None else None,
        "measurements": [dict(r._mapping) for r in rows],
        "images": [dict(r._mapping) for r in images],
    }


def format_report(report: dict[str, Any], title: str = "") -> str:
    """The report as a doctor opens it: findings paragraph, then the measurement table."""
    lines = [f"── {title or report['exam_id']} ─ 报告状态 report status: {report['status'] or '(none)'}"]
    lines.append("检查所见 Findings:")
    lines.append(report["findings"] or "(empty)")
    lines.append("测量值 Measurements:")
    width = max((display_width(m["item_name"] or "") for m in report["measurements"]), default=10)
    for m in report["measurements"]:
        name = m["item_name"] or ""
        value = f"{m['item_value']} {m['item_unit'] or ''}".rstrip()
        lines.append(f"  {m['item_key']:<18} {name}{' ' * (width - display_width(name))}  {value}")
    if report.get("images"):
        lines.append("典型图像 Key images:")
        for i in report["images"]:
            caption = f"  {i['caption']}" if i.get("caption") else ""
            lines.append(f"  {i['image_no']}. {i['image_path'] or '(未收到 not received)'}{caption}")
    return "\n".join(lines)


def display_width(text: str) -> int:
    """Columns a terminal gives ``text``: CJK characters take two."""
    return sum(2 if ord(ch) >= 0x2E80 else 1 for ch in text)
