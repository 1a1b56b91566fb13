"""An image's C-STORE (or link) refreshes its exam's image rows (target ``images``), with or without an SR.

A sonographer expects the AI's Secondary Capture pages in the report even when no SR came (or not yet). The
image's task (SR_APPLY with ``{"exam_key": ..., "images": true}``, queued with the object's row) runs here:

* the exam has an SR, or the module wrote values of another target for it: the exam is applied as a whole
  (the caller's ``apply.apply_exam``), as the SR's own apply would — but only when its last apply was written (APPLIED)
  and the report is writable now. A report HELD by the hospital's hook, PENDING, FAILED or signed is left as it
  is: an image never un-holds a result, and never turns a signed report's APPLIED state into PENDING (that
  would keep the signing from being compared and the signed result from being sent);
* no SR: only the image rows are written (state ``IMAGES`` in RAI_REPORT_STATE: image rows written, no SR
  applied; nothing is delivered for it), after the same checks: the report status must be writable (signed:
  PENDING with the reason, written when it is re-opened, like an SR), the hospital's ``may_write_report`` hook
  is asked (with no values; a hold of images alone is asked again at the next image or ``apply EXAM_KEY``), the
  report row is not created for images alone.

The rows themselves follow :mod:`report.images`: only objects linked to the exam and not held for review,
re-sending adds no row, a row the module did not write is never touched.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection

from ris_ai_module.db.dialects import lock_rows
from ris_ai_module.db.tables import dicom_object, report_state
from ris_ai_module.report import writer
from ris_ai_module.report.images import NEEDS_REVIEW, SR_CLASS_PREFIX, exam_images, write_image_rows
from ris_ai_module.services import Services, hooks_of

log = logging.getLogger(__name__)

#: RAI_REPORT_STATE.state of an exam whose image rows were written and no SR applied yet.
IMAGES = "IMAGES"
#: States of the last apply an image does not override.
LEFT_ALONE = (writer.HELD, writer.FAILED)


def apply_images(ctx: Services, exam_key: str) -> tuple[str, str] | None:
    """Refresh the exam's image rows; returns (state, detail) as an apply does, or None when the exam is to be
    applied as a whole (it has an SR, or values of the module): the caller runs ``apply.apply_exam``."""
    cfg = ctx.config.report
    if "images" not in cfg.targets:
        return writer.SKIPPED, "report target images is off"
    with ctx.engine.begin() as conn:
        exists, status = writer.report_status(conn, cfg, exam_key, lock=True)
        state = _locked_state(conn, exam_key)
        previous = writer.previous_keys(state)
        now = state["state"] if state else None
        blocked = writer.blocked_reason(cfg, exists, status)
        has_sr = _has_objects(conn, exam_key, sr=True)
        values = any(written for target, written in previous.items() if target != "images")
        if has_sr or values:
            if now in LEFT_ALONE or (now == writer.PENDING and has_sr):
                return now, f"image rows not refreshed: the report state is {now} ({(state or {}).get('detail')})"
            if blocked is not None:
                return now or "-", f"image rows not refreshed: {blocked}"
            whole = True
        else:
            whole = False
            if now in LEFT_ALONE and (state or {}).get("sop_instance_uid"):  # an SR's HELD/FAILED (it left since)
                return now, f"image rows not refreshed: the report state is {now} ({(state or {}).get('detail')})"
            if blocked is not None:
                if previous.get("images") or _has_objects(conn, exam_key, sr=False):
                    writer.save_state(conn, exam_key, None, writer.PENDING, f"image rows waiting: {blocked}")
                    return writer.PENDING, f"image rows waiting: {blocked}"
                return now or "-", "no image of the exam to write"
            held = hooks_of(ctx).may_write_report(exam_key, {})
            if held is not None:
                writer.save_state(conn, exam_key, None, writer.HELD, held)
                return writer.HELD, held
            images = exam_images(conn, cfg.images, Path(ctx.config.storage.root), exam_key, [])
            mine = previous.get("images", {})
            if not images.entries and not mine:
                return now or "-", "no image of the exam to write"
            written, kept = write_image_rows(conn, cfg.images, exam_key, images, dict(mine), datetime.now())
            n = len(written)
            detail = f"{n} image row{'s' if n != 1 else ''} written, no SR applied yet"
            if kept:
                detail += f"; kept {len(kept)} row(s) the module did not write or someone changed"
            for warning in images.warnings:
                detail += f"; {warning}"
            writer.save_state(conn, exam_key, None, IMAGES, detail, {**previous, "images": dict(sorted(written.items()))})
    if whole:
        return None
    log.info("exam %s: %s", exam_key, detail, extra={"action": "images_written"})
    return IMAGES, detail


def _locked_state(conn: Connection, exam_key: str) -> dict[str, Any] | None:
    """The exam's RAI_REPORT_STATE row, locked: two image tasks of one exam (worker threads) write its rows one
    after the other, each seeing what the other wrote. Without a row yet (no report row to lock either), the
    second one's insert of the state row conflicts and it is retried (apply_task)."""
    stmt = lock_rows(select(report_state).where(report_state.c.exam_key == exam_key), conn.engine)
    row = conn.execute(stmt).first()
    return dict(row._mapping) if row is not None else None


def _has_objects(conn: Connection, exam_key: str, sr: bool) -> bool:
    """Does the exam have an SR (``sr``) / an image object linked and not held (what a row is written for)?"""
    o = dicom_object
    kind = o.c.sop_class_uid.like(SR_CLASS_PREFIX + "%")
    stmt = select(o.c.sop_instance_uid).where(
        o.c.exam_key == exam_key, kind if sr else ~kind,
        or_(o.c.review_state.is_(None), o.c.review_state != NEEDS_REVIEW)).limit(1)
    return conn.execute(stmt).first() is not None
