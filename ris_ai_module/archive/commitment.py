"""Storage Commitment SCU towards the archive (``[archive.commitment]``, PS3.4 J.3): after an object is
forwarded, a STGCMT_REQUEST task asks the archive to commit to it and keeps the answer.

One request lists an exam's objects (PS3.4 J.3.2: the Referenced SOP Sequence of one N-ACTION names many
instances, and archives expect a study's objects together): an object's task waits ``batch_delay`` after its
forward, and the first one to run asks for itself and every object of the same exam whose task is waiting and
that has no open request, with a new Transaction UID recorded in RAI_STGCMT *before* it is sent (so an answer on a
new association always finds it). Each object's current request is RAI_OBJECT.COMMIT_UID; each task concludes on
its own object: committed, failed with that object's Failure Reason, or unanswered. The association is kept open
``wait_on_association`` for the N-EVENT-REPORT; without it the task waits ``timeout`` (our SCP records a report
that comes on a new association and makes the waiting tasks of its objects due at once). A request unanswered
after ``timeout`` is EXPIRED and asked again, up to ``retry.max_attempts`` attempts (the last one only looks:
with 5, the archive is asked at most 4 times); then the task fails "no N-EVENT-REPORT" and so does the object's
COMMIT_FAILURE.

Answers per object on RAI_OBJECT: COMMIT_REQUESTED_AT, COMMITTED_AT, COMMIT_FAILURE (the Failure Reason).
A failure answer fails the task with the reason; ``retry`` asks again. ``is_committed`` is what retention reads.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pynetdicom import evt
from sqlalchemy import select
from sqlalchemy.engine import Engine

from ris_ai_module.db.clock import utcnow
from ris_ai_module.dicom import index
from ris_ai_module.dicom import stgcmt as sc
from ris_ai_module.dicom.release import release
from ris_ai_module.dicom.stgcmt import committed_clause, is_committed  # noqa: F401  (retention's entry points)
from ris_ai_module.dicom.stgcmt_scp import associate, commitment_ae, new_transaction_uid
from ris_ai_module.tasks import queue
from ris_ai_module.tasks.model import Attempt, Outcome, Task, TaskKind
from ris_ai_module.tasks.retry import RetryPolicy

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from ris_ai_module.dicom.archive_section import ArchiveConfig
    from ris_ai_module.settings import Config

log = logging.getLogger(__name__)

#: A FAILED answer the task has reported (rows of before batching): a manual ``retry`` asks again.
CLOSED = "CLOSED"
#: At most this many objects in one N-ACTION (a few hundred references are a few tens of KB).
MAX_BATCH = 500


def enqueue_request(conn: Connection, cfg: ArchiveConfig, sop_instance_uid: str, exam_key: str | None) -> int | None:
    """The STGCMT_REQUEST task for a forwarded object, when commitment is asked of this archive."""
    if not (cfg.enabled and cfg.commitment.enabled):
        return None
    run_at = utcnow() + timedelta(seconds=float(cfg.commitment.batch_delay))  # the exam's burst, asked together
    return queue.enqueue(conn, TaskKind.STGCMT_REQUEST, exam_key=exam_key, payload={"sop_instance_uid": sop_instance_uid},
                         run_at=run_at)


class StgcmtRequestHandler:
    """STGCMT_REQUEST: the archive's commitment for ``payload.sop_instance_uid``."""

    kind = TaskKind.STGCMT_REQUEST

    def __init__(self, engine: Engine, config: Config) -> None:
        self.engine = engine
        self.cfg = config.archive
        self.calling = config.archive.calling_ae_title or config.dicom.ae_title
        self.retry_policy = RetryPolicy.from_config(self.cfg.commitment.retry)

    def handle(self, task: Task) -> Outcome:
        target = self.cfg.target
        sop = str(task.payload.get("sop_instance_uid") or "")
        timeout = float(self.cfg.commitment.timeout)
        with self.engine.connect() as conn:
            obj = index.get_object(conn, sop) if sop else None
            own = sc.of_task(conn, task.task_id, sc.OUT)
            commit_uid, committed_at = sc.commitment_of(conn, sop)
            current = sc.get(conn, commit_uid) if commit_uid else None
        if obj is None:
            return Outcome.failed(f"object {sop or '(none)'} is not in RAI_OBJECT", Attempt(target=target))
        if committed_at is not None:  # a report named it committed (this request, an earlier or a late one)
            return self._committed(current, target)
        if current is not None and current.state in (sc.COMMITTED, sc.FAILED):
            return self._conclude(current, sop, target)
        final = self.retry_policy.next_delay(task.attempts) is None
        if current is not None and current.state == sc.REQUESTED:
            age = (utcnow() - current.requested_at).total_seconds()
            if age < timeout and not final:
                return Outcome.retry("waiting for the N-EVENT-REPORT", Attempt(target=target, status_text="waiting"),
                                     after=timeout - age)
            with self.engine.begin() as conn:
                sc.move(conn, current.transaction_uid, [sc.REQUESTED], sc.EXPIRED,
                        detail=f"no N-EVENT-REPORT within {int(age)} s")
        asked = {t.transaction_uid for t in own} | ({current.transaction_uid} if current is not None else set())
        if final and asked:
            why = f"no N-EVENT-REPORT from {target} within {int(timeout)} s of {len(asked)} request(s)"
            with self.engine.begin() as conn:
                sc.mark_unanswered(conn, sop, why)
            return Outcome.failed(why, Attempt(target=target, status_text="no answer"))
        return self._ask(obj, task, target, final)

    def _committed(self, t: sc.Transaction | None, target: str) -> Outcome:
        words = f"event {t.event_type} ({t.channel} association)" if t is not None and t.event_type else "committed"
        return Outcome.done(Attempt(target=target, status_text=words,
                                    response=self._detail(t.transaction_uid) if t is not None else None))

    def _conclude(self, t: sc.Transaction, sop: str, target: str) -> Outcome:
        """The answer to the object's current request, for this object alone (a batch's other objects have their
        own tasks). A failure closes the object's request (COMMIT_UID cleared): ``retry`` asks again."""
        attempt = Attempt(target=target, status_text=f"event {t.event_type} ({t.channel} association)",
                          response=self._detail(t.transaction_uid))
        reasons = [r for _c, i, r in t.failures if i == sop]
        if t.state == sc.COMMITTED or not reasons:
            return Outcome.done(attempt)
        with self.engine.begin() as conn:
            sc.close_request(conn, sop, t.transaction_uid)
        return Outcome.failed(f"{target} does not commit: {', '.join(sc.reason_text(r) for r in reasons)}", attempt)

    def _ask(self, obj: Any, task: Task, target: str, final: bool) -> Outcome:
        if final:  # the policy leaves no attempt to wait for an answer
            return Outcome.failed(f"no commitment from {target}: retry attempts used up", Attempt(target=target))
        sop = obj.sop_instance_uid
        uid = new_transaction_uid()
        with self.engine.begin() as conn:
            refs = [(obj.sop_class_uid, sop)] + self._siblings(conn, obj, task.task_id)
            sc.add(conn, uid, sc.OUT, sc.REQUESTED, self.cfg.ae_title, self.cfg.host, refs, task_id=task.task_id)
            for _c, ref in refs:
                sc.mark_requested(conn, ref, uid)
        ok, status_text, detail, ms = self.request(uid, refs)
        if len(refs) > 1:
            detail = f"{len(refs)} objects of exam {obj.exam_key} in one request; {detail}"
        attempt = Attempt(target=target, status_text=status_text, latency_ms=ms, response=detail)
        if not ok:
            with self.engine.begin() as conn:
                sc.move(conn, uid, [sc.REQUESTED], sc.EXPIRED, detail=f"N-ACTION: {status_text} {detail}")
            return Outcome.retry(f"{target}: {status_text} {detail}", attempt)
        with self.engine.connect() as conn:
            t = sc.get(conn, uid)
            committed = sc.commitment_of(conn, sop)[1] is not None
        if committed or t is not None and t.state in (sc.COMMITTED, sc.FAILED):
            out = self._committed(t, target) if committed else self._conclude(t, sop, target)  # type: ignore[arg-type]
            return type(out)(out.kind, out.error, Attempt(target=target, status_text=out.attempt.status_text,
                                                          latency_ms=ms, response=out.attempt.response))
        log.info("storage commitment of %d object(s) of exam %s asked of %s (%s); waiting for the report", len(refs),
                 obj.exam_key, target, uid, extra={"action": "stgcmt_asked", "task_id": task.task_id})
        return Outcome.retry(f"N-ACTION accepted ({status_text}); waiting for the N-EVENT-REPORT", attempt,
                             after=float(self.cfg.commitment.timeout))

    def _siblings(self, conn: Connection, obj: Any, task_id: int) -> list[sc.Ref]:
        """The exam's other objects asked with this one: their STGCMT_REQUEST task waits (or was claimed in the same
        worker batch: it then finds its object asked and waits for the report), they are not committed and have no
        request open (none yet, or it expired). Another worker asking for one of them meanwhile asks it twice: each
        answer is recorded on the object, the later request is its current one."""
        from ris_ai_module.db.tables import dicom_object, task

        if not obj.exam_key:
            return []
        waiting: set[str] = set()
        for payload in conn.execute(select(task.c.payload).where(
                task.c.exam_key == obj.exam_key, task.c.kind == TaskKind.STGCMT_REQUEST.value,
                task.c.status.in_(("SCHEDULED", "IN_PROCESS")), task.c.task_id != task_id)).scalars():
            try:
                waiting.add(str(json.loads(payload or "{}").get("sop_instance_uid") or ""))
            except ValueError:
                continue
        waiting.discard(obj.sop_instance_uid)
        waiting.discard("")
        if not waiting:
            return []
        o = dicom_object
        out: list[sc.Ref] = []
        rows = conn.execute(select(o.c.sop_instance_uid, o.c.sop_class_uid, o.c.commit_uid).where(
            o.c.purged_at.is_(None),
            o.c.sop_instance_uid.in_(sorted(waiting)), o.c.exam_key == obj.exam_key, o.c.committed_at.is_(None))
            .order_by(o.c.received_at, o.c.sop_instance_uid))
        for row in rows:
            if row.commit_uid:
                t = sc.get(conn, row.commit_uid)
                if t is not None and t.state != sc.EXPIRED:
                    continue  # asked and waiting, or answered (its task concludes first)
            out.append((row.sop_class_uid, row.sop_instance_uid))
            if len(out) >= MAX_BATCH - 1:
                break
        return out

    def request(self, uid: str, refs: list[sc.Ref]) -> tuple[bool, str, str, int]:
        """Associate, N-ACTION, wait on the association for the report (recorded by the handler below),
        release. (accepted?, status in words, detail, ms); never raises for a network problem."""
        started = time.monotonic()
        cfg = self.cfg
        ae = commitment_ae(self.calling, float(cfg.timeout))
        reported = threading.Event()

        def on_report(event: Any) -> tuple[int, None]:
            return self._report_on_association(event, uid, reported)

        def out(ok: bool, text: str, detail: str) -> tuple[bool, str, str, int]:
            return ok, text, detail, int((time.monotonic() - started) * 1000)

        assoc, words, detail = associate(ae, cfg.host, cfg.port, cfg.ae_title,
                                         evt_handlers=[(evt.EVT_N_EVENT_REPORT, on_report)])
        if assoc is None:
            return out(False, words, detail)
        try:
            status, _reply = assoc.send_n_action(sc.action_information(uid, refs), sc.ACTION_REQUEST,
                                                 sc.SOP_CLASS, sc.SOP_INSTANCE)
            if status is None or "Status" not in status:
                return out(False, "no response", "no N-ACTION response")
            code = int(status.Status)
            if code != 0x0000:
                return out(False, f"0x{code:04X}", f"N-ACTION refused: {status.get('ErrorComment', '') or ''}")
            deadline = time.monotonic() + float(cfg.commitment.wait_on_association)
            while not reported.is_set() and assoc.is_established and time.monotonic() < deadline:
                # the report may come on a new association to our SCP meanwhile (recorded there): look too
                if reported.wait(0.1) or self._answered(uid):
                    break
            return out(True, "0x0000", "reported on the association" if reported.is_set()
                       else "reported on a new association" if self._answered(uid) else "no report on the association")
        finally:
            release(assoc)
            ae.shutdown()

    def _answered(self, uid: str) -> bool:
        with self.engine.connect() as conn:
            t = sc.get(conn, uid)
        return t is not None and t.state in (sc.COMMITTED, sc.FAILED)

    def _report_on_association(self, event: Any, uid: str, reported: threading.Event) -> tuple[int, None]:
        req = event.request
        event_type = int(req.EventTypeID or 0)
        if event_type not in (sc.EVENT_ALL_SUCCESS, sc.EVENT_FAILURES):
            return 0x0113, None
        info = event.event_information
        got = str(info.get("TransactionUID", "") or "") if info is not None else ""
        try:
            with self.engine.begin() as conn:
                t, _what = sc.record_report(conn, got, event_type, info, sc.SAME)
        except Exception:
            log.exception("storage commitment result %s not recorded", got)
            return 0x0110, None
        if t is None:
            return 0x0115, None
        if got == uid:
            reported.set()
        return 0x0000, None

    def _detail(self, uid: str) -> str | None:
        from ris_ai_module.db.tables import stgcmt

        with self.engine.connect() as conn:
            return conn.execute(select(stgcmt.c.detail).where(stgcmt.c.transaction_uid == uid)).scalar()
