"""``ris-ai-module acceptance --config FILE --exam KEY``: the tender's acceptance items (六、验收测试技术要求),
run on the module's host against the configured peers while ``run`` is running. One PASS/FAIL line per item
with its evidence; everything written is journaled first (see ``journal``) so ``--cleanup`` can undo it.

Items: TCP reachability (AI host HTTP(S) and DICOM, our SCP and API on their real addresses); C-ECHO to the
AI host and to ourselves; C-STORE of a test SC and SR accepted; the SR parsed and its values written into the
test report, read back and compared; an HTTP push of the test exam accepted (after the comparison, so that the
AI host's own answer to it cannot race it); and, from the module's own records, what the real AI host sent.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import select

from ris_ai_module.acceptance.cleanup import snapshot_report
from ris_ai_module.acceptance.journal import Journal
from ris_ai_module.db.clock import utcnow

if TYPE_CHECKING:
    from ris_ai_module.settings import Config

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"


@dataclass
class Item:
    """One acceptance item: what it proves (Chinese with the English term), the verdict and the evidence."""

    key: str
    title_zh: str
    title_en: str
    status: str = SKIP
    evidence: str = ""
    remedy: str = ""

    @property
    def line(self) -> str:
        return f"{self.status:4}  {self.key:<22} {self.title_zh} / {self.title_en}: {self.evidence}"


@dataclass
class Run:
    cfg: Config
    config_path: str
    exam_key: str
    out: Path
    dry_run: bool = False
    calling_aet: str = ""
    timeout: float = 30.0
    say: Callable[[str], None] = print
    items: list[Item] = field(default_factory=list)
    started: datetime = field(default_factory=datetime.now)
    run_id: str = field(default_factory=lambda: datetime.now().strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6])
    facts: dict[str, Any] = field(default_factory=dict)

    def add(self, item: Item) -> Item:
        self.items.append(item)
        self.say(item.line)
        return item

    @property
    def failed(self) -> list[Item]:
        return [i for i in self.items if i.status == FAIL]


def self_address(host: str) -> str:
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host


def tcp(host: str, port: int, timeout: float = 5.0) -> tuple[bool, str]:
    started = time.perf_counter()
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except ConnectionRefusedError:
        return False, f"refused: nothing listens on {host}:{port}"
    except TimeoutError:
        return False, f"timeout: no TCP answer from {host}:{port} within {timeout:g}s"
    except OSError as exc:
        return False, f"unreachable: {host}:{port}: {exc.strerror or exc}"
    return True, f"{host}:{port} connected in {(time.perf_counter() - started) * 1000:.0f} ms"


def _url_host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def run_acceptance(run: Run) -> int:
    """Every item in order; returns the exit status (1 when any item failed)."""
    from ris_ai_module.context import make_context

    cfg = run.cfg
    ctx = make_context(cfg)
    journal = Journal(run.out, run.run_id)
    try:
        journal.write("start", exam_key=run.exam_key, utc=utcnow().isoformat(), dry_run=run.dry_run)
        exam = _exam(ctx, run, journal)
        _network_items(run)
        if exam is not None:
            # inbound first: the AI host's own answer to the test push must not race the comparison
            sr_sop = _store_items(ctx, run, exam, journal)
            _report_item(ctx, run, sr_sop)
            _push_item(ctx, run, exam, journal)
        _inbound_item(ctx, run, journal)
    finally:
        ctx.engine.dispose()
    return 1 if run.failed else 0


def _exam(ctx: Any, run: Run, journal: Journal) -> Any:
    from ris_ai_module.db.ris import get_exam, study_uid_for
    from ris_ai_module.db.tables import study_uid as study_uid_table

    with ctx.engine.begin() as conn:
        exam = get_exam(conn, run.exam_key)
        if exam is None:
            run.add(Item("exam", "验收测试检查", "test exam", FAIL,
                         f"{run.exam_key} is not in RAI_V_EXAM",
                         "由医院在 RIS 中登记一个测试患者的检查（如“验收测试”），把其检查号传给 --exam"))
            return None
        had_uid = bool(exam.study_uid and exam.study_uid.strip()) or conn.execute(
            select(study_uid_table.c.study_uid).where(study_uid_table.c.exam_key == exam.exam_key)).first() is not None
        if not had_uid:  # the kit makes (and keeps, like a push would) a StudyInstanceUID: journaled first
            journal.write("study-uid", exam_key=exam.exam_key)
        study = study_uid_for(conn, exam)
    run.facts["exam"] = exam
    run.facts["study_uid"] = study
    run.add(Item("exam", "验收测试检查", "test exam", PASS,
                 f"{exam.exam_key}: patient {exam.patient_id} {exam.patient_name}, accession {exam.accession_no}, "
                 f"study {study}"))
    return exam


def _network_items(run: Run) -> None:
    cfg = run.cfg
    from ris_ai_module.dicom.echo import echo

    if cfg.push.url:
        host, port = _url_host_port(cfg.push.url)
        ok, why = tcp(host, port)
        run.add(Item("tcp:ai-http", "AI 主机 HTTP(S) 端口可达", "AI host HTTP(S) port reachable", PASS if ok else FAIL,
                     why, "检查防火墙与 push.url 的地址、端口"))
    peers = [p for p in cfg.dicom.peers if p.host]
    calling = cfg.health.echo_calling_aet or cfg.dicom.ae_title
    for peer in peers:
        ok, why = tcp(peer.host, peer.port)
        run.add(Item(f"tcp:ai-dicom:{peer.name}", "AI 主机 DICOM 端口可达", "AI host DICOM port reachable",
                     PASS if ok else FAIL, why, "检查防火墙与 [[dicom.peers]] 的 host/port"))
    if cfg.dicom.enabled:
        ok, why = tcp(self_address(cfg.dicom.host), cfg.dicom.port)
        run.add(Item("tcp:scp", "本模块 DICOM SCP 端口可达", "our DICOM SCP port reachable", PASS if ok else FAIL,
                     why, "确认 run 正在运行，检查 dicom.host/dicom.port 与防火墙"))
    if cfg.http.enabled:
        ok, why = tcp(self_address(cfg.http.host), cfg.http.port)
        run.add(Item("tcp:api", "本模块 HTTP 接口端口可达", "our HTTP API port reachable", PASS if ok else FAIL,
                     why, "确认 run 正在运行，检查 http.host/http.port"))
    for peer in peers:
        res = echo(peer.host, peer.port, peer.ae_title, calling, timeout=run.timeout)
        run.add(Item(f"echo:ai:{peer.name}", "C-ECHO 本模块 → AI 主机", "C-ECHO to the AI host",
                     PASS if res.ok else FAIL,
                     f"{calling} -> {peer.ae_title}@{peer.host}:{peer.port}: {res.reason}"
                     + (f" ({res.latency_ms:.0f} ms)" if res.latency_ms is not None else ""),
                     "核对 AI 主机的 AE 名称（called AE）与其白名单中本模块的 AE 名称和 IP"))
    if cfg.dicom.enabled:
        host = self_address(cfg.dicom.host)
        res = echo(host, cfg.dicom.port, cfg.dicom.ae_title, calling, timeout=run.timeout)
        run.add(Item("echo:self", "C-ECHO 本模块 SCP", "C-ECHO to our own SCP", PASS if res.ok else FAIL,
                     f"{calling} -> {cfg.dicom.ae_title}@{host}:{cfg.dicom.port}: {res.reason}",
                     "确认 run 正在运行；检查 dicom.ae_title 与白名单 [[dicom.peers]]"))


def _push_item(ctx: Any, run: Run, exam: Any, journal: Journal) -> None:
    from ris_ai_module.push.client import PushClient
    from ris_ai_module.push.payload import build_payload

    if not run.cfg.push.url:
        run.add(Item("push", "HTTP 推送测试检查", "HTTP push of the test exam", SKIP, "push.url is not configured"))
        return
    key = f"acceptance-{uuid.uuid4()}"
    body = build_payload(exam, run.facts["study_uid"], run.cfg.push)
    journal.write("push", exam_key=exam.exam_key, idempotency_key=key, url=run.cfg.push.url)
    client = PushClient(run.cfg.push)
    try:
        outcome = client.send(body, key)
    finally:
        client.close()
    ok = outcome.kind.value == "DONE"
    evidence = (f"POST {run.cfg.push.url} Idempotency-Key {key}: "
                + (f"HTTP {outcome.http_status}" if outcome.http_status else "") + f" in {outcome.latency_ms} ms"
                + (f" - {outcome.error}" if outcome.error else ""))
    if outcome.response_body and not ok:
        evidence += f"; answer: {outcome.response_body[:200]}"
    run.add(Item("push", "HTTP 推送测试检查，AI 主机接受", "HTTP push of the test exam accepted", PASS if ok else FAIL,
                 evidence, "HTTP 4xx：按回应核对报文字段（[push].field_names）与认证；5xx/超时：AI 主机侧问题；"
                           "TLS 错误：核对证书与 push.ca_file"))


def _store_items(ctx: Any, run: Run, exam: Any, journal: Journal) -> str | None:
    """C-STORE one test SC and SR to our own SCP, as the AI host would (its AE title); returns the SR's UID."""
    from ris_ai_module.sim.dicom_io import send_objects
    from ris_ai_module.sim.results import kind_of, produce
    from ris_ai_module.sim.sr_documents import ExamIdentity

    cfg = run.cfg
    if not cfg.dicom.enabled:
        run.add(Item("store", "C-STORE 测试 SC/SR", "C-STORE of a test SC and SR", SKIP, "dicom.enabled is false"))
        return None
    calling = run.calling_aet or (cfg.dicom.peers[0].ae_title if cfg.dicom.peers else "AI_HOST")
    now = datetime.now()
    identity = ExamIdentity(
        patient_id=exam.patient_id or "", patient_name=exam.patient_name or "",
        birth_date=exam.birth_date.strftime("%Y%m%d") if exam.birth_date else "",
        sex={"男": "M", "女": "F"}.get(exam.sex or "", exam.sex or "")[:1],
        accession=exam.accession_no or "", study_uid=run.facts["study_uid"],
        study_date=(exam.exam_date or now).strftime("%Y%m%d"), study_time=(exam.exam_date or now).strftime("%H%M%S"),
        study_description="验收测试 acceptance test", exam_key=exam.exam_key,
    )
    result = produce(identity, kind_of(exam.exam_items or "", exam.exam_desc or ""), run.run_id, calling)
    run.facts["result"] = result
    with ctx.engine.connect() as conn:
        journal.write("report-snapshot", snapshot=snapshot_report(conn, cfg, exam.exam_key))
    objects = [result.images[0]] if run.dry_run else [result.images[0], result.sr]
    if run.dry_run:  # an image linked to the test exam would write its row in the RIS image table (target images)
        dry = produce(_dry_identity(identity), kind_of(exam.exam_items or "", exam.exam_desc or ""), run.run_id, calling)
        objects = [dry.images[0]]
    for ds in objects:
        journal.write("store", sop=str(ds.SOPInstanceUID), sop_class=str(ds.SOPClassUID))
    host = self_address(cfg.dicom.host)
    stored = send_objects(objects, host, cfg.dicom.port, cfg.dicom.ae_title, calling, attempts=1, timeout=run.timeout)
    for res, kind in zip(stored, ("SC", "SR"), strict=False):
        dry = " (dry run: a test patient of no exam, kept unlinked until --cleanup)" if run.dry_run else ""
        run.add(Item(f"store:{kind.lower()}", f"C-STORE 测试 {kind}，本模块接受", f"C-STORE of a test {kind} accepted",
                     PASS if res.ok else FAIL,
                     f"{calling} -> {cfg.dicom.ae_title}@{host}:{cfg.dicom.port} {res.sop_instance_uid}: {res.reason}{dry}",
                     "关联被拒：把 AI 主机的 AE 名称和 IP 加入 [[dicom.peers]]；状态 0xA700：磁盘空间；"
                     "0xA710：数据库不可用"))
    if run.dry_run:
        run.add(Item("store:sr", "C-STORE 测试 SR", "C-STORE of a test SR", SKIP,
                     "dry run: the SR is not sent, so no RIS table is written"))
        return None
    return str(result.sr.SOPInstanceUID) if stored[-1].ok else None


