"""The IT report as text (console), HTML (the e-mail: Chinese, with the English terms IT searches for) and CSV.

Text and HTML are laid out by the Jinja2 templates in ``templates/`` (HTML autoescaped); this module only
formats values. The CSV is data, written by the csv module.

The CSV starts with a UTF-8 byte order mark: Excel on a Chinese Windows desktop otherwise opens it as GBK
and shows mojibake.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ris_ai_module.db.clock import display_zone, shown
from ris_ai_module.health.current import DOWN
from ris_ai_module.health.kinds import is_peer, title
from ris_ai_module.health.report import ReportData


def period_text(data: ReportData) -> str:
    last = data.until.date().toordinal() - 1
    if last == data.since.date().toordinal():
        return data.since.date().isoformat()
    return f"{data.since.date().isoformat()} ~ {datetime.fromordinal(last).date().isoformat()}"


def subject(data: ReportData) -> str:
    down = [t.target for t in data.peers + data.others if t.state == DOWN]  # after alerts.fail_threshold
    state = f"异常 {len(down)} 项 / {len(down)} DOWN" if down else "正常 / all OK"
    name = f"{data.hospital} " if data.hospital else ""
    return f"[ris-ai-module] {name}每日运维报告 Daily IT report {period_text(data)} - {state}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}%"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def _when(run_start: datetime, run_end: datetime) -> str:
    start = _dt(run_start, "%Y-%m-%d %H:%M:%S")
    return start if run_end == run_start else f"{start} ~ {_dt(run_end, '%H:%M:%S')}"


def _pad(value: object, width: int) -> str:
    return f"{value!s:<{width}}"


def _rpad(value: object, width: int) -> str:
    return f"{value!s:>{width}}"


def _dt(value: datetime, fmt: str) -> str:
    """A report time (aware, in the display zone: report.to_local) with its label, db/clock.shown."""
    return shown(value, value.tzinfo or display_zone(), fmt)


def _gb(value: float | None) -> str:
    return "-" if value is None else f"{value / 1024**3:.1f} GB" if value >= 1024**3 else f"{value / 1024**2:.0f} MB"


@lru_cache(maxsize=1)
def _templates() -> Environment:
    """The report templates (package data), loaded once; HTML autoescaped, unknown names an error."""
    env = Environment(loader=PackageLoader("ris_ai_module.health", "templates"),
                      autoescape=select_autoescape(["html", "html.j2"], default_for_string=False),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(pct=_pct, ms=_ms, pad=_pad, rpad=_rpad, dt=_dt, kind_title=title, gb=_gb)
    env.globals.update(when=_when)
    return env


def _values(data: ReportData) -> dict[str, object]:
    failures = sorted(((t, r) for t in data.peers + data.others for r in t.failures), key=lambda x: x[1].start)
    return {"data": data, "subject": subject(data), "failures": failures}


def render_text(data: ReportData) -> str:
    return _templates().get_template("daily.txt.j2").render(_values(data))


def render_html(data: ReportData) -> str:
    """The mail's HTML part; every value from the database is escaped by the template engine."""
    return _templates().get_template("daily.html.j2").render(_values(data))


CSV_HEADER = ["section", "target", "kind", "metric", "value", "time", "detail"]


def render_csv(data: ReportData) -> str:
    """One flat table with a ``section`` column, so one file holds the whole report."""
    buf = io.StringIO()
    buf.write("\ufeff")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_HEADER)
    period = f"{_dt(data.since, '%Y-%m-%d %H:%M')} ~ {_dt(data.until, '%Y-%m-%d %H:%M')}"
    w.writerow(["report", data.hospital, "", "period", period, _dt(data.generated_at, "%Y-%m-%d %H:%M:%S"), data.instance])
    for t in data.peers + data.others:
        av = "" if t.availability is None else f"{t.availability:.2f}"
        w.writerow(["availability", t.target, t.kind, "availability_pct", av, "", f"checks={t.checks} failed={t.checks - t.ok}"])
        if is_peer(t.kind):
            w.writerow(["latency", t.target, t.kind, "p50_ms", "" if t.p50_ms is None else f"{t.p50_ms:.1f}", "", ""])
            w.writerow(["latency", t.target, t.kind, "p95_ms", "" if t.p95_ms is None else f"{t.p95_ms:.1f}", "", ""])
    for t in data.peers + data.others:
        for r in t.failures:
            w.writerow(["failure", t.target, t.kind, "count", str(r.count), _when(r.start, r.end), r.error])
    for key, value in data.exams.items():
        w.writerow(["exams", "", "", key, str(value), "", ""])
    for key, value in data.objects.items():
        w.writerow(["objects", "", "", key, str(value), "", ""])
    for key, value in data.reports.items():
        w.writerow(["reports", "", "", key, str(value), "", ""])
    for key, value in data.storage.items():
        if key == "retention":
            for rkey, rvalue in value.items():
                w.writerow(["retention", "", "", rkey, str(rvalue), "", ""])
        else:
            w.writerow(["storage", "", "", key, "" if value is None else str(value), "", ""])
    for key, value in data.archive.items():
        if key not in ("target", "commitment"):  # counts of DICOM objects, but commit_requests (N-ACTIONs)
            w.writerow(["archive", data.archive.get("target", ""), "", key, str(value), "", ""])
    for j in data.rejects:
        w.writerow(["rejected", j.calling_ae, "", j.address, str(j.count), _dt(j.last_at, "%Y-%m-%d %H:%M:%S"), j.reason])
    return buf.getvalue()


def render(data: ReportData, fmt: str) -> str:
    return {"text": render_text, "html": render_html, "csv": render_csv}[fmt](data)

