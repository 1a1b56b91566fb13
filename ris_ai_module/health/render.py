"""The IT report as text (console), HTML (the e-mail: Chinese, with the English terms IT searches for) and CSV.

The CSV starts with a UTF-8 byte order mark: Excel on a Chinese Windows desktop otherwise opens it as GBK
and shows mojibake.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from html import escape

from ris_ai_module.health.report import ReportData, TargetStats

KIND_NAMES = {"ECHO": "DICOM C-ECHO", "HTTP": "HTTP", "QUEUE": "任务队列 Queue", "DISK": "磁盘 Disk",
              "CERT": "证书 Certificate"}


def period_text(data: ReportData) -> str:
    last = data.until.date().toordinal() - 1
    if last == data.since.date().toordinal():
        return data.since.date().isoformat()
    return f"{data.since.date().isoformat()} ~ {datetime.fromordinal(last).date().isoformat()}"


def subject(data: ReportData) -> str:
    down = [t.target for t in data.peers + data.others if t.last_ok is False]
    state = f"异常 {len(down)} 项 / {len(down)} DOWN" if down else "正常 / all OK"
    name = f"{data.hospital} " if data.hospital else ""
    return f"[ris-ai-module] {name}每日运维报告 Daily IT report {period_text(data)} - {state}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}%"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def _when(run_start: datetime, run_end: datetime) -> str:
    start = run_start.strftime("%Y-%m-%d %H:%M:%S")
    return start if run_end == run_start else f"{start} ~ {run_end.strftime('%H:%M:%S')}"


def render_text(data: ReportData) -> str:
    out = [subject(data), f"期间 Period: {data.since:%Y-%m-%d %H:%M} ~ {data.until:%Y-%m-%d %H:%M} (本地时间 local time)",
           f"实例 Instance: {data.instance}   生成 Generated: {data.generated_at:%Y-%m-%d %H:%M:%S}", ""]
    out.append("节点可用性 Availability")
    if not data.peers:
        out.append("  (无检查记录 no checks)")
    for t in data.peers:
        out.append(f"  {t.target:<20} {KIND_NAMES.get(t.kind, t.kind):<14} availability {_pct(t.availability):>8}"
                   f"  checks {t.checks:>5}  failed {t.checks - t.ok:>5}  p50 {_ms(t.p50_ms):>9}  p95 {_ms(t.p95_ms):>9}")
    out += ["", "故障明细 Failures"]
    runs = [(t, r) for t in data.peers + data.others for r in t.failures]
    if not runs:
        out.append("  (无 none)")
    for t, r in sorted(runs, key=lambda x: x[1].start):
        out.append(f"  {_when(r.start, r.end)}  {t.target}  x{r.count}  {r.error}")
    e, o, rp = data.exams, data.objects, data.reports
    out += ["", "检查推送 Exam push",
            f"  pushed {e.get('pushed', 0)}   failed {e.get('failed', 0)}   pending (now) {e.get('pending', 0)}",
            "", "结果回传 Results in",
            f"  objects received {o.get('received', 0)} (SR {o.get('sr', 0)}, images {o.get('images', 0)})"
            f"   unlinked {o.get('unlinked', 0)} (total now {o.get('unlinked_total', 0)})",
            f"  SR applied {rp.get('applied', 0)}   apply failed {rp.get('failed', 0)}"
            f"   reports pending because signed (now) {rp.get('pending_signed', 0)}",
            "", "拒绝的关联 Associations rejected"]
    if not data.rejects:
        out.append("  (无 none)")
    for j in data.rejects:
        out.append(f"  AE {j.calling_ae or '-':<16} from {j.address or '-':<15} x{j.count}  last {j.last_at:%Y-%m-%d %H:%M:%S}  {j.reason}")
    if data.others:
        out += ["", "其他检查 Other checks"]
        for t in data.others:
            state = "OK" if t.last_ok else "DOWN"
            out.append(f"  {t.target:<28} {state:<5} failed {t.checks - t.ok}/{t.checks}  {t.last_detail or ''}")
    return "\n".join(out) + "\n"


_STYLE = ("body{font-family:'Microsoft YaHei','PingFang SC',sans-serif;font-size:14px;color:#222}"
          "table{border-collapse:collapse;margin:6px 0 14px}th,td{border:1px solid #bbb;padding:3px 8px;text-align:left}"
          "th{background:#eef}td.num{text-align:right}.bad{color:#b00;font-weight:bold}.ok{color:#070}")


def _table(headers: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(r)) + "</tr>"
        for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _state(t: TargetStats) -> str:
    return '<span class="ok">正常 OK</span>' if t.last_ok else '<span class="bad">异常 DOWN</span>'


def render_html(data: ReportData) -> str:
    h = escape
    parts = [f"<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{h(subject(data))}</title>"
             f"<style>{_STYLE}</style></head><body>",
             f"<h2>{h(data.hospital)} ris-ai-module 每日运维报告（Daily IT report）</h2>",
             f"<p>统计期间 Period：{data.since:%Y-%m-%d %H:%M} ~ {data.until:%Y-%m-%d %H:%M}（本地时间）<br>"
             f"实例 Instance：{h(data.instance)}　生成时间 Generated：{data.generated_at:%Y-%m-%d %H:%M:%S}</p>",
             "<h3>一、节点可用性（Availability of DICOM / HTTP peers）</h3>"]
    rows = [[h(t.target), h(KIND_NAMES.get(t.kind, t.kind)), _state(t), _pct(t.availability), str(t.checks),
             str(t.checks - t.ok), _ms(t.p50_ms), _ms(t.p95_ms)] for t in data.peers]
    parts.append(_table(["节点 Peer", "类型 Kind", "当前 State", "可用率 Availability", "检查次数 Checks",
                         "失败 Failed", "延迟 p50 latency", "延迟 p95 latency"], rows, {3, 4, 5, 6, 7})
                 if rows else "<p>无检查记录（no checks in this period）。</p>")
    parts.append("<h3>二、故障明细（Failures）</h3>")
    runs = sorted(((t, r) for t in data.peers + data.others for r in t.failures), key=lambda x: x[1].start)
    parts.append(_table(["时间 Time", "节点 Target", "次数 Count", "错误 Error"],
                        [[_when(r.start, r.end), h(t.target), str(r.count), h(r.error)] for t, r in runs], {2})
                 if runs else "<p>无故障（none）。</p>")
    e, o, rp = data.exams, data.objects, data.reports
    parts.append("<h3>三、检查推送（Exam push to the AI host）</h3>")
    parts.append(_table(["已推送 Pushed", "失败 Failed", "待推送 Pending（当前 now）"],
                        [[str(e.get("pushed", 0)), str(e.get("failed", 0)), str(e.get("pending", 0))]], {0, 1, 2}))
    parts.append("<h3>四、结果回传（Results in: DICOM objects, SR）</h3>")
    parts.append(_table(
        ["接收对象 Objects received", "其中 SR", "其中图像 Images", "未关联 Unlinked", "未关联累计 Unlinked (now)",
         "SR 已写入 SR applied", "写入失败 Apply failed", "已签发待写入 Pending because signed（当前 now）"],
        [[str(o.get("received", 0)), str(o.get("sr", 0)), str(o.get("images", 0)), str(o.get("unlinked", 0)),
          str(o.get("unlinked_total", 0)), str(rp.get("applied", 0)), str(rp.get("failed", 0)),
          str(rp.get("pending_signed", 0))]], set(range(8))))
    parts.append("<h3>五、拒绝的关联（Associations rejected）</h3>")
    parts.append(_table(["调用方 AE（Calling AE）", "地址 Address", "次数 Count", "最近 Last", "原因 Reason"],
                        [[h(j.calling_ae), h(j.address), str(j.count), f"{j.last_at:%Y-%m-%d %H:%M:%S}", h(j.reason)]
                         for j in data.rejects], {2})
                 if data.rejects else "<p>无（none）。</p>")
    if data.others:
        parts.append("<h3>六、其他检查（Queue / Disk / Certificates）</h3>")
        parts.append(_table(["项目 Target", "类型 Kind", "当前 State", "失败/次数 Failed/Checks", "详情 Detail"],
                            [[h(t.target), h(KIND_NAMES.get(t.kind, t.kind)), _state(t), f"{t.checks - t.ok}/{t.checks}",
                              h(t.last_detail or "")] for t in data.others]))
    parts.append("<p style=\"color:#777\">本报告由 ris-ai-module 自动生成；附件 CSV 可用 Excel 打开。"
                 "Generated by ris-ai-module; the attached CSV opens in Excel.</p></body></html>")
    return "".join(parts)


CSV_HEADER = ["section", "target", "kind", "metric", "value", "time", "detail"]


def render_csv(data: ReportData) -> str:
    """One flat table with a ``section`` column, so one file holds the whole report."""
    buf = io.StringIO()
    buf.write("\ufeff")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_HEADER)
    period = f"{data.since:%Y-%m-%d %H:%M} ~ {data.until:%Y-%m-%d %H:%M}"
    w.writerow(["report", data.hospital, "", "period", period, f"{data.generated_at:%Y-%m-%d %H:%M:%S}", data.instance])
    for t in data.peers + data.others:
        av = "" if t.availability is None else f"{t.availability:.2f}"
        w.writerow(["availability", t.target, t.kind, "availability_pct", av, "", f"checks={t.checks} failed={t.checks - t.ok}"])
        if t.kind in ("ECHO", "HTTP"):
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
    for j in data.rejects:
        w.writerow(["rejected", j.calling_ae, "", j.address, str(j.count), f"{j.last_at:%Y-%m-%d %H:%M:%S}", j.reason])
    return buf.getvalue()


def render(data: ReportData, fmt: str) -> str:
    return {"text": render_text, "html": render_html, "csv": render_csv}[fmt](data)