def _report_preview_item(ctx: Any, run: Run, title: tuple[str, str]) -> None:
    """Dry run: the test SR through the report preview (the real targets in a transaction rolled back):
    parsed, patient-checked and mapped against the configured RIS tables, nothing written."""
    import tempfile

    from ris_ai_module.report.preview import preview_file

    sr = run.facts["result"].sr
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "acceptance-sr.dcm"
        sr.save_as(path, enforce_file_format=True)
        answer = preview_file(ctx, path, exam_key=run.exam_key)
    calls = len(answer["procedure"])
    written = len(answer["rows"]) + len(answer["columns"]) + (1 if answer["text"] else 0) + calls
    evidence = (f"dry run (preview, nothing written): {answer['measurements']} measurements read; report state "
                f"{answer['state']}; would write {len(answer['rows'])} rows, {len(answer['columns'])} columns"
                + (", the findings text" if answer["text"] else "") + (f", {calls} procedure calls" if calls else ""))
    ok = answer["state"] == "APPLIED" and written > 0
    run.add(Item("report", *title, PASS if ok else FAIL, evidence if ok else f"{evidence}: {answer['detail']}",
                 "" if ok else "报告已签发或被锁定、或患者核对未通过时不会写入：请使用草稿状态的测试报告和测试患者"))


