"""A dry run of one SR against the configured RIS: which exam it would reach, whether the patient check
passes, and exactly which rows, columns, procedure arguments and findings text would be written — nothing
stored, indexed or written (``parse-sr FILE --preview``, ``POST /api/sr?dry_run=true``).

The rows, columns and text targets run for real inside a transaction that is always rolled back, so the
answer is what the writer would do, not a second implementation of it; what they leave is read back before
the rollback. A stored procedure is never called (it may commit or act outside the database): its
arguments are shown instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import column, select
from sqlalchemy.engine import Connection

from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.dialects import identifier
from ris_ai_module.dicom.linking import find_exam, parse_da
from ris_ai_module.dicom.patient_check import check_patient
from ris_ai_module.errors import InvalidInput, NotFound
from ris_ai_module.report import supersede, writer
from ris_ai_module.report.apply import ReadSR, exam_srs, read_sr
from ris_ai_module.report.display import report_items
from ris_ai_module.report.targets import ris_table, text_column
from ris_ai_module.services import Services
from ris_ai_module.sr.parse import parse_sr_file
from ris_ai_module.sr.provenance import read_provenance

SR_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.88."


#: What a campus-limited account hears of an SR that links to no exam of its campuses (upload and dry run).
OTHER_CAMPUS = ("the SR links to no exam of this account's campuses (by StudyInstanceUID, accession number or "
                "patient ID and date): nothing stored; upload it with exam_key")


def _of_campuses(conn: Any, column: str, exam_key: str | None, campuses: tuple[str, ...]) -> bool:
    from ris_ai_module.db.ris import optional_columns

    if not exam_key or not column:
        return False
    return str(optional_columns(conn, exam_key, [column]).get(column.lower()) or "").strip() in campuses


def _upload_campus(config: Any, header: dict[str, Any], campuses: tuple[str, ...]) -> str | None:
    """The campus the link rules keep to, as the real upload's (dicom.ingest._campus_of): the InstitutionName's
    (``ris.campus_institutions``), else the uploading account's when it has one campus."""
    inst = str(header.get("institution") or "").strip()
    by_inst = config.ris.campus_institutions.get(inst) if inst else None
    if by_inst:
        return str(by_inst)
    return campuses[0] if len(campuses) == 1 and config.ris.campus_column else None


def preview_file(ctx: Services, path: Path, exam_key: str | None = None,
                 campuses: tuple[str, ...] = ()) -> dict[str, Any]:
    """The dry run of the SR at ``path``; InvalidInput for a file that is not an SR, NotFound for an exam.
    ``campuses`` (an account limited to them): an exam of another campus, or none, is NotFound, as the
    real upload refuses it (nothing of another campus's exam is shown)."""
    header = _header(path)
    parsed = parse_sr_file(path, overlay_file=ctx.config.sr.catalog_overlay or None)
    prov = read_provenance(path)
    sop = header["sop_instance_uid"]
    prov.sop_instance_uid = sop
    unmapped = [{"scheme": m.concept.scheme, "code": m.concept.code, "meaning": m.concept.meaning,
                 "value": m.raw_value, "unit": m.raw_unit, "context": dict(m.context)}
                for m in parsed.measurements if m.key is None]
    answer: dict[str, Any] = {
        "sop_instance_uid": sop, "patient": {"id": header["patient_id"], "name": header["patient_name"]},
        "provenance": prov.to_dict(), "measurements": len(parsed.measurements), "unmapped": unmapped,
        "warnings": list(parsed.warnings), "exam_key": None, "link_method": None, "patient_check": None,
        "state": None, "detail": None, "rows": [], "rows_removed": [], "columns": {}, "procedure": [], "images": [],
        "text": None, "superseded": [],
    }
    with ctx.engine.connect() as conn:
        if exam_key:
            if not _exam_exists(conn, exam_key):
                raise NotFound(f"exam {exam_key} is not in RAI_V_EXAM")
            if campuses and not _of_campuses(conn, ctx.config.ris.campus_column, exam_key, campuses):
                raise NotFound(f"exam {exam_key} is not in RAI_V_EXAM")
            link_key, method = exam_key, "MANUAL"
        else:
            link = find_exam(conn, header["study_uid"], header["accession_no"], header["patient_id"],
                             parse_da(header["study_date"]), ctx.config.ris.campus_column,
                             _upload_campus(ctx.config, header, campuses))
            link_key, method = link.exam_key, link.method
            if campuses and not _of_campuses(conn, ctx.config.ris.campus_column, link.exam_key, campuses):
                raise NotFound(OTHER_CAMPUS)
            if link.hold:
                answer.update(exam_key=None, link_method=None, state="NEEDS_REVIEW", detail=link.hold)
                return answer
        answer.update(exam_key=link_key, link_method=method)
        if link_key is None:
            answer.update(state="UNLINKED", detail="no exam found by Study UID, accession or patient ID + date")
            return answer
        review = ctx.config.review
        verdict = check_patient(conn, review.patient_check, link_key, header["patient_id"], header["patient_name"],
                                review.other_ids_column)
        answer["patient_check"] = {"ok": verdict.ok, "reason": verdict.reason}
        if not verdict.ok:
            answer.update(state="NEEDS_REVIEW", detail=verdict.reason)
            return answer
        others = [o for o in exam_srs(conn, link_key) if o.sop_instance_uid != sop]
    reads = [read_sr(ctx, o) for o in others]
    reads.append(ReadSR(sop, utcnow(), parsed, prov))
    _dry_write(ctx, link_key, sop, reads, answer)
    return answer


