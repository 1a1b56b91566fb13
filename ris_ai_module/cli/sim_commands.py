"""``simulate-ai`` (the AI-host simulator), ``demo`` (the whole loop in one command) and ``demo-exam``
(register / start an exam in the demo RIS, the demo's database only)."""

from __future__ import annotations

import argparse
import time
from datetime import datetime

from ris_ai_module.errors import ConfigError


def _host_port(text: str, option: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(option, f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def sim_config(args: argparse.Namespace):  # noqa: ANN201 - SimConfig, imported lazily
    from ris_ai_module.sim.host import SimConfig

    renames: dict[str, str] = {}
    constants: dict[str, str] = {}
    omitted: tuple[str, ...] = ()
    if args.config:  # validate the site's shape: the vendor's names are mapped back with [push]
        from ris_ai_module.settings import load_config

        push = load_config(args.config).push
        renames, constants, omitted = dict(push.field_names), dict(push.constant_fields), tuple(push.omit_fields)
    send_host, send_port = _host_port(args.send_to, "--send-to") if args.send_to else ("", 0)
    if not 0.0 <= args.fail_rate <= 1.0:
        raise ConfigError("--fail-rate", "a fraction between 0 and 1")
    return SimConfig(
        http_host=args.host, http_port=args.port, cert=args.cert or "", key=args.key or "", ae_title=args.ae_title,
        dicom_host=args.dicom_host, dicom_port=args.dicom_port, send_host=send_host, send_port=send_port,
        send_aet=args.send_aet, send_attempts=args.send_attempts, seed=args.seed, result_delay=args.result_delay,
        status=args.status, fail_rate=args.fail_rate, fail_status=args.fail_status, delay=args.delay, hang=args.hang,
        validate=not args.no_validate, renames=renames, constants=constants, omitted=omitted, kind=args.kind or "",
        fetuses=args.fetuses, produce_results=not args.no_results and bool(send_host),
    )


def cmd_simulate_ai(args: argparse.Namespace) -> int:
    if args.send_test:
        return _send_test(args)
    from ris_ai_module.sim.host import Simulator

    sim = Simulator(sim_config(args)).start()
    try:
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    st = sim.http.state if sim.http else None
    if st is not None:
        sim.log(f"stopped: {len(st.received)} requests, {st.unique_keys()} exams (distinct Idempotency-Keys), "
                f"{st.duplicates()} repeats")
    return 0


def _send_test(args: argparse.Namespace) -> int:
    """From a machine in the AI host's place: C-ECHO the module, then C-STORE one test SC and SR."""
    from pydicom.uid import generate_uid

    from ris_ai_module.dicom.echo import echo
    from ris_ai_module.sim.dicom_io import send_objects
    from ris_ai_module.sim.results import produce
    from ris_ai_module.sim.sr_documents import ExamIdentity

    if not args.send_to:
        raise ConfigError("--send-to", "--send-test needs the module's SCP as HOST:PORT")
    if not args.patient_id:
        raise ConfigError("--patient-id", "--send-test needs the test exam's patient ID (and --accession / --study-uid)")
    host, port = _host_port(args.send_to, "--send-to")
    now = datetime.now()
    exam = ExamIdentity(
        patient_id=args.patient_id, patient_name=args.patient_name or "", birth_date="", sex="",
        accession=args.accession or "", study_uid=args.study_uid or generate_uid(prefix=None),
        study_date=now.strftime("%Y%m%d"), study_time=now.strftime("%H%M%S"), study_description="acceptance test",
    )
    stamp = now.strftime("%H:%M:%S")
    res = echo(host, port, args.send_aet, args.ae_title, timeout=10.0)
    print(f"{stamp} C-ECHO {args.ae_title} -> {args.send_aet}@{host}:{port}: "
          f"{'PASS' if res.ok else 'FAIL'} {res.reason}" + (f" ({res.latency_ms:.0f} ms)" if res.latency_ms else ""))
    result = produce(exam, args.kind or "adult-echo", args.seed, args.ae_title, args.fetuses)
    stored = send_objects(result.objects, host, port, args.send_aet, args.ae_title, attempts=args.send_attempts,
                          log=lambda m: print(f"{datetime.now():%H:%M:%S} {m}", flush=True))
    ok = res.ok and all(r.ok for r in stored)
    print(f"send-test {'PASS' if ok else 'FAIL'}: C-ECHO {'ok' if res.ok else 'failed'}, "
          f"{sum(r.ok for r in stored)}/{len(stored)} objects stored (study {exam.study_uid})")
    return 0 if ok else 1


def add_sim_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("HTTP exam endpoint / 检查接收接口")
    g.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    g.add_argument("--port", type=int, default=8090, help="HTTP(S) port (default 8090; 0 = any free port)")
    g.add_argument("--cert", help="PEM certificate: serve HTTPS")
    g.add_argument("--key", help="PEM private key of --cert")
    g.add_argument("--no-validate", action="store_true",
                   help="accept any body (default: check it against push/exam-push.schema.json; "
                        "with --config the site's [push] field names are mapped back first)")
    g = p.add_argument_group("misbehaviour for tests and drills / 故障演练")
    g.add_argument("--status", type=int, default=200, help="answer every push with this HTTP status")
    g.add_argument("--fail-rate", type=float, default=0.0, help="answer this fraction of pushes with --fail-status")
    g.add_argument("--fail-status", type=int, default=503, help="status of the --fail-rate failures (default 503)")
    g.add_argument("--delay", type=float, default=0.0, help="seconds to wait before answering")
    g.add_argument("--hang", action="store_true", help="accept pushes and never answer")
    g = p.add_argument_group("DICOM / AI results")
    g.add_argument("--ae-title", default="DEMO_AI", help="our AE title, calling and called (default DEMO_AI)")
    g.add_argument("--dicom-host", default="127.0.0.1", help="address of our C-ECHO SCP")
    g.add_argument("--dicom-port", type=int, default=11113, help="port of our C-ECHO SCP (0 = free port, -1 = none)")
    g.add_argument("--send-to", metavar="HOST:PORT", help="the module's SCP: where SC and SR go (none: results not sent)")
    g.add_argument("--send-aet", default="RIS_AI", help="the module's AE title (default RIS_AI)")
    g.add_argument("--send-attempts", type=int, default=3, help="associations tried per exam (default 3)")
    g.add_argument("--result-delay", type=float, default=2.0, help="seconds from push to results (default 2)")
    g.add_argument("--seed", type=int, default=1, help="values are the same for the same seed and study (default 1)")
    g.add_argument("--kind", choices=("adult-echo", "ob", "carotid", "thyroid"),
                   help="exam kind for every exam (default: from the exam items: 心脏/产科/颈动脉/甲状腺)")
    g.add_argument("--fetuses", type=int, default=1, help="fetuses in OB results (default 1)")
    g.add_argument("--no-results", action="store_true", help="receive pushes only")
    g = p.add_argument_group("--send-test: one test SC + SR from the AI host's place / 代替 AI 主机发送测试数据")
    g.add_argument("--send-test", action="store_true", help="C-ECHO --send-to, C-STORE one SC and SR, exit")
    g.add_argument("--patient-id")
    g.add_argument("--patient-name")
    g.add_argument("--accession")
    g.add_argument("--study-uid")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("simulate-ai", help="a simulated AI host: receives pushes, sends SC + SR back / 模拟 AI 主机")
    add_sim_options(p)
    p.set_defaults(func=cmd_simulate_ai)

    from ris_ai_module import demo_loop

    demo_loop.register(sub)

