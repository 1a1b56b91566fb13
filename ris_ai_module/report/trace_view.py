"""What the trace page and ``ris-ai-module exam KEY`` show of an exam's measurements: each value with its
source SR (time, short SOP UID, model), current or superseded (and by which SR), unmapped items with their
full context, units as doctors read them, Chinese first."""

from __future__ import annotations

import csv
import io
import json
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ris_ai_module.db.tables import dicom_object, measurement
from ris_ai_module.report import sr_sources
from ris_ai_module.report.display import unit_label


def short_uid(uid: str | None) -> str:
    """``…8942068``: enough of a SOP Instance UID to tell an exam's SRs apart on screen."""
    if not uid:
        return ""
    return uid if len(uid) <= 14 else "…" + uid[-12:]


@cache
def role_names() -> dict[str, str]:
    """Context role -> its Chinese label (部位, 成像模式, 血流方向 ...), from the catalog's roles.csv."""
    text = resources.files("ris_ai_module.sr").joinpath("catalog/roles.csv").read_text(encoding="utf-8")
    return {row["role"]: row["name_zh"] for row in csv.DictReader(io.StringIO(text)) if row.get("role")}


def context_text(raw: str | None) -> str:
    """``部位 finding_site: Mitral Valve；成像模式 image_mode: Doppler`` from the stored context JSON."""
    if not raw:
        return ""
    try:
        data = json.loads(raw)
    except ValueError:
        return raw[:300]
    context = data.get("context", data) if isinstance(data, dict) else {}
    names = role_names()
    parts = [f"{names.get(role, role)} {role}: {value}" for role, value in context.items() if value not in (None, "")]
    return "；".join(parts)


def exam_sources(conn: Connection, exam_key: str) -> list[dict[str, Any]]:
    """The exam's SRs, oldest first, with provenance (device, software, algorithm, observer)."""
    o = dicom_object
    objs = conn.execute(select(o.c.sop_instance_uid, o.c.received_at, o.c.sender_ae).where(
        o.c.exam_key == exam_key, o.c.sop_class_uid.like("1.2.840.10008.5.1.4.1.1.88.%"),
    ).order_by(o.c.received_at)).all()
    prov = sr_sources.for_exam(conn, exam_key)
    out = []
    for sop, received, sender in objs:
        p = prov.get(sop, {})
        out.append({
            "sop_instance_uid": sop, "short_uid": short_uid(sop), "received_at": received, "sender": sender,
            "content_at": p.get("content_at"), "manufacturer": p.get("manufacturer"), "model": p.get("model"),
            "software_versions": p.get("software_versions"), "device_serial": p.get("device_serial"),
            "algorithm_name": p.get("algorithm_name"), "algorithm_version": p.get("algorithm_version"),
            "observer": p.get("observer") or {}, "predecessors": p.get("predecessors") or [],
            "model_label": p.get("model_label") or "", "verification_flag": p.get("verification_flag"),
        })
    return out


def exam_measurements(conn: Connection, exam_key: str) -> list[dict[str, Any]]:
    """Every measurement of the exam: current reported values first, then superseded, then unreported and
    unmapped ones; each row keeps the RAI_MEASUREMENT columns and adds what the screen shows."""
    sources = {s["sop_instance_uid"]: s for s in exam_sources(conn, exam_key)}
    rows = [dict(r._mapping) for r in conn.execute(select(measurement).where(measurement.c.exam_key == exam_key))]
    for r in rows:
        src = sources.get(r["sop_instance_uid"], {})
        r["key"] = r.get("report_key") or r.get("item_key")
        r["name"] = r.get("name_zh") or r.get("name_en") or r.get("concept_meaning") or ""
        r["unit_display"] = unit_label(r["unit"]) if r.get("unit") else (r.get("raw_unit") or "")
        r["value_display"] = (_number(r["num_value"]) if r.get("num_value") is not None
                              else (r.get("value_zh") or r.get("raw_value") or ""))  # a coded finding: its Chinese
        r["mapped"] = r.get("item_key") is not None
        r["current"] = bool(r.get("report_key")) and not r.get("superseded_by")
        r["state"] = ("current" if r["current"] else "superseded" if r.get("superseded_by")
                      else "unmapped" if not r["mapped"] else "not reported")
        r["source_short"] = short_uid(r["sop_instance_uid"])
        r["source_time"] = src.get("content_at") or src.get("received_at")
        r["source_model"] = src.get("model_label", "")
        r["superseded_short"] = short_uid(r.get("superseded_by"))
        r["context_text"] = context_text(r.get("context"))
    order = {"current": 0, "superseded": 1, "not reported": 2, "unmapped": 3}
    rows.sort(key=lambda r: (order[r["state"]], str(r["key"] or r.get("concept_code") or ""), r["measurement_id"]))
    return rows


def _number(value: float) -> str:
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"
