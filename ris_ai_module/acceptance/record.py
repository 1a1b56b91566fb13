"""The acceptance record (验收记录) in Chinese with English terms, as HTML (to print and sign) and Markdown:
date, versions, the configuration without secrets, each item with its evidence, signature lines."""

from __future__ import annotations

import html
import platform
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ris_ai_module import __version__
from ris_ai_module.acceptance.runner import FAIL, PASS, Run
from ris_ai_module.db.clock import display_zone, shown


def _url_without_secrets(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def versions(run: Run) -> list[tuple[str, str]]:
    import pydicom
    import pynetdicom
    import sqlalchemy

    out = [("ris-ai-module", __version__), ("Python", platform.python_version()),
           ("pydicom", pydicom.__version__), ("pynetdicom", pynetdicom.__version__),
           ("SQLAlchemy", sqlalchemy.__version__), ("操作系统 OS", f"{platform.system()} {platform.release()}")]
    out.append(("数据库 database", run.cfg.database.url.split("://", 1)[0].split("+")[0]))
    return out


def config_summary(run: Run) -> list[tuple[str, str]]:
    """What was tested against; passwords, tokens and key files are never shown."""
    c = run.cfg
    rows = [("配置文件 configuration file", run.config_path),
            ("医院 hospital", c.module.hospital_name or "-"), ("实例 instance", c.module.instance_name)]
    if c.push.url:
        rows.append(("AI 主机推送地址 push URL", _url_without_secrets(c.push.url)))
        rows.append(("推送认证 push auth", c.push.auth.type or "none"))
    if c.dicom.enabled:
        rows.append(("本模块 SCP our SCP", f"{c.dicom.ae_title}@{c.dicom.host}:{c.dicom.port}"
                     + (" (DICOM TLS)" if c.dicom.tls.enabled else "")))
    for p in c.dicom.peers:
        rows.append((f"DICOM 对端 peer {p.name}", f"AE {p.ae_title}, 来源 from {', '.join(p.addresses) or '-'}"
                     + (f", C-ECHO {p.host}:{p.port}" if p.host else "")))
    if c.http.enabled:
        rows.append(("HTTP 接口 API", f"{'https' if c.http.tls_certificate else 'http'}://{c.http.host}:{c.http.port}/"))
    rows.append(("报告写入目标 report targets", ", ".join(c.report.targets) + f" (table {c.report.table})"))
    rows.append(("测试检查 test exam", run.exam_key + ("（演练 dry run：不写 RIS 表）" if run.dry_run else "")))
    return rows


STATUS_ZH = {PASS: "通过 PASS", FAIL: "不通过 FAIL", "SKIP": "未执行 SKIP"}


def write_record(run: Run, finished: datetime | None = None) -> tuple[Path, Path]:
    finished = finished or datetime.now()
    zone = display_zone(run.cfg.module.timezone)  # the record's times in module.timezone, labelled
    when = f"{shown(run.started.astimezone(), zone)} – {shown(finished.astimezone(), zone, '%H:%M:%S')}"
    run.out.mkdir(parents=True, exist_ok=True)
    stem = f"acceptance-{run.run_id}"
    verdict = "全部通过 ALL PASSED" if not run.failed else "不通过 FAILED: " + ", ".join(i.key for i in run.failed)
    md = ["# ris-ai-module 验收测试记录 Acceptance test record", "",
          f"- 日期 date: {when}",
          f"- 结论 result: **{verdict}**", f"- 记录编号 record: {run.run_id}", "",
          "## 版本 Versions", ""]
    md += [f"- {k}: {v}" for k, v in versions(run)]
    md += ["", "## 配置摘要（不含口令与密钥） Configuration (no secrets)", ""]
    md += [f"- {k}: {v}" for k, v in config_summary(run)]
    md += ["", "## 验收项目 Items", "", "| # | 项目 item | 结果 result | 证据 evidence | 不通过时 if it fails |",
           "|---|---|---|---|---|"]
    for n, i in enumerate(run.items, 1):
        md.append(f"| {n} | {i.title_zh}<br>{i.title_en} (`{i.key}`) | {STATUS_ZH.get(i.status, i.status)} | "
                  f"{i.evidence.replace('|', '/')} | {i.remedy if i.status == FAIL else ''} |")
    md += ["", "测试推送在 AI 主机上创建了测试检查，已告知 AI 厂商；本工具写入的测试数据可用 "
           "`ris-ai-module --config FILE acceptance --cleanup` 清除。",
           "The test push created the test exam on the AI host (the AI vendor is informed); "
           "`acceptance --cleanup` removes what the kit wrote.", "",
           "## 签字 Signatures", "",
           "医院方 Hospital: ____________________   日期 Date: ____________", "",
           "供应商 Vendor: ____________________   日期 Date: ____________", ""]
    md_path = run.out / f"{stem}.md"
    md_path.write_text("\n".join(md), encoding="utf-8")

    e = html.escape
    rows = "".join(
        f"<tr class='{i.status.lower()}'><td>{n}</td><td>{e(i.title_zh)}<br><small>{e(i.title_en)} "
        f"(<code>{e(i.key)}</code>)</small></td><td>{e(STATUS_ZH.get(i.status, i.status))}</td>"
        f"<td>{e(i.evidence)}</td><td>{e(i.remedy) if i.status == FAIL else ''}</td></tr>"
        for n, i in enumerate(run.items, 1))
    kv = lambda pairs: "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in pairs)  # noqa: E731
    page = f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<title>ris-ai-module 验收测试记录 {e(run.run_id)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:60em}}table{{border-collapse:collapse;width:100%}}
td,th{{border:1px solid #999;padding:.3em;text-align:left;vertical-align:top}}tr.fail td{{background:#fdd}}
tr.pass td:nth-child(3){{color:#060}}.sign{{margin-top:3em;line-height:3em}}</style></head><body>
<h1>ris-ai-module 验收测试记录 <small>Acceptance test record</small></h1>
<p>日期 date: {e(when)} · 记录编号 record {e(run.run_id)}</p>
<p><strong>结论 result: {e(verdict)}</strong></p>
<h2>版本 Versions</h2><table>{kv(versions(run))}</table>
<h2>配置摘要（不含口令与密钥） Configuration (no secrets)</h2><table>{kv(config_summary(run))}</table>
<h2>验收项目 Items</h2><table><tr><th>#</th><th>项目 item</th><th>结果 result</th><th>证据 evidence</th>
<th>不通过时 if it fails</th></tr>{rows}</table>
<p>测试推送在 AI 主机上创建了测试检查，已告知 AI 厂商；本工具写入的测试数据可用 <code>acceptance --cleanup</code> 清除。</p>
<div class="sign">医院方 Hospital: ______________________ 日期 Date: ____________<br>
供应商 Vendor: ______________________ 日期 Date: ____________</div></body></html>
"""
    html_path = run.out / f"{stem}.html"
    html_path.write_text(page, encoding="utf-8")
    return html_path, md_path
