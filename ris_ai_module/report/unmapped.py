"""Unknown codes, seen once and mapped once: the distinct unmapped concepts of RAI_MEASUREMENT (scheme, code,
meaning, unit, context), how often and on which exams, with example values; written as draft rows of a
hospital overlay CSV (``sr.catalog_overlay``) for the engineer to complete with a key."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ris_ai_module.db.tables import measurement
from ris_ai_module.report.trace_view import context_text

#: Rows read at most (the newest first): enough to see every concept a site's AI host sends.
MAX_ROWS = 50_000
#: The overlay's columns (the catalog's rules format, with the optional key definition columns).
OVERLAY_COLUMNS = ("key", "concept", "context", "manufacturer", "model", "unit", "name_en", "name_zh", "source")


@dataclass
class Unmapped:
    scheme: str
    code: str
    meaning: str
    unit: str
    count: int = 0
    exams: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    contexts: list[str] = field(default_factory=list)
    last_seen: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"scheme": self.scheme, "code": self.code, "meaning": self.meaning, "unit": self.unit,
                "count": self.count, "exams": self.exams, "examples": self.examples, "contexts": self.contexts,
                "last_seen": self.last_seen}


def unmapped_concepts(conn: Connection, since: datetime | None = None, limit: int = 200,
                      only_exams: Any = None) -> list[Unmapped]:
    """Distinct unmapped concepts, most often seen first; ``only_exams`` (a SELECT of exam keys: an account's
    campuses) counts only those exams' measurements."""
    m = measurement
    stmt = (select(m.c.concept_scheme, m.c.concept_code, m.c.concept_meaning, m.c.raw_unit, m.c.raw_value,
                   m.c.num_value, m.c.unit, m.c.exam_key, m.c.context, m.c.created_at)
            .where(m.c.item_key.is_(None)).order_by(m.c.measurement_id.desc()).limit(MAX_ROWS))
    if only_exams is not None:
        stmt = stmt.where(m.c.exam_key.in_(only_exams))
    if since is not None:
        stmt = stmt.where(m.c.created_at >= since)
    found: dict[tuple[str, str, str, str], Unmapped] = {}
    for r in conn.execute(stmt):
        unit = r.raw_unit or r.unit or ""
        key = (r.concept_scheme or "", r.concept_code or "", r.concept_meaning or "", unit)
        u = found.setdefault(key, Unmapped(*key))
        u.count += 1
        if r.exam_key and r.exam_key not in u.exams and len(u.exams) < 20:
            u.exams.append(r.exam_key)
        value = r.raw_value if r.raw_value is not None else (None if r.num_value is None else f"{r.num_value:g}")
        if value is not None and value not in u.examples and len(u.examples) < 5:
            u.examples.append(value)
        ctx = context_text(r.context)
        if ctx and ctx not in u.contexts and len(u.contexts) < 5:
            u.contexts.append(ctx)
        at = r.created_at if not isinstance(r.created_at, str) else datetime.fromisoformat(r.created_at)
        u.last_seen = max(u.last_seen, at) if u.last_seen else at
    return sorted(found.values(), key=lambda u: (-u.count, u.scheme, u.code))[:limit]


def overlay_csv(concepts: list[Unmapped]) -> str:
    """Draft overlay rows: ``key`` is left empty for the engineer (the catalog refuses a rule without one,
    naming file and line, so a draft cannot be loaded by mistake)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(OVERLAY_COLUMNS)
    for u in concepts:
        code = f"{u.scheme}:{u.code}" if u.scheme and u.code else (f"~{u.meaning}" if u.meaning else "")
        note = (f"draft from `ris-ai-module unmapped`: seen {u.count}x on {len(u.exams)} exam(s), e.g. "
                f"{', '.join(u.examples[:3])} {u.unit}".strip())
        if u.contexts:
            note += f"; context {u.contexts[0]}"
        w.writerow(["", code, "", "", "", u.unit, u.meaning, "", note])
    return out.getvalue()


def to_json_rows(concepts: list[Unmapped]) -> str:
    return json.dumps([u.to_dict() for u in concepts], ensure_ascii=False, default=str, indent=2)
