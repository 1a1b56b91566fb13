"""The audit log for the audit administrator: rows by period and a CSV export signed with a hash chain
(GB/T 22239-2019 8.1.4.3 安全审计). Retention and purge are ``ris_ai_module.audit``'s.

Chain: ``h0 = SHA-256("ris-ai-module audit export v1" | from | to | exported_at)``, then for each row
``h_i = SHA-256(h_{i-1} | fields of row i)`` in the row's ``chain`` column, and a closing ``END`` row with
the row count and the head ``h_n``. An edited row breaks its own hash, a deleted row the next one, a cut
tail the END row; the head is also written into RAI_AUDIT (action ``audit_export``) and sent as
``X-Audit-Chain-Head``, so that even a file whose every hash was recomputed is caught against that record.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ris_ai_module.db.tables import audit

COLUMNS = ("audit_id", "audit_at", "actor", "source", "action", "target", "detail", "ok")
VERSION = "ris-ai-module audit export v1"
SEP = "\x1f"  # unit separator: cannot come from a CSV field boundary


def read_rows(conn: Connection, since: dt.datetime | None, until: dt.datetime | None, limit: int | None = None,
              actor: str | None = None, action: str | None = None,
              actors: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The rows of a period; ``actors`` (an auditor limited to campuses: its campuses' accounts) keeps to
    rows whose actor is one of them."""
    query = select(*(audit.c[c] for c in COLUMNS)).order_by(audit.c.audit_id)
    if actors is not None:
        query = query.where(audit.c.actor.in_(list(actors)))
    if since is not None:
        query = query.where(audit.c.audit_at >= since)
    if until is not None:
        query = query.where(audit.c.audit_at < until)
    if actor:
        query = query.where(audit.c.actor == actor)
    if action:
        query = query.where(audit.c.action == action)
    if limit is not None:
        query = query.order_by(None).order_by(audit.c.audit_id.desc()).limit(limit)
    rows = [dict(r._mapping) for r in conn.execute(query)]
    return sorted(rows, key=lambda r: r["audit_id"])


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat(timespec="microseconds")
    return str(value)


def _step(previous: str, fields: Sequence[str]) -> str:
    return hashlib.sha256((previous + SEP + SEP.join(fields)).encode("utf-8")).hexdigest()


def seed(since: str, until: str, exported_at: str) -> str:
    return hashlib.sha256(SEP.join((VERSION, since, until, exported_at)).encode("utf-8")).hexdigest()


def export_csv(rows: Iterable[dict[str, Any]], since: str, until: str, exported_at: str) -> tuple[str, str, int]:
    """(CSV text, chain head, row count). The first row names the export; the last is END."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([VERSION, since, until, exported_at])
    writer.writerow([*COLUMNS, "chain"])
    head = seed(since, until, exported_at)
    count = 0
    for row in rows:
        fields = [_text(row[c]) for c in COLUMNS]
        head = _step(head, fields)
        writer.writerow([*fields, head])
        count += 1
    writer.writerow(["END", str(count), *([""] * (len(COLUMNS) - 2)), head])
    return out.getvalue(), head, count


def verify_csv(text: str, expected_head: str | None = None) -> tuple[bool, str]:
    """(ok, what was found): the first row whose hash does not follow, a missing END, a wrong count or head."""
    lines: Iterator[list[str]] = csv.reader(io.StringIO(text))
    try:
        title = next(lines)
        header = next(lines)
    except StopIteration:
        return False, "not an audit export: fewer than two lines"
    if len(title) != 4 or title[0] != VERSION or header != [*COLUMNS, "chain"]:
        return False, "not an audit export of this version (first two lines)"
    head = seed(*title[1:4])
    count = 0
    for number, row in enumerate(lines, start=3):
        if row and row[0] == "END":
            if row[1] != str(count):
                return False, f"line {number}: END says {row[1]} rows, the file has {count} (rows cut or added)"
            if row[-1] != head:
                return False, f"line {number}: END chain head does not match the rows"
            if expected_head is not None and head != expected_head:
                return False, "the chain head differs from the one recorded at export (file rewritten)"
            return True, f"{count} rows, chain intact, head {head}"
        if len(row) != len(COLUMNS) + 1:
            return False, f"line {number}: expected {len(COLUMNS) + 1} fields, got {len(row)}"
        head = _step(head, row[:-1])
        if row[-1] != head:
            return False, f"line {number}: chain broken (audit_id {row[0]}: this row or one before it was " \
                          "edited, deleted or inserted)"
        count += 1
    return False, "no END row: the file was cut"

