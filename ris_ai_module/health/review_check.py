"""Health target ``review:queue``: DOWN while an object has waited for review (patient check) longer than
``[review].alert_after``, so IT hears of a held SR before the doctor signs a report without it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.tables import dicom_object
from ris_ai_module.health.checks import QUEUE, CheckResult

TARGET = "review:queue"


def check_review(conn: Connection, alert_after: float) -> CheckResult:
    o = dicom_object
    waiting = o.c.review_state == "NEEDS_REVIEW"
    total, oldest = conn.execute(select(func.count(), func.min(o.c.received_at)).where(waiting)).one()
    detail = f"waiting={int(total or 0)}"
    limit = utcnow() - timedelta(seconds=alert_after)
    late = int(conn.execute(select(func.count()).select_from(o).where(waiting, o.c.received_at < limit)).scalar_one())
    if late:
        error = (f"{late} object(s) held by the patient check for more than {alert_after / 60:.0f} min "
                 f"(oldest received {oldest}); see `ris-ai-module objects --review`")
        return CheckResult(TARGET, QUEUE, False, None, error, detail)
    return CheckResult(TARGET, QUEUE, True, None, None, detail)
