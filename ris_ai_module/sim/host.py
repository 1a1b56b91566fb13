"""The simulated AI host: the HTTP endpoint, the Verification SCP and, per exam received, the SC pages and SR
sent back by C-STORE after ``result_delay``. One readable log line per step."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

from ris_ai_module.sim.dicom_io import EchoScp, StoreResult, send_objects
from ris_ai_module.sim.http_host import AiHostHttp
from ris_ai_module.sim.results import ExamResult, kind_of, produce
from ris_ai_module.sim.sr_documents import identity_from_push


@dataclass
class SimConfig:
    http_host: str = "127.0.0.1"
    http_port: int = 8090
    cert: str = ""
    key: str = ""
    ae_title: str = "DEMO_AI"
    dicom_host: str = "127.0.0.1"
    dicom_port: int = 11113
    #: where results go (the module's SCP); empty host: results are built but not sent
    send_host: str = "127.0.0.1"
    send_port: int = 11112
    send_aet: str = "RIS_AI"
    send_attempts: int = 3
    seed: int = 1
    result_delay: float = 2.0
    status: int = 200
    fail_rate: float = 0.0
    fail_status: int = 503
    delay: float = 0.0
    hang: bool = False
    validate: bool = True
    renames: Mapping[str, str] = field(default_factory=dict)
    constants: Mapping[str, Any] = field(default_factory=dict)
    omitted: tuple[str, ...] = ()
    default_kind: str = "adult-echo"
    kind: str = ""  # force one kind for every exam
    fetuses: int = 1
    produce_results: bool = True


@dataclass
class ExamRecord:
    """What happened to one pushed exam, for the demo's timing lines and for tests."""

    exam_key: str
    study_uid: str
    kind: str
    received_at: float
    sent_at: float | None = None
    results: list[StoreResult] = field(default_factory=list)
    result: ExamResult | None = None

    @property
    def stored(self) -> bool:
        return bool(self.results) and all(r.ok for r in self.results)


def mask_name(name: str) -> str:
    """Patient names in the simulator's log: first character and stars (the module masks its own logs too)."""
    return (name[:1] + "*" * (len(name) - 1)) if name else ""


class Simulator:
    def __init__(self, cfg: SimConfig, out: TextIO | None = None, on_done: Callable[[ExamRecord], None] | None = None) -> None:
        self.cfg = cfg
        self.out = out if out is not None else sys.stdout
        self.on_done = on_done
        self.records: dict[str, ExamRecord] = {}
        self.lock = threading.Lock()
        self.http: AiHostHttp | None = None
        self.scp: EchoScp | None = None
        self._timers: list[threading.Timer] = []
        self._stopped = threading.Event()

    def log(self, message: str) -> None:
        stamp = datetime.now().strftime("%H:%M:%S.%f")[:-3]
        with self.lock:
            self.out.write(f"{stamp} [simulate-ai] {message}\n")
            self.out.flush()

    def start(self) -> Simulator:
        c = self.cfg
        self.http = AiHostHttp(c.http_host, c.http_port, c.cert, c.key, on_exam=self._on_exam)
        st = self.http.state
        st.status, st.delay, st.hang, st.fail_rate, st.fail_status = c.status, c.delay, c.hang, c.fail_rate, c.fail_status
        st.validate, st.renames, st.constants, st.omitted = c.validate, c.renames, c.constants, c.omitted
        st.rng.seed(f"http:{c.seed}")
        self.http.start()
        scheme = "https" if c.cert else "http"
        behaviour = []
        if c.status != 200:
            behaviour.append(f"every push answered {c.status}")
        if c.fail_rate:
            behaviour.append(f"{c.fail_rate:.0%} of pushes answered {c.fail_status}")
        if c.delay:
            behaviour.append(f"answers after {c.delay:g}s")
        if c.hang:
            behaviour.append("never answers (hang)")
        self.log(f"HTTP exam endpoint {scheme}://{c.http_host}:{self.http.port}/ "
                 f"(schema check {'on' if c.validate else 'off'}){'; ' + ', '.join(behaviour) if behaviour else ''}")
        if c.dicom_port >= 0:
            self.scp = EchoScp(c.ae_title, c.dicom_host, c.dicom_port, log=self.log)
            self.log(f"DICOM SCP {c.ae_title}@{c.dicom_host}:{self.scp.port} answers C-ECHO")
        if c.produce_results and c.send_host:
            self.log(f"results go to {c.send_aet}@{c.send_host}:{c.send_port} {c.result_delay:g}s after each exam "
                     f"(seed {c.seed})")
            threading.Thread(target=self._echo_target, daemon=True).start()
        return self

    def _echo_target(self) -> None:
        """C-ECHO the module once at start: the other direction of "C-ECHO works both ways"."""
        from ris_ai_module.dicom.echo import echo

        c = self.cfg
        res = echo(c.send_host, c.send_port, c.send_aet, c.ae_title, timeout=5.0)
        self.log(f"C-ECHO {c.ae_title} -> {c.send_aet}@{c.send_host}:{c.send_port}: {res.reason}"
                 + (f" ({res.latency_ms:.0f} ms)" if res.latency_ms is not None else ""))

    @property
    def http_port(self) -> int:
        return self.http.port if self.http else 0

    @property
    def dicom_port(self) -> int:
        return self.scp.port if self.scp else 0

    def _on_exam(self, body: dict[str, Any], key: str) -> None:
        exam = identity_from_push(body)
        kind = self.cfg.kind or kind_of(str(body.get("examItems") or ""), str(body.get("studyDescription") or ""),
                                        self.cfg.default_kind)
        record = ExamRecord(exam.exam_key, exam.study_uid, kind, time.time())
        with self.lock:
            self.records[exam.exam_key or key] = record
        self.log(f"exam received: key={exam.exam_key} accession={exam.accession} patient={exam.patient_id} "
                 f"{mask_name(exam.patient_name)} study={exam.study_uid} kind={kind} (Idempotency-Key {key})")
        if not self.cfg.produce_results:
            return
        timer = threading.Timer(self.cfg.result_delay, self._send_results, args=(body, record))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _send_results(self, body: dict[str, Any], record: ExamRecord) -> None:
        if self._stopped.is_set():
            return
        exam = identity_from_push(body)
        try:
            result = produce(exam, record.kind, self.cfg.seed, self.cfg.ae_title, self.cfg.fetuses)
        except Exception as exc:  # a bug here must show in the log, not kill the timer thread silently
            self.log(f"exam {record.exam_key}: building the results failed: {exc.__class__.__name__}: {exc}")
            return
        record.result = result
        self.log(f"exam {record.exam_key}: built {len(result.images)} SC page(s) and 1 SR ({record.kind})")
        if not self.cfg.send_host:
            return
        c = self.cfg
        record.results = send_objects(result.objects, c.send_host, c.send_port, c.send_aet, c.ae_title,
                                      attempts=c.send_attempts, log=self.log)
        record.sent_at = time.time()
        ok = sum(r.ok for r in record.results)
        self.log(f"exam {record.exam_key}: {ok}/{len(record.results)} objects stored at {c.send_aet}")
        if self.on_done:
            self.on_done(record)

    def stop(self) -> None:
        self._stopped.set()
        for t in self._timers:
            t.cancel()
        if self.http:
            self.http.stop()
        if self.scp:
            self.scp.stop()
