"""``acceptance --cleanup``: undo what a journaled run wrote, also after a failed or interrupted run.

Removed: the objects the kit stored and every object linked to the test exam (the AI host's answer to the test
push, ``simulate-ai --send-test``): files, index rows, their measurements and SR_APPLY tasks, and (target images)
the exam-level SR_APPLY tasks their images queued and their JPEGs; restored: the test exam's report rows (report
table row, key/value rows and key image rows exactly as they were before the run) and its RAI_REPORT_STATE. The push to the AI host cannot
be taken back: the record says so, and the AI vendor removes the test exam on its side.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import MetaData, Table, delete, insert, select
from sqlalchemy.engine import Connection, Engine

from ris_ai_module.acceptance.journal import Journal, open_runs
from ris_ai_module.db.dialects import identifier
from ris_ai_module.db.tables import dicom_object, measurement, report_state, study_uid, task

if TYPE_CHECKING:
    from ris_ai_module.settings import Config


def reflect(conn: Connection, name: str) -> Table:
    """A hospital table as it is (names as configured; quoting per dialect as the report writer does)."""
    return Table(identifier(name), MetaData(), autoload_with=conn)


def snapshot_report(conn: Connection, cfg: Config, exam_key: str) -> dict[str, Any]:
    """The test exam's report rows and state as they are now, JSON-ready."""
    rep = cfg.report
    out: dict[str, Any] = {"exam_key": exam_key, "tables": []}
    seen: set[tuple[str, str]] = set()
    targets = [(rep.table, rep.exam_id_column)]
    if "rows" in rep.targets:
        targets.append((rep.rows.table, rep.rows.exam_id_column))
    if "columns" in rep.targets and rep.columns.table:
        targets.append((rep.columns.table, rep.columns.exam_id_column or rep.exam_id_column))
    if "images" in rep.targets:
        targets.append((rep.images.table, rep.images.exam_id_column))
    for name, col in targets:
        if (name.lower(), col.lower()) in seen:
            continue
        seen.add((name.lower(), col.lower()))
        t = reflect(conn, name)
        key_col = column_of(t, col)
        rows = [dict(r._mapping) for r in conn.execute(select(t).where(key_col == exam_key))]
        out["tables"].append({"table": name, "exam_column": key_col.name, "rows": _jsonable(rows)})
    state = conn.execute(select(report_state).where(report_state.c.exam_key == exam_key)).first()
    out["state"] = _jsonable([dict(state._mapping)])[0] if state is not None else None
    return out


def column_of(t: Table, name: str) -> Any:
    for c in t.columns:
        if c.name.lower() == name.lower():
            return c
    raise KeyError(f"{t.name} has no column {name}")


def _jsonable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()} for r in rows]


def _datetime_if(col: Any, value: Any) -> Any:
    try:
        py = col.type.python_type
    except NotImplementedError:
        return value
    if isinstance(value, str) and py is datetime:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def restore_report(conn: Connection, snap: dict[str, Any]) -> None:
    exam_key = snap["exam_key"]
    for entry in snap["tables"]:
        t = reflect(conn, entry["table"])
        key_col = column_of(t, entry["exam_column"])
        conn.execute(delete(t).where(key_col == exam_key))
        for row in entry["rows"]:
            conn.execute(insert(t).values({column_of(t, k).name: _datetime_if(column_of(t, k), v) for k, v in row.items()}))
    conn.execute(delete(report_state).where(report_state.c.exam_key == exam_key))
    if snap.get("state"):
        state = {k: (datetime.fromisoformat(v) if k == "updated_at" and isinstance(v, str) else v)
                 for k, v in snap["state"].items()}
        conn.execute(insert(report_state).values(state))


def strip_values_of(conn: Connection, cfg: Config, exam_key: str, sops: set[str]) -> None:
    """Remove what the module wrote into the test report from the removed SRs: key/value rows whose source is
    one of them, the findings block between the markers, and the report state pointing at one of them."""
    rep = cfg.report
    state = conn.execute(select(report_state).where(report_state.c.exam_key == exam_key)).first()
    if "rows" in rep.targets and rep.rows.source_column:
        t = reflect(conn, rep.rows.table)
        conn.execute(delete(t).where(column_of(t, rep.rows.exam_id_column) == exam_key,
                                     column_of(t, rep.rows.source_column).in_(sorted(sops))))
    if "images" in rep.targets:  # key image rows of the removed objects, or named by a removed SR
        t = reflect(conn, rep.images.table)
        exam, sop = column_of(t, rep.images.exam_id_column), column_of(t, rep.images.sop_uid_column)
        named = sop.in_(sorted(sops))
        if rep.images.source_column:
            named = named | column_of(t, rep.images.source_column).in_(sorted(sops))
        conn.execute(delete(t).where(exam == exam_key, named))
    if state is None or state.sop_instance_uid not in sops:
        return
    if "text" in rep.targets:
        t = reflect(conn, rep.table)
        key, col = column_of(t, rep.exam_id_column), column_of(t, rep.text.column)
        row = conn.execute(select(col).where(key == exam_key)).first()
        text = row[0] if row is not None else None
        if text and rep.text.begin_marker in text and rep.text.end_marker in text:
            head, _, rest = text.partition(rep.text.begin_marker)
            _, _, tail = rest.partition(rep.text.end_marker)
            conn.execute(t.update().where(key == exam_key).values({col.name: (head.rstrip("\n") + tail).strip() or None}))
    conn.execute(delete(report_state).where(report_state.c.exam_key == exam_key))