def _dry_write(ctx: Services, exam_key: str, sop: str, reads: list[ReadSR], answer: dict[str, Any]) -> None:
    cfg = ctx.config.report
    items_by_sr = {r.sop_uid: report_items(cfg, r.parsed.measurements, r.sop_uid) for r in reads}
    res = supersede.resolve([r.source() for r in reads], items_by_sr)
    answer["superseded"] = [
        {"key": i.key, "sop_instance_uid": r.sop_uid, "by": by}
        for r in reads for i in items_by_sr[r.sop_uid] if (by := res.superseded_by(r.sop_uid, i.key))
    ]
    dry_cfg = _without_procedure(cfg)
    with ctx.engine.connect() as conn:
        tx = conn.begin()
        try:
            before_rows = _rows(conn, cfg, exam_key) if "rows" in cfg.targets else {}
            exists, status = writer.report_status(conn, cfg, exam_key, lock=True)
            state = writer.get_state(conn, exam_key)
            result = writer.write_report(conn, dry_cfg, exam_key, res.items, sop, writer.previous_keys(state), exists,
                                         status, provenance={r.sop_uid: r.provenance.model_label for r in reads})
            answer.update(state=result.state, detail=result.detail)
            if result.state == writer.APPLIED:
                if "rows" in cfg.targets:
                    after = _rows(conn, cfg, exam_key)
                    answer["rows"] = [v for k, v in sorted(after.items()) if before_rows.get(k) != v]
                    answer["rows_removed"] = sorted(set(before_rows) - set(after))
                if "columns" in cfg.targets:
                    answer["columns"] = _columns(conn, cfg, exam_key)
                if "text" in cfg.targets:
                    answer["text"] = _text(conn, cfg, exam_key)
                if "procedure" in cfg.targets:
                    answer["procedure"] = _procedure_args(cfg, exam_key, sop, res.items)
                if "images" in cfg.targets:
                    answer["images"] = _key_images(conn, exam_key, reads[-1].parsed)
        finally:
            tx.rollback()  # a preview writes nothing, whatever happened


def _without_procedure(cfg: Any) -> Any:
    import dataclasses

    return dataclasses.replace(cfg, targets=tuple(t for t in cfg.targets if t != "procedure"))


def _rows(conn: Connection, cfg: Any, exam_key: str) -> dict[str, dict[str, Any]]:
    c = cfg.rows
    names = {"key": c.key_column, "name": c.name_column, "value": c.value_column, "unit": c.unit_column,
             "source": c.source_column, "provenance": c.provenance_column}
    cols = {k: v for k, v in names.items() if v}
    t = ris_table(c.table, text_column(c.exam_id_column), *(text_column(v) for v in cols.values()))
    rows = conn.execute(select(*(t.c[identifier(v)] for v in cols.values()))
                        .where(t.c[identifier(c.exam_id_column)] == exam_key))
    out = {}
    for r in rows:
        d = {k: (None if x is None else str(x)) for k, x in zip(cols, r, strict=True)}
        out[str(d["key"])] = d
    return out


def _columns(conn: Connection, cfg: Any, exam_key: str) -> dict[str, Any]:
    c = cfg.columns
    table_name = c.table or cfg.table
    exam_name = c.exam_id_column or cfg.exam_id_column
    wanted = [identifier(v) for v in dict.fromkeys([*c.columns.values(), *([c.provenance_column] if c.provenance_column else [])])]
    t = ris_table(table_name, column(identifier(exam_name)), *(column(v) for v in wanted))
    row = conn.execute(select(*(t.c[v] for v in wanted)).where(t.c[identifier(exam_name)] == exam_key)).first()
    return {} if row is None else {k: (None if v is None else str(v)) for k, v in row._mapping.items()}


def _text(conn: Connection, cfg: Any, exam_key: str) -> str | None:
    col = identifier(cfg.text.column)
    t = ris_table(cfg.table, column(identifier(cfg.exam_id_column)), column(col))
    value = conn.execute(select(t.c[col]).where(t.c[identifier(cfg.exam_id_column)] == exam_key)).scalar()
    if value is None:
        return None
    text = str(value)
    start = text.find(cfg.text.begin_marker)
    end = text.find(cfg.text.end_marker, start + 1) if start >= 0 else -1
    return text[start:end + len(cfg.text.end_marker)] if start >= 0 and end >= 0 else text