def _report_item(ctx: Any, run: Run, sr_sop: str | None) -> None:
    """Wait for the running module to apply our SR, read the report rows back and compare them."""
    from ris_ai_module.db.tables import report_state
    from ris_ai_module.report.display import report_items
    from ris_ai_module.sr.parse import parse_sr_dataset

    title = ("SR 解析并写入测试报告，读回比对一致", "SR parsed, values written into the test report, read back and compared")
    if sr_sop is None and run.dry_run:
        _report_preview_item(ctx, run, title)
        return
    if sr_sop is None:
        run.add(Item("report", *title, FAIL, "the test SR was not stored"))
        return
    deadline = time.monotonic() + run.timeout
    state = None
    while time.monotonic() < deadline:
        with ctx.engine.connect() as conn:
            state = conn.execute(select(report_state).where(report_state.c.exam_key == run.exam_key)).first()
        if state is not None and state.sop_instance_uid == sr_sop and state.state in ("APPLIED", "PENDING", "FAILED"):
            break
        time.sleep(0.2)
    if state is None or state.sop_instance_uid != sr_sop:
        run.add(Item("report", *title, FAIL, f"the SR was stored but not applied within {run.timeout:g}s "
                     "(is `run` running? see `tasks --kind SR_APPLY`)", "确认 run 正在运行并查看日志"))
        return
    if state.state != "APPLIED":
        run.add(Item("report", *title, FAIL, f"report state {state.state}: {state.detail}",
                     "报告已签发或被锁定时模块不会写入：请使用草稿状态的测试报告"))
        return
    expected = {i.key: i.display_value for i in report_items(
        run.cfg.report, parse_sr_dataset(run.facts["result"].sr).measurements, sr_sop)}
    got = _read_rows(ctx, run)
    if got is None:  # no rows target: compare what the module stored for the SR
        from ris_ai_module.db.tables import measurement

        with ctx.engine.connect() as conn:
            got = {r.item_key: r.num_value for r in conn.execute(select(measurement.c.item_key, measurement.c.num_value)
                   .where(measurement.c.sop_instance_uid == sr_sop, measurement.c.selected == 1))}
        same = set(got) >= set(expected)
        evidence = f"{len(got)} values stored in RAI_MEASUREMENT for {sr_sop} (no rows target to read back)"
    else:
        wrong = {k: (v, got.get(k)) for k, v in expected.items() if got.get(k) != v}
        same = not wrong and bool(expected)
        sample = ", ".join(f"{k}={v}" for k, v in list(expected.items())[:6])
        evidence = (f"{len(expected)} values written to {run.cfg.report.rows.table} and read back equal ({sample}, …)"
                    if same else f"{len(wrong)} of {len(expected)} values differ: "
                    + "; ".join(f"{k}: sent {a}, read {b}" for k, (a, b) in list(wrong.items())[:5]))
    run.add(Item("report", *title, PASS if same else FAIL, evidence,
                 "值不一致：核对 [report] 目标表与 [report].units/decimals；缺值：核对 SR 测量项目录"))


