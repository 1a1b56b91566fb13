"""Storage Commitment Push Model (PS3.4 Annex J): the data both directions share.

The SOP class and its well-known instance, the Failure Reasons (PS3.3 C.14.1.1), the Action/Event
Information data sets (PS3.4 Table J.3-1, J.3-2), the transactions kept in RAI_STGCMT (IN: a peer asked
us; OUT: we asked the archive) and the archive's commitment per object in RAI_OBJECT, which retention reads
through :func:`is_committed` / :func:`committed_clause` ("forwarded and committed, where asked").
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.tables import dicom_object, stgcmt, task

SOP_CLASS = "1.2.840.10008.1.20.1"
#: The one SOP instance every N-ACTION and N-EVENT-REPORT of this class names (PS3.4 J.3.5).
SOP_INSTANCE = "1.2.840.10008.1.20.1.1"
ACTION_REQUEST = 1
EVENT_ALL_SUCCESS = 1
EVENT_FAILURES = 2

#: Failure Reason (0008,1197), PS3.3 C.14.1.1.
PROCESSING_FAILURE = 0x0110
NO_SUCH_OBJECT = 0x0112
RESOURCE_LIMITATION = 0x0213
CLASS_NOT_SUPPORTED = 0x0122
CLASS_INSTANCE_CONFLICT = 0x0119
DUPLICATE_TRANSACTION = 0x0131
REASONS = {
    PROCESSING_FAILURE: "processing failure",
    NO_SUCH_OBJECT: "no such object instance",
    RESOURCE_LIMITATION: "resource limitation",
    CLASS_NOT_SUPPORTED: "referenced SOP class not supported",
    CLASS_INSTANCE_CONFLICT: "class/instance conflict",
    DUPLICATE_TRANSACTION: "duplicate transaction UID",
}

IN, OUT = "IN", "OUT"
# IN states: the report is owed (PENDING), being sent (SENDING), or sent (REPORTED).
PENDING, SENDING, REPORTED = "PENDING", "SENDING", "REPORTED"
# OUT states: asked (REQUESTED), answered (COMMITTED / FAILED), or given up for a newer request (EXPIRED).
REQUESTED, COMMITTED, FAILED, EXPIRED = "REQUESTED", "COMMITTED", "FAILED", "EXPIRED"
SAME, NEW = "SAME", "NEW"


def reason_text(code: int) -> str:
    return f"0x{code:04X} {REASONS.get(code, 'failure')}"


Ref = tuple[str, str]  # (SOP Class UID, SOP Instance UID)
Failure = tuple[str, str, int]  # (class, instance, Failure Reason)


@dataclass(frozen=True)
class Transaction:
    """One RAI_STGCMT row."""

    transaction_uid: str
    direction: str
    state: str
    peer_ae: str | None
    peer_address: str | None
    task_id: int | None
    instances: list[Ref]
    failures: list[Failure]
    event_type: int | None
    channel: str | None
    requested_at: datetime
    answered_at: datetime | None
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> Transaction:
        m = row._mapping
        return cls(m["transaction_uid"], m["direction"], m["state"], m["peer_ae"], m["peer_address"],
                   None if m["task_id"] is None else int(m["task_id"]),
                   [tuple(r) for r in json.loads(m["instances"] or "[]")],  # type: ignore[misc]
                   [tuple(r) for r in json.loads(m["failures"] or "[]")],  # type: ignore[misc]
                   m["event_type"], m["channel"], _dt(m["requested_at"]), _dt(m["answered_at"]),
                   _dt(m["updated_at"]))


def _dt(value: Any) -> Any:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


# -- the data sets ---------------------------------------------------------------------------------------


def action_information(transaction_uid: str, refs: Sequence[Ref]) -> Dataset:
    """PS3.4 Table J.3-1: Transaction UID and the Referenced SOP Sequence."""
    ds = Dataset()
    ds.TransactionUID = transaction_uid
    ds.ReferencedSOPSequence = DicomSequence([_ref_item(c, i) for c, i in refs])
    return ds


def event_information(transaction_uid: str, committed: Sequence[Ref], failed: Sequence[Failure]) -> Dataset:
    """PS3.4 Table J.3-2: Transaction UID, Referenced SOP Sequence (committed) and, when failures exist,
    Failed SOP Sequence with a Failure Reason per item."""
    ds = Dataset()
    ds.TransactionUID = transaction_uid
    if committed:
        ds.ReferencedSOPSequence = DicomSequence([_ref_item(c, i) for c, i in committed])
    if failed:
        items = []
        for c, i, reason in failed:
            item = _ref_item(c, i)
            item.FailureReason = reason
            items.append(item)
        ds.FailedSOPSequence = DicomSequence(items)
    return ds


def _ref_item(sop_class: str, sop_instance: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = sop_class
    item.ReferencedSOPInstanceUID = sop_instance
    return item


def read_refs(ds: Dataset | None, keyword: str = "ReferencedSOPSequence") -> list[Ref] | None:
    """The (class, instance) pairs of a reference sequence; None when an item lacks either UID."""
    refs: list[Ref] = []
    for item in (ds.get(keyword) or []) if ds is not None else []:
        c, i = str(item.get("ReferencedSOPClassUID", "") or ""), str(item.get("ReferencedSOPInstanceUID", "") or "")
        if not c or not i:
            return None
        refs.append((c, i))
    return refs


def read_failures(ds: Dataset | None) -> list[Failure]:
    out: list[Failure] = []
    for item in (ds.get("FailedSOPSequence") or []) if ds is not None else []:
        reason = item.get("FailureReason")
        out.append((str(item.get("ReferencedSOPClassUID", "") or ""), str(item.get("ReferencedSOPInstanceUID", "") or ""),
                    int(reason) if reason is not None else PROCESSING_FAILURE))
    return out


# -- RAI_STGCMT ------------------------------------------------------------------------------------------


def get(conn: Connection, transaction_uid: str) -> Transaction | None:
    row = conn.execute(select(stgcmt).where(stgcmt.c.transaction_uid == transaction_uid)).first()
    return Transaction.from_row(row) if row else None


def of_task(conn: Connection, task_id: int, direction: str) -> list[Transaction]:
    """A task's transactions, oldest first."""
    rows = conn.execute(select(stgcmt).where(stgcmt.c.task_id == task_id, stgcmt.c.direction == direction)
                        .order_by(stgcmt.c.requested_at, stgcmt.c.transaction_uid))
    return [Transaction.from_row(r) for r in rows]


