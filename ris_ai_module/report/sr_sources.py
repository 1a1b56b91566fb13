"""RAI_SR_SOURCE: the provenance of every SR read (device, software, algorithm, observer), one row per SR."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.tables import sr_source
from ris_ai_module.sr.provenance import Provenance


def _cut(value: str | None, n: int) -> str | None:
    return (value or None) and value[:n]  # type: ignore[index]


def save(conn: Connection, exam_key: str | None, p: Provenance) -> None:
    """Upsert the SR's row (a re-apply after a mapping change reads the same header again)."""
    values: dict[str, Any] = {
        "exam_key": exam_key, "manufacturer": _cut(p.manufacturer, 64), "model": _cut(p.model, 64),
        "software_versions": _cut(p.software_versions, 200), "device_serial": _cut(p.device_serial, 64),
        "algorithm_name": _cut(p.algorithm_name, 200), "algorithm_version": _cut(p.algorithm_version, 64),
        "observer": _cut(json.dumps(p.observer, ensure_ascii=False), 1000) if p.observer else None,
        "content_at": p.content_at, "instance_at": p.instance_at,
        "predecessors": _cut(json.dumps(p.predecessors), 1000) if p.predecessors else None,
        "device_key": _cut(p.device_key, 200), "completion_flag": _cut(p.completion_flag, 16),
        "verification_flag": _cut(p.verification_flag, 16), "read_at": utcnow(),
    }
    t = sr_source
    done = conn.execute(update(t).where(t.c.sop_instance_uid == p.sop_instance_uid).values(values)).rowcount
    if not done:
        conn.execute(insert(t).values(sop_instance_uid=p.sop_instance_uid, **values))


def for_exam(conn: Connection, exam_key: str) -> dict[str, dict[str, Any]]:
    """SOP Instance UID -> provenance row (with ``model_label``) of the exam's SRs."""
    out: dict[str, dict[str, Any]] = {}
    for row in conn.execute(select(sr_source).where(sr_source.c.exam_key == exam_key)):
        d = dict(row._mapping)
        d["observer"] = json.loads(d["observer"]) if d.get("observer") else {}
        d["predecessors"] = json.loads(d["predecessors"]) if d.get("predecessors") else []
        d["model_label"] = label(d)
        out[d["sop_instance_uid"]] = d
    return out


def label(row: dict[str, Any]) -> str:
    """``EchoAI v2.1`` from a stored row (the same words as Provenance.model_label)."""
    return Provenance(
        manufacturer=row.get("manufacturer") or "", model=row.get("model") or "",
        software_versions=row.get("software_versions") or "", algorithm_name=row.get("algorithm_name") or "",
        algorithm_version=row.get("algorithm_version") or "",
    ).model_label


def notice(labels: Iterable[str]) -> str:
    """The findings block's last line: ``（以上为AI测量值：Acme EchoAI v3.2.1，待医生确认。）``."""
    models = "、".join(dict.fromkeys(x for x in labels if x))
    return f"（以上为AI测量值{'：' + models if models else ''}，待医生确认。）"


def labels_for(conn: Connection, sop_uids: Iterable[str]) -> dict[str, str]:
    """SOP Instance UID -> model label, for the SRs given."""
    wanted = list(dict.fromkeys(sop_uids))
    if not wanted:
        return {}
    rows = conn.execute(select(sr_source).where(sr_source.c.sop_instance_uid.in_(wanted)))
    return {r.sop_instance_uid: label(dict(r._mapping)) for r in rows}