def _procedure_args(cfg: Any, exam_key: str, sop: str, items: list[Any]) -> list[dict[str, Any]]:
    c = cfg.procedure
    todo = [i for i in items if not c.keys or i.key in c.keys or i.base_key in c.keys]
    if c.per == "measurement":
        return [{"name": c.name, "exam_id": exam_key, "payload": i.to_json()} for i in todo]
    if not todo:
        return []
    return [{"name": c.name, "exam_id": exam_key,
             "payload": {"exam_key": exam_key, "source_uid": sop, "measurements": [i.to_json() for i in todo]}}]


def _key_images(conn: Connection, exam_key: str, parsed: Any) -> list[dict[str, Any]]:
    """The key images this SR names (target images; nothing rendered): whether each is here for the exam."""
    from sqlalchemy import or_, select

    from ris_ai_module.db.tables import dicom_object as o

    refs = list(parsed.images)
    here = set(conn.execute(select(o.c.sop_instance_uid).where(
        o.c.exam_key == exam_key, o.c.sop_instance_uid.in_([r.sop_instance_uid for r in refs]),
        or_(o.c.review_state.is_(None), o.c.review_state != "NEEDS_REVIEW"))).scalars()) if refs else set()
    return [{"sop_instance_uid": r.sop_instance_uid, "caption": r.caption, "received": r.sop_instance_uid in here}
            for r in refs]


def _exam_exists(conn: Connection, exam_key: str) -> bool:
    from ris_ai_module.db.ris import get_exam

    return get_exam(conn, exam_key) is not None


def _header(path: Path) -> dict[str, Any]:
    """The attributes the link and the patient check need; InvalidInput when it is not an SR document."""
    from pydicom import dcmread

    try:
        ds = dcmread(path, stop_before_pixels=True)
    except Exception as exc:  # noqa: BLE001 - anything pydicom cannot read is "not DICOM"
        raise InvalidInput("FILE", f"not a DICOM file: {exc.__class__.__name__}") from None
    sop_class = str(ds.get("SOPClassUID", "") or "")
    if not sop_class.startswith(SR_CLASS_PREFIX):
        raise InvalidInput("FILE", f"not an SR document (SOP class {sop_class or 'missing'})")

    def text(name: str) -> str | None:
        value = ds.get(name)
        return str(value).strip() or None if value is not None else None

    return {"sop_instance_uid": text("SOPInstanceUID") or "", "study_uid": text("StudyInstanceUID"),
            "accession_no": text("AccessionNumber"), "patient_id": text("PatientID"),
            "patient_name": text("PatientName"), "study_date": text("StudyDate"),
            "institution": text("InstitutionName")}


def to_text(answer: dict[str, Any]) -> str:
    """The dry run for a terminal."""
    out = [f"SR {answer['sop_instance_uid']}  (dry run: nothing is written)",
           f"  patient {answer['patient']['id']} {answer['patient']['name'] or ''}",
           f"  exam {answer['exam_key'] or '-'} via {answer['link_method'] or '-'}"]
    if answer["patient_check"]:
        pc = answer["patient_check"]
        out.append(f"  patient check: {'ok' if pc['ok'] else 'FAILS'} - {pc['reason']}")
    out.append(f"  would be: {answer['state']} - {answer['detail'] or ''}")
    for r in answer["rows"]:
        out.append(f"  row   {r['key']:<18} {r.get('value') or '':>8} {r.get('unit') or '':<8} {r.get('name') or ''}")
    for k in answer["rows_removed"]:
        out.append(f"  row   {k:<18} removed")
    for k, v in answer["columns"].items():
        out.append(f"  column {k} = {v}")
    for p in answer["procedure"]:
        out.append(f"  CALL {p['name']}({p['exam_id']!r}, {json.dumps(p['payload'], ensure_ascii=False)[:300]})")
    for i in answer.get("images", []):
        state = "received" if i["received"] else "not received yet"
        caption = f" {i['caption']}" if i["caption"] else ""
        out.append(f"  image {i['sop_instance_uid']}{caption} ({state})")
    if answer["text"]:
        out += ["  findings block:", *("    " + line for line in answer["text"].splitlines())]
    for s in answer["superseded"]:
        out.append(f"  superseded {s['key']} of …{s['sop_instance_uid'][-12:]} by …{s['by'][-12:]}")
    for u in answer["unmapped"]:
        out.append(f"  unmapped {u['scheme']}:{u['code']} {u['meaning']} = {u['value']} {u['unit'] or ''} {u['context']}")
    return "\n".join(out)