def add(conn: Connection, transaction_uid: str, direction: str, state: str, peer_ae: str | None,
        peer_address: str | None, refs: Sequence[Ref], task_id: int | None = None) -> None:
    now = utcnow()
    conn.execute(insert(stgcmt).values(
        transaction_uid=transaction_uid, direction=direction, state=state, peer_ae=(peer_ae or "")[:16] or None,
        peer_address=(peer_address or "")[:64] or None, task_id=task_id,
        instances=json.dumps([list(r) for r in refs]), requested_at=now, updated_at=now))


def move(conn: Connection, transaction_uid: str, from_states: Iterable[str], to_state: str, **values: Any) -> bool:
    """A guarded state change (``WHERE state IN from_states``); True when it took effect."""
    if "failures" in values and values["failures"] is not None:
        values["failures"] = json.dumps([list(f) for f in values["failures"]])
    if "detail" in values and values["detail"] is not None:
        values["detail"] = str(values["detail"])[:1000]
    res = conn.execute(update(stgcmt).where(stgcmt.c.transaction_uid == transaction_uid,
                                            stgcmt.c.state.in_(list(from_states)))
                       .values(state=to_state, updated_at=utcnow(), **values))
    return res.rowcount == 1


# -- the archive's commitment per object (OUT) -----------------------------------------------------------


def mark_requested(conn: Connection, sop_instance_uid: str, transaction_uid: str) -> None:
    conn.execute(update(dicom_object).where(dicom_object.c.sop_instance_uid == sop_instance_uid)
                 .values(commit_requested_at=utcnow(), commit_uid=transaction_uid))


def commitment_of(conn: Connection, sop_instance_uid: str) -> tuple[str | None, datetime | None]:
    """(the object's current request's Transaction UID, when the archive committed to it)."""
    row = conn.execute(select(dicom_object.c.commit_uid, dicom_object.c.committed_at)
                       .where(dicom_object.c.sop_instance_uid == sop_instance_uid)).first()
    return (None, None) if row is None else (row[0], _dt(row[1]))


def close_request(conn: Connection, sop_instance_uid: str, transaction_uid: str) -> None:
    """The object's failed request has been reported by its task: the next ask (``retry``) starts anew."""
    conn.execute(update(dicom_object).where(dicom_object.c.sop_instance_uid == sop_instance_uid,
                                            dicom_object.c.commit_uid == transaction_uid).values(commit_uid=None))


