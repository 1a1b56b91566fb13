"""The outbox files of one exam's result: ``<accession>.json``, ``.csv`` and ``.xml`` (formats as configured).

Every file is written under a hidden temporary name in the same folder, fsynced, renamed over the old one
and the folder fsynced: a reader sees the previous file or the new one, never half of one. The CSV is UTF-8
with a BOM, so Excel opens the Chinese names as they are; the findings text is its last row (key
``FINDINGS``). The JSON is ``ResultSet.to_json()``; the XML carries the same fields as elements.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from ris_ai_module.durable import write_atomic
from ris_ai_module.results.resultset import ResultSet

FINDINGS_KEY = "FINDINGS"

CSV_COLUMNS = (
    "accession_no", "exam_key", "patient_id", "patient_name", "status", "key", "name_zh", "name_en", "value",
    "unit", "display", "code_scheme", "code", "site", "laterality", "fetus", "lesion", "sop_instance_uid",
    "device", "model", "edited",
)

_UNSAFE = re.compile(r"[^0-9A-Za-z._\-\u4e00-\u9fff]")


def base_name(rs: ResultSet, campus_in_name: bool = False) -> str:
    """``A2026001`` (or ``东院_A2026001``): the accession number made safe as a file name; the exam key when
    the RIS has no accession number."""
    stem = rs.exam.accession_no.strip() or f"exam-{rs.exam.exam_key}"
    if campus_in_name and rs.exam.campus.strip():
        stem = f"{rs.exam.campus.strip()}_{stem}"
    return _UNSAFE.sub("_", stem).lstrip(".") or "exam"


def render_json(rs: ResultSet) -> bytes:
    return (json.dumps(rs.to_json(), ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def render_csv(rs: ResultSet) -> bytes:
    out = io.StringIO(newline="")
    w = csv.writer(out)
    w.writerow(CSV_COLUMNS)
    e = rs.exam
    head = [e.accession_no, e.exam_key, e.patient_id, e.patient_name, rs.status]
    for i in rs.items:
        w.writerow(head + [
            i.key, i.name_zh, i.name_en, "" if i.value is None else repr(i.value), i.unit, i.display,
            i.code.scheme if i.code else "", i.code.code if i.code else "", i.site, i.laterality, i.fetus,
            i.lesion, i.sop_instance_uid, i.device, i.model_label, "1" if i.edited else "",
        ])
    w.writerow(head + [FINDINGS_KEY, "所见", "Findings", "", "", rs.findings_text] + [""] * 10)
    return out.getvalue().encode("utf-8-sig")


def render_xml(rs: ResultSet) -> bytes:
    data = rs.to_json()
    root = ET.Element("result", {"status": rs.status, "version": rs.version or ""})
    exam = ET.SubElement(root, "exam")
    for k, v in data["exam"].items():
        ET.SubElement(exam, k).text = "" if v is None else str(v)
    ms = ET.SubElement(root, "measurements")
    for item in data["measurements"]:
        m = ET.SubElement(ms, "measurement", {"key": item["key"]})
        for k, v in item.items():
            if k == "key" or v is None:
                continue
            if isinstance(v, dict):
                sub = ET.SubElement(m, k)
                for ck, cv in v.items():
                    ET.SubElement(sub, ck).text = "" if cv is None else str(cv)
            else:
                ET.SubElement(m, k).text = (repr(v) if isinstance(v, float) else
                                            ("true" if v else "false") if isinstance(v, bool) else str(v))
    ET.SubElement(root, "findings").text = rs.findings_text
    buf = io.BytesIO()
    ET.ElementTree(root).write(buf, encoding="utf-8", xml_declaration=True)
    return buf.getvalue() + b"\n"


RENDERERS = {"json": render_json, "csv": render_csv, "xml": render_xml}


def write_outbox(rs: ResultSet, folder: Path, formats: Sequence[str], campus_in_name: bool = False) -> list[Path]:
    """Write the result set in every format; returns the paths written (OSError when the folder is not writable)."""
    stem = base_name(rs, campus_in_name)
    written = []
    for fmt in formats:
        path = folder / f"{stem}.{fmt}"
        write_atomic(path, RENDERERS[fmt](rs))
        written.append(path)
    return written