def _read_rows(ctx: Any, run: Run) -> dict[str, str] | None:
    from ris_ai_module.acceptance.cleanup import column_of, reflect

    rows_cfg = run.cfg.report.rows
    if "rows" not in run.cfg.report.targets:
        return None
    with ctx.engine.connect() as conn:
        t = reflect(conn, rows_cfg.table)
        key, value = column_of(t, rows_cfg.key_column), column_of(t, rows_cfg.value_column)
        return {r[0]: str(r[1]) for r in conn.execute(
            select(key, value).where(column_of(t, rows_cfg.exam_id_column) == run.exam_key))}


def _inbound_item(ctx: Any, run: Run, journal: Journal) -> None:
    """What the real AI host sent, from the module's own records (RAI_OBJECT), excluding the kit's own objects."""
    from ris_ai_module.acceptance.journal import read_runs
    from ris_ai_module.db.tables import dicom_object

    ours = {e["sop"] for entries in read_runs(run.out).values() for e in entries if e["action"] == "store"}
    aets = [p.ae_title for p in run.cfg.dicom.peers]
    if not aets:
        run.add(Item("inbound:ai", "AI 主机发来的 C-STORE（模块记录）", "C-STOREs made by the AI host (module records)",
                     SKIP, "no [[dicom.peers]] configured"))
        return
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(dicom_object.c.sop_instance_uid, dicom_object.c.sender_ae,
                                   dicom_object.c.sender_address, dicom_object.c.sop_class_uid,
                                   dicom_object.c.received_at)
                            .where(dicom_object.c.sender_ae.in_(aets), dicom_object.c.source == "DICOM")
                            .order_by(dicom_object.c.received_at.desc()).limit(200)).all()
    theirs = [r for r in rows if r.sop_instance_uid not in ours]
    if theirs:
        last = theirs[0]
        srs = sum(1 for r in theirs if r.sop_class_uid.startswith("1.2.840.10008.5.1.4.1.1.88."))
        run.add(Item("inbound:ai", "AI 主机发来的 C-STORE（模块记录）", "C-STOREs made by the AI host (module records)",
                     PASS, f"{len(theirs)} object(s) ({srs} SR) from {', '.join(sorted({r.sender_ae for r in theirs}))}; "
                     f"latest {last.received_at:%Y-%m-%d %H:%M:%S} UTC from {last.sender_address}"))
    else:
        run.add(Item("inbound:ai", "AI 主机发来的 C-STORE（模块记录）", "C-STOREs made by the AI host (module records)",
                     FAIL, f"no object from {', '.join(aets)} in RAI_OBJECT yet",
                     "请 AI 厂商从 AI 主机发送一例结果；AI 主机无法按需发送时，在 AI 主机位置运行 "
                     "`ris-ai-module simulate-ai --send-test`"))


def _dry_identity(identity: Any) -> Any:
    """The dry run's image names no exam (no Study UID, accession or patient ID of one): it is stored, never
    linked, so nothing reaches a RIS table (``--cleanup`` removes it)."""
    from dataclasses import replace

    from pydicom.uid import generate_uid

    return replace(identity, patient_id=f"DRYRUN-{generate_uid()[-12:]}", accession="", study_uid=generate_uid())