def mark_answer(conn: Connection, committed: Sequence[Ref], failed: Sequence[Failure]) -> None:
    """Record the archive's answer on each object it names (a later success clears an earlier failure)."""
    now = utcnow()
    for _c, sop in committed:
        conn.execute(update(dicom_object).where(dicom_object.c.sop_instance_uid == sop)
                     .values(committed_at=now, commit_failure=None))
    for _c, sop, reason in failed:
        conn.execute(update(dicom_object).where(dicom_object.c.sop_instance_uid == sop,
                                                dicom_object.c.committed_at.is_(None))
                     .values(commit_failure=reason_text(reason)[:200]))


def mark_unanswered(conn: Connection, sop_instance_uid: str, why: str) -> None:
    conn.execute(update(dicom_object).where(dicom_object.c.sop_instance_uid == sop_instance_uid,
                                            dicom_object.c.committed_at.is_(None))
                 .values(commit_failure=why[:200]))


def is_committed(conn: Connection, sop_instance_uid: str) -> bool:
    """True once the archive committed to keep this object (a Storage Commitment N-EVENT-REPORT named it
    in its Referenced SOP Sequence). Retention: with ``archive.commitment.enabled``, an object is "forwarded
    and committed" only when this is True; with it off, commitment is not asked and does not apply."""
    row = conn.execute(select(dicom_object.c.committed_at)
                       .where(dicom_object.c.sop_instance_uid == sop_instance_uid)).first()
    return row is not None and row[0] is not None


def committed_clause() -> ColumnElement[bool]:
    """The same as a WHERE condition on RAI_OBJECT, for a retention sweep over many rows."""
    return dicom_object.c.committed_at.is_not(None)


def commitment_counts(conn: Connection, only_exams: Any = None) -> dict[str, int]:
    """Storage Commitment at a glance, from RAI_STGCMT's (direction, state) index: requests to the archive
    committed, refused (failures exist), waiting for the report, given up unanswered; reports we still owe
    to a peer. These count requests (one request lists an exam's objects); per object, see
    :func:`object_commitment_counts`. ``only_exams`` (an account's campuses): only requests whose
    STGCMT_REQUEST task is of those exams (a peer's request to us names no exam: not counted)."""
    query = select(stgcmt.c.direction, stgcmt.c.state, func.count()).group_by(stgcmt.c.direction, stgcmt.c.state)
    if only_exams is not None:
        query = query.where(stgcmt.c.task_id.in_(select(task.c.task_id).where(task.c.exam_key.in_(only_exams))))
    counts = {(d, st): int(n) for d, st, n in conn.execute(query)}
    return {"committed": counts.get((OUT, COMMITTED), 0),
            "failed": counts.get((OUT, FAILED), 0) + counts.get((OUT, "CLOSED"), 0),
            "waiting": counts.get((OUT, REQUESTED), 0),
            "expired": counts.get((OUT, EXPIRED), 0),
            "reports_owed": counts.get((IN, PENDING), 0) + counts.get((IN, SENDING), 0),
            "reported": counts.get((IN, REPORTED), 0)}


#: The archive's commitment of one object, as ``objects`` shows it.
NOT_ASKED, ASKED, OBJECT_COMMITTED, OBJECT_FAILED = "-", "requested", "committed", "failed"


def object_commitments(conn: Connection, sops: Sequence[str]) -> dict[str, dict[str, Any]]:
    """SOP Instance UID -> {state: requested / committed / failed / "-", at: when (naive UTC), reason} from
    RAI_OBJECT (COMMIT_REQUESTED_AT, COMMITTED_AT, COMMIT_FAILURE): the archive's answer per object."""
    o = dicom_object
    out: dict[str, dict[str, Any]] = {}
    for chunk in range(0, len(sops), 500):
        for row in conn.execute(select(o.c.sop_instance_uid, o.c.commit_requested_at, o.c.committed_at,
                                       o.c.commit_failure).where(o.c.sop_instance_uid.in_(list(sops[chunk:chunk + 500])))):
            if row.committed_at is not None:
                out[row.sop_instance_uid] = {"state": OBJECT_COMMITTED, "at": _dt(row.committed_at), "reason": None}
            elif row.commit_failure:
                out[row.sop_instance_uid] = {"state": OBJECT_FAILED, "at": _dt(row.commit_requested_at),
                                             "reason": row.commit_failure}
            elif row.commit_requested_at is not None:
                out[row.sop_instance_uid] = {"state": ASKED, "at": _dt(row.commit_requested_at), "reason": None}
            else:
                out[row.sop_instance_uid] = {"state": NOT_ASKED, "at": None, "reason": None}
    return out


