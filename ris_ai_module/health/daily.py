"""The daily IT report: due at ``health.report_time`` (local) for the previous day, sent once.

"Once" holds across restarts and between instances because the report date is claimed in
RAI_REPORT_SENT (primary key = report date) before anything is sent: the INSERT that wins sends, every
other instance or a restarted process finds the row and does nothing. A claim left CLAIMED by a process
that died while sending is taken over after ``STALE_CLAIM``, and a FAILED one (mail server down) is
retried after ``RETRY_FAILED``, both with a guarded UPDATE; so a crash in the middle of sending can
repeat that one report, and nothing else ever does.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from ris_ai_module.db.clock import display_zone, utcnow
from ris_ai_module.db.tables import report_sent
from ris_ai_module.health.channels import Attachment, Notifier
from ris_ai_module.health.current import configured_targets
from ris_ai_module.health.render import render_csv, render_html, render_text, subject
from ris_ai_module.health.report import gather

if TYPE_CHECKING:
    from ris_ai_module.settings import Config

log = logging.getLogger(__name__)

CLAIMED, SENT, FAILED = "CLAIMED", "SENT", "FAILED"
STALE_CLAIM = timedelta(minutes=30)
RETRY_FAILED = timedelta(minutes=10)


def due_day(now_local: datetime, report_time: str) -> date | None:
    """The day whose report is due at ``now_local`` (yesterday, once today's report time has passed)."""
    hh, mm = (int(x) for x in report_time.split(":"))
    if (now_local.hour, now_local.minute) < (hh, mm):
        return None
    return now_local.date() - timedelta(days=1)


def claim(engine: Engine, day: date, owner: str) -> bool:
    """Claim the report of ``day`` for ``owner``; False when it is sent or another sender holds it."""
    key = day.isoformat()
    now = utcnow()
    try:
        with engine.begin() as conn:
            conn.execute(insert(report_sent).values(report_date=key, status=CLAIMED, owner=owner[:100], claimed_at=now))
        return True
    except IntegrityError:
        pass
    takeover = or_(
        and_(report_sent.c.status == CLAIMED, report_sent.c.claimed_at < now - STALE_CLAIM),
        and_(report_sent.c.status == FAILED, report_sent.c.claimed_at < now - RETRY_FAILED),
    )
    with engine.begin() as conn:
        res = conn.execute(
            update(report_sent).where(report_sent.c.report_date == key, takeover)
            .values(status=CLAIMED, owner=owner[:100], claimed_at=now, detail=None)
        )
    return res.rowcount == 1


def _finish(engine: Engine, day: date, owner: str, status: str, detail: str | None) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(report_sent)
            .where(report_sent.c.report_date == day.isoformat(), report_sent.c.owner == owner[:100],
                   report_sent.c.status == CLAIMED)
            .values(status=status, sent_at=utcnow() if status == SENT else None, detail=(detail or "")[:1000] or None)
        )


def status_of(engine: Engine, day: date) -> dict[str, object] | None:
    with engine.connect() as conn:
        row = conn.execute(select(report_sent).where(report_sent.c.report_date == day.isoformat())).first()
    return None if row is None else dict(row._mapping)


def write_files(folder: str, day: date, html: str, csv_text: str) -> list[Path]:
    """``ris-ai-report-YYYY-MM-DD.html`` and ``.csv`` in the report folder (written whole, then renamed)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix, content in ((".html", html), (".csv", csv_text)):
        path = out / f"ris-ai-report-{day.isoformat()}{suffix}"
        tmp = path.with_suffix(suffix + ".tmp")
        tmp.write_text(content, encoding="utf-8", newline="")
        tmp.replace(path)
        paths.append(path)
    return paths


def send_daily_report(config: Config, engine: Engine, owner: str, day: date, notifier: Notifier | None = None) -> bool:
    """Claim, build, write, mail, record. True when this call sent the report."""
    if not claim(engine, day, owner):
        return False
    try:
        with engine.connect() as conn:
            data = gather(conn, day, day + timedelta(days=1), config.module.hospital_name, config.module.instance_name,
                          result_within=float(config.review.result_within), fail_threshold=config.alerts.fail_threshold,
                          targets=configured_targets(config), storage=config.storage,
                          zone=display_zone(config.module.timezone), archive=config.archive)
        html, csv_text, text = render_html(data), render_csv(data), render_text(data)
        paths = write_files(config.health.report_folder, day, html, csv_text)
        recipients = config.health.report_to
        if recipients:
            (notifier or Notifier(config)).send_report(
                recipients, subject(data), text, html,
                [Attachment(f"ris-ai-report-{day.isoformat()}.csv", csv_text.encode("utf-8"), "text/csv")],
            )
    except Exception as exc:  # noqa: BLE001 - recorded, retried after RETRY_FAILED
        log.error("daily report %s not sent: %s", day, exc, extra={"action": "report_failed"})
        _finish(engine, day, owner, FAILED, f"{exc.__class__.__name__}: {exc}")
        return False
    _finish(engine, day, owner, SENT, f"files: {', '.join(p.name for p in paths)}; to: {', '.join(recipients) or '-'}")
    log.info("daily report %s sent to %s", day, ", ".join(recipients) or "(files only)", extra={"action": "report_sent"})
    return True