def remove_objects(conn: Connection, sops: set[str], storage_root: Path) -> list[str]:
    """Index rows, measurements and SR_APPLY tasks of ``sops``; returns the files to delete after commit."""
    files = []
    for sop in sorted(sops):
        row = conn.execute(select(dicom_object.c.file_path).where(dicom_object.c.sop_instance_uid == sop)).first()
        if row is not None:
            files.append(str(storage_root / row.file_path))
        conn.execute(delete(measurement).where(measurement.c.sop_instance_uid == sop))
        conn.execute(delete(task).where(task.c.kind == "SR_APPLY", task.c.payload.like(f'%"{sop}"%')))
        conn.execute(delete(dicom_object).where(dicom_object.c.sop_instance_uid == sop))
    return files


def _exams_of(entries: list[dict[str, Any]]) -> set[str]:
    return {e["exam_key"] for e in entries if e.get("exam_key")}


def _image_leftovers(conn: Connection, cfg: Config, exam_keys: set[str], sops: set[str]) -> list[str]:
    """The exam-level SR_APPLY tasks an image of the run queued (target images: its payload names the exam, not
    the object) and the JPEGs of the removed objects; returns the JPEG files to delete after commit."""
    if "images" not in cfg.report.targets:
        return []
    for exam_key in sorted(exam_keys):
        conn.execute(delete(task).where(task.c.kind == "SR_APPLY", task.c.exam_key == exam_key,
                                        task.c.payload.like('%"sop_instance_uid": ""%')))
    folder = cfg.report.images.jpeg_folder
    if not folder:
        return []
    from ris_ai_module.report.images import jpeg_name

    return [str(Path(folder) / jpeg_name(exam_key, sop)) for exam_key in sorted(exam_keys) for sop in sorted(sops)]


def objects_of_run(conn: Connection, entries: list[dict[str, Any]]) -> set[str]:
    """What the kit stored, plus every object linked to the test exam: the AI host's answer to the test push
    and what ``simulate-ai --send-test`` sent (the test exam is a test patient's, registered for this)."""
    sops = {e["sop"] for e in entries if e["action"] == "store"}
    for exam_key in {e["exam_key"] for e in entries if e["action"] == "start" and e.get("exam_key")}:
        for row in conn.execute(select(dicom_object.c.sop_instance_uid).where(dicom_object.c.exam_key == exam_key)):
            sops.add(row.sop_instance_uid)
    return sops


def cleanup(engine: Engine, cfg: Config, folder: Path, say: Any = print) -> int:
    """Undo every open run in ``folder``; returns how many runs were cleaned."""
    cleaned = 0
    for run_id, entries in list(open_runs(folder)):
        with engine.begin() as conn:
            sops = objects_of_run(conn, entries)
            files = remove_objects(conn, sops, Path(cfg.storage.root))
            snaps = [e["snapshot"] for e in entries if e["action"] == "report-snapshot"]
            if snaps:
                restore_report(conn, snaps[0])  # the first snapshot is the state before the run
            exam_keys = {e["exam_key"] for e in entries if e["action"] == "start" and e.get("exam_key")}
            for exam_key in exam_keys:  # values of removed SRs that were there before the run (send-test)
                strip_values_of(conn, cfg, exam_key, sops)
                # the exam-level re-applies the run's images queued (index.enqueue_exam_apply: no SOP UID)
                conn.execute(delete(task).where(task.c.kind == "SR_APPLY", task.c.exam_key == exam_key,
                                                task.c.payload.like('%"sop_instance_uid": ""%')))
            files += _image_leftovers(conn, cfg, exam_keys | _exams_of(entries), sops)
            for e in entries:
                if e["action"] == "study-uid":  # the UID the kit generated for the test exam
                    conn.execute(delete(study_uid).where(study_uid.c.exam_key == e["exam_key"]))
        for f in files:
            try:
                Path(f).unlink()
            except FileNotFoundError:
                pass
        pushes = [e for e in entries if e["action"] == "push"]
        Journal(folder, run_id).write("cleaned", objects=sorted(sops), report_restored=bool(snaps))
        say(f"run {run_id}: removed {len(sops)} object(s){' and restored the test report' if snaps else ''}"
            + (f"; {len(pushes)} test push(es) to the AI host cannot be taken back: ask the AI vendor to delete "
               f"exam {pushes[0].get('exam_key')}" if pushes else ""))
        cleaned += 1
    if not cleaned:
        say(f"nothing to clean up in {folder}")
    return cleaned