def object_commitment_counts(conn: Connection, since: datetime | None = None,
                             until: datetime | None = None) -> dict[str, int]:
    """Objects (not requests): committed by the archive (in the period, when given), refused or unanswered
    (COMMIT_FAILURE, now), asked and waiting for the answer (now)."""
    o = dicom_object

    def count(*where: Any) -> int:
        return int(conn.execute(select(func.count()).select_from(o).where(*where)).scalar_one())

    period = () if since is None or until is None else (o.c.committed_at >= since, o.c.committed_at < until)
    return {"committed": count(o.c.committed_at.is_not(None), *period),
            "not_committed": count(o.c.committed_at.is_(None), o.c.commit_failure.is_not(None)),
            "waiting": count(o.c.committed_at.is_(None), o.c.commit_failure.is_(None),
                             o.c.commit_requested_at.is_not(None))}


def record_report(conn: Connection, transaction_uid: str, event_type: int, info: Dataset | None,
                  channel: str) -> tuple[Transaction | None, str]:
    """The archive's N-EVENT-REPORT for one of our requests (OUT): the transaction answered, each object it
    names that the request asked about marked committed or failed, the request's task made due.

    Returns (the transaction, what happened in words); (None, why) for an unknown Transaction UID. Objects the
    report names that the request did not ask about are ignored (an archive cannot commit what we never
    asked). A second report for an answered transaction changes nothing.
    """
    from ris_ai_module.tasks import queue

    t = get(conn, transaction_uid)
    if t is None or t.direction != OUT:
        return None, f"Transaction UID {transaction_uid} is not one of our requests"
    if t.state in (COMMITTED, FAILED):
        return t, f"already answered ({t.state})"
    asked = {sop: cls for cls, sop in t.instances}
    committed = [(c, i) for c, i in (read_refs(info) or []) if i in asked]
    failed = [(c, i, r) for c, i, r in read_failures(info) if i in asked]
    answered = {i for _c, i in committed} | {i for _c, i, _r in failed}
    failed += [(asked[i], i, NO_SUCH_OBJECT) for i in asked if i not in answered]  # left out of the report
    state = COMMITTED if event_type == EVENT_ALL_SUCCESS and not failed else FAILED
    detail = f"event {event_type}: {len(committed)} committed, {len(failed)} failed" + (
        ": " + ", ".join(f"{i} {reason_text(r)}" for _c, i, r in failed[:5]) if failed else "")
    if not move(conn, transaction_uid, [REQUESTED, EXPIRED], state, event_type=event_type, failures=failed,
                channel=channel, answered_at=utcnow(), detail=detail):
        return get(conn, transaction_uid), "already answered"
    mark_answer(conn, committed, failed)
    late = {i for _c, i in committed}
    for task_id, sop in _request_tasks(conn, t):
        if not queue.run_now(conn, task_id) and sop in late:
            # a late answer after the task gave up: the task runs once more and ends DONE (the trace agrees)
            if queue.get_task(conn, task_id)["status"] == "FAILED":
                queue.requeue(conn, task_id)
    return get(conn, transaction_uid), detail


def _request_tasks(conn: Connection, t: Transaction) -> list[tuple[int, str]]:
    """(task, object) of the STGCMT_REQUEST tasks of the objects a request named (one request lists an exam's
    objects; each has its own task): the asking task and those of the other objects, by the objects' exams."""
    from ris_ai_module.db.tables import task

    sops = {sop for _c, sop in t.instances}
    exams = {e for e in conn.execute(select(dicom_object.c.exam_key).where(
        dicom_object.c.sop_instance_uid.in_(sorted(sops)))).scalars() if e}
    found: dict[int, str] = {}
    if exams:
        for task_id, payload in conn.execute(select(task.c.task_id, task.c.payload).where(
                task.c.kind == "STGCMT_REQUEST", task.c.exam_key.in_(sorted(exams)),
                task.c.status.in_(("SCHEDULED", "FAILED")))):
            try:
                sop = str(json.loads(payload or "{}").get("sop_instance_uid") or "")
            except ValueError:
                continue
            if sop in sops:
                found[int(task_id)] = sop
    if t.task_id is not None and t.task_id not in found and len(sops) == 1:
        found[t.task_id] = next(iter(sops))
    return sorted(found.items())

