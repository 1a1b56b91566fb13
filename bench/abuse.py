"""Abuse benchmark (not a test): does ``ris-ai-module run`` keep serving its legitimate peer on a hostile network?

    python bench/abuse.py [--seconds 20] [--rows all|name,name] [--out bench/RESULTS-abuse.md]

One real ``run`` process (SQLite demo RIS, worker on so the SR_APPLY helper runs too, DICOM SCP and HTTP API
on loopback). For each row of issue 12's table an abuser runs for ``--seconds`` from other loopback addresses
(127.0.0.2 and up, as other hosts on the hospital LAN), while the legitimate, whitelisted peer (127.0.0.1) keeps
sending with real DCMTK tools: ``echoscu`` (C-ECHO), ``storescu`` (C-STORE of a new 64x64 Secondary Capture
each time) and ``GET /healthz``. Reported per row: success rate and latency of each legitimate request kind
during the abuse and just after it; VmRSS of the module's processes (``run`` and its helper) before (idle),
peak (sampled every 0.1 s) and 5 s after; threads and open files at the same points. At the end: every
C-STORE acknowledged Success has its row in RAI_OBJECT and its file on disk.

To reach the deeper limits, the configuration admits a "LAN" peer (AE MODALITY) from 127.0.0.0/25: the
abusers pass the accept-time address check (as a compromised modality would); the row ``not-whitelisted``
comes from 127.0.1.x, outside every whitelist. Everything is bounded in count and time; loopback only.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.dicom import dcmtk, raw  # noqa: E402
from tests.integration.dicom import objects as make  # noqa: E402
from tests.integration.dicom.conftest import demo_engine  # noqa: E402

GB = 1024**3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ----------------------------------------------------------------------------------------------- the module
@dataclass
class Module:
    folder: Path
    dicom_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        from ris_ai_module.web.auth import hash_password

        demo_engine(self.folder / "ris.db").dispose()
        (self.folder / "ris-ai-module.toml").write_text(f'''
[database]
url = "sqlite:///ris.db"
[worker]
enabled = true
[push]
url = "http://127.0.0.1:9/api/exams"
[dicom]
enabled = true
host = "127.0.0.1"
port = {self.dicom_port}
[[dicom.peers]]
name = "ai"
ae_title = "DEMO_AI"
addresses = ["127.0.0.1"]
[[dicom.peers]]
name = "lan"
ae_title = "MODALITY"
addresses = ["127.0.0.0/25"]
[storage]
root = "storage"
min_free = "100MB"
[http]
enabled = true
host = "127.0.0.1"
port = {self.http_port}
[[http.users]]
name = "bench"
password_hash = "{hash_password("bench-pass", 1000)}"
role = "operator"
[logging]
level = "WARNING"
file = ""
''', encoding="utf-8")
        log = open(self.folder / "run.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "ris_ai_module", "--config", "ris-ai-module.toml", "run"],
                                     cwd=self.folder, stdout=log, stderr=subprocess.STDOUT,
                                     env=dict(os.environ, PYTHONPATH=str(ROOT)))
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("run ended:\n" + (self.folder / "run.log").read_text())
            if dcmtk.echoscu(self.dicom_port).returncode == 0 and _healthz(self.http_port)[0]:
                time.sleep(2)  # the helper process is up too
                return
            time.sleep(0.3)
        raise SystemExit("run did not come up")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def pids(self) -> list[int]:
        """``run`` and every process below it (the SR_APPLY helper)."""
        assert self.proc is not None
        found, queue = [], [self.proc.pid]
        while queue:
            pid = queue.pop()
            found.append(pid)
            try:
                for task in Path(f"/proc/{pid}/task").iterdir():
                    children = (task / "children").read_text().split()
                    queue += [int(c) for c in children]
            except OSError:
                pass
        return found

    def sample(self) -> tuple[int, int, int]:
        """(VmRSS kB, threads, open files) summed over the module's processes."""
        rss = threads = files = 0
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Threads:"):
                        threads += int(line.split()[1])
                files += len(os.listdir(f"/proc/{pid}/fd"))
            except OSError:
                pass
        return rss, threads, files


class Sampler(threading.Thread):
    def __init__(self, module: Module) -> None:
        super().__init__(daemon=True)
        self.module, self.stop = module, threading.Event()
        self.peak = (0, 0, 0)

    def run(self) -> None:
        while not self.stop.wait(0.1):
            rss, threads, files = self.module.sample()
            self.peak = (max(self.peak[0], rss), max(self.peak[1], threads), max(self.peak[2], files))


# ------------------------------------------------------------------------------------------ legitimate peer
def _healthz(port: int) -> tuple[bool, float]:
    started = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            s.settimeout(5)
            data = b""
            while chunk := s.recv(4096):
                data += chunk
        return data.startswith(b"HTTP/1.1 200"), time.monotonic() - started
    except OSError:
        return False, time.monotonic() - started


@dataclass
class Tally:
    ok: int = 0
    total: int = 0
    latencies: list[float] = field(default_factory=list)

    def add(self, ok: bool, seconds: float) -> None:
        self.total += 1
        self.ok += ok
        self.latencies.append(seconds)

    def rate(self) -> str:
        return f"{100.0 * self.ok / self.total:.1f} % ({self.ok}/{self.total})" if self.total else "-"

    def p(self, q: float) -> str:
        if not self.latencies:
            return "-"
        ordered = sorted(self.latencies)
        return f"{1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]:.0f}"


class Legit:
    """The whitelisted AI host: C-ECHO, C-STORE and /healthz in three loops until stopped."""

    def __init__(self, module: Module, objects: Path) -> None:
        self.module, self.objects = module, objects
        self.acknowledged: list[str] = []
        self._counter = 0
        self._lock = threading.Lock()

    def measure(self, seconds: float, min_each: int = 0) -> dict[str, Tally]:
        tallies = {"C-ECHO": Tally(), "C-STORE": Tally(), "/healthz": Tally()}
        stop = threading.Event()
        end = time.monotonic() + seconds

        def loop(kind: str, action: Callable[[], bool]) -> None:
            while not stop.is_set() and (time.monotonic() < end or tallies[kind].total < min_each):
                started = time.monotonic()
                ok = action()
                tallies[kind].add(ok, time.monotonic() - started)
                if kind == "/healthz":
                    stop.wait(0.02)

        actions = {"C-ECHO": lambda: dcmtk.echoscu(self.module.dicom_port).returncode == 0,
                   "C-STORE": self._store, "/healthz": lambda: _healthz(self.module.http_port)[0]}
        threads = [threading.Thread(target=loop, args=(k, a), daemon=True) for k, a in actions.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join(seconds + 120)
        stop.set()
        return tallies

    def _store(self) -> bool:
        with self._lock:
            self._counter += 1
            path = self.objects / f"sc{self._counter}.dcm"
        ds = make.sc(path, accession=f"ABUSE{self._counter}")
        result = dcmtk.storescu(self.module.dicom_port, path, timeout=60)
        ok = result.returncode == 0 and dcmtk.store_statuses(result.stderr) == ["Success"]
        if ok:
            with self._lock:
                self.acknowledged.append(str(ds.SOPInstanceUID))
        path.unlink()
        return ok


# ------------------------------------------------------------------------------------------------- abusers
def _sources(n: int, prefix: str = "127.0.0.") -> list[str]:
    return [f"{prefix}{2 + i % 120}" for i in range(n)]


def _send_until_closed(sock: socket.socket, first: bytes, budget: int, stop: threading.Event) -> int:
    """``first``, then zeros, until the server closes, ``budget`` bytes were sent, or ``stop``."""
    sent = 0
    zeros = b"\0" * 65536
    try:
        sock.sendall(first)
        sent += len(first)
        sock.settimeout(2)
        while sent < budget and not stop.is_set():
            sent += sock.send(zeros)
    except OSError:
        pass
    return sent


def abuse_rq_4gb(port: int, http: int, stop: threading.Event) -> str:
    sent = 0
    while not stop.is_set() and sent < GB:
        try:
            with raw.connect(port, "127.0.0.2") as s:
                sent += _send_until_closed(s, raw.header(0x01, 4 * GB - 1), GB - sent, stop)
        except OSError:
            stop.wait(0.05)
    return f"{sent / 1024**2:.0f} MB sent"


def abuse_pdata_4gb(port: int, http: int, stop: threading.Event) -> str:
    sent = 0
    while not stop.is_set() and sent < GB:
        try:
            s = raw.associated(port, "127.0.0.2", calling="MODALITY")
            with s:
                sent += _send_until_closed(s, raw.header(0x04, 4 * GB - 1), GB - sent, stop)
        except (OSError, AssertionError):
            stop.wait(0.05)
    return f"{sent / 1024**2:.0f} MB sent"


def _hold(make_conn: Callable[[str], socket.socket | None], sources: list[str], stop: threading.Event) -> str:
    """Keep one connection per entry of ``sources`` open (reconnecting when the server closes it)."""
    opened = [0]

    def keep(source: str) -> None:
        while not stop.is_set():
            try:
                sock = make_conn(source)
            except OSError:
                stop.wait(0.2)
                continue
            if sock is None:
                continue
            opened[0] += 1
            with sock:
                sock.settimeout(0.5)
                while not stop.is_set():
                    try:
                        if not sock.recv(4096):
                            break
                    except TimeoutError:
                        continue
                    except OSError:
                        break
            stop.wait(0.1)

    threads = [threading.Thread(target=keep, args=(src,), daemon=True) for src in sources]
    for t in threads:
        t.start()
    stop.wait()
    for t in threads:
        t.join(5)
    return f"{opened[0]} connections opened"


def abuse_partial_300(port: int, http: int, stop: threading.Event) -> str:
    def conn(source: str) -> socket.socket:
        s = raw.connect(port, source)
        s.sendall(raw.header(0x01, 200_000) + b"\0\x01\0\0")  # 10 bytes of a 200 KB A-ASSOCIATE-RQ
        return s

    return _hold(conn, _sources(300, "127.0.0."), stop)


def abuse_scan_9(port: int, http: int, stop: threading.Event) -> str:
    count = 0
    while not stop.is_set():
        socks = []
        for source in _sources(9):
            try:
                socks.append(raw.connect(port, source, timeout=2))
            except OSError:
                pass
        for s in socks:
            s.close()
        count += len(socks)
        stop.wait(0.05)
    return f"{count} connections opened and closed"


def abuse_slow_rq_10(port: int, http: int, stop: threading.Event) -> str:
    request = raw.associate_rq("MODALITY")
    sent = [0]

    def trickle(source: str) -> None:
        while not stop.is_set():
            try:
                with raw.connect(port, source) as s:
                    for byte in request:
                        if stop.wait(1.0):
                            return
                        s.sendall(bytes([byte]))
                        sent[0] += 1
            except OSError:
                stop.wait(0.2)

    threads = [threading.Thread(target=trickle, args=(src,), daemon=True) for src in _sources(10)]
    for t in threads:
        t.start()
    stop.wait()
    for t in threads:
        t.join(5)
    return f"{sent[0]} bytes trickled"


def abuse_not_whitelisted(port: int, http: int, stop: threading.Event) -> str:
    request = raw.associate_rq("MODALITY")
    count = 0
    while not stop.is_set():
        try:
            with raw.connect(port, f"127.0.1.{2 + count % 100}", timeout=2) as s:
                s.sendall(request)
                raw.closed_within(s, 2)
            count += 1
        except OSError:
            count += 1
            stop.wait(0.01)
    return f"{count} connections"


def abuse_http_1gb(port: int, http: int, stop: threading.Event) -> str:
    sent = 0
    while not stop.is_set() and sent < GB:
        try:
            with raw.connect(http, "127.0.0.2") as s:
                head = f"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: {GB}\r\n\r\n".encode()
                sent += _send_until_closed(s, head, GB - sent, stop)
        except OSError:
            stop.wait(0.05)
    return f"{sent / 1024**2:.0f} MB sent"


def _slow_http(http: int, sources: list[str], stop: threading.Event) -> str:
    lines = [0]

    def slow(source: str) -> None:
        while not stop.is_set():
            try:
                with raw.connect(http, source) as s:
                    s.sendall(b"GET /api/exams HTTP/1.1\r\n")
                    while not stop.wait(1.0):
                        s.sendall(b"X-Slow: 1\r\n")
                        lines[0] += 1
            except OSError:
                stop.wait(0.1)

    threads = [threading.Thread(target=slow, args=(src,), daemon=True) for src in sources]
    for t in threads:
        t.start()
    stop.wait()
    for t in threads:
        t.join(5)
    return f"{lines[0]} header lines trickled"


def abuse_http_slow_8(port: int, http: int, stop: threading.Event) -> str:
    return _slow_http(http, ["127.0.0.2"] * 8, stop)


def abuse_http_slow_8_hosts(port: int, http: int, stop: threading.Event) -> str:
    return _slow_http(http, _sources(8), stop)


def abuse_http_slow_32_hosts(port: int, http: int, stop: threading.Event) -> str:
    return _slow_http(http, _sources(32), stop)


ROWS: dict[str, tuple[str, Callable[[int, int, threading.Event], str]]] = {
    "rq-4gb": ("A-ASSOCIATE-RQ header declaring 4 GB, then zeros (up to 1 GB in all)", abuse_rq_4gb),
    "pdata-4gb": ("after association, a P-DATA header declaring 4 GB, then zeros (up to 1 GB)", abuse_pdata_4gb),
    "partial-300": ("300 connections (119 hosts) each sending 10 bytes of a 200 KB A-ASSOCIATE-RQ", abuse_partial_300),
    "scan-9": ("port scan: 9 connections that close without sending, again and again", abuse_scan_9),
    "slow-rq-10": ("10 connections sending a valid A-ASSOCIATE-RQ at 1 byte/s", abuse_slow_rq_10),
    "not-whitelisted": ("A-ASSOCIATE-RQs from 127.0.1.x, an address no peer admits", abuse_not_whitelisted),
    "http-1gb": ("POST /healthz with a 1 GB body (unauthenticated)", abuse_http_1gb),
    "http-slow-8": ("8 slow HTTP requests (a header line per second) from one host", abuse_http_slow_8),
    "http-slow-8-hosts": ("8 slow HTTP requests from 8 hosts", abuse_http_slow_8_hosts),
    "http-slow-32-hosts": ("32 slow HTTP requests from 32 hosts (twice http.threads)", abuse_http_slow_32_hosts),
}


# ------------------------------------------------------------------------------------- single-shot answers
def answers(module: Module, work: Path) -> list[tuple[str, str, str]]:
    """The "every wrong request gets the standard answer" rows: (what, expected, got)."""
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset

    def encode(ds: object, implicit: bool = False) -> bytes:
        fp = DicomBytesIO()
        fp.is_little_endian, fp.is_implicit_VR = True, implicit
        write_dataset(fp, ds)
        return fp.getvalue()

    def store(blob: bytes, sop_class: str, sop: str, context: int) -> str:
        sock = raw.associated(module.dicom_port, calling="DEMO_AI", contexts=(make.SC, make.COMPREHENSIVE_SR))
        try:
            status = raw.c_store(sock, blob, sop_class, sop, context_id=context)
        finally:
            raw.release(sock)
            sock.close()
        return "none" if status is None else f"0x{status:04X}"

    sr = make.sr(work / "sr.dcm")
    del sr.file_meta
    sc = make.sc(work / "sc.dcm")
    del sc.file_meta
    out = [
        ("SR sent on the Secondary Capture context", "0xA900", store(encode(sr), make.COMPREHENSIVE_SR,
                                                                     sr.SOPInstanceUID, 1)),
        ("random bytes as a data set", "0xC000", store(os.urandom(4096), make.SC, "1.2.3.4.5", 1)),
        ("implicit VR bytes on an explicit VR context", "0xC000", store(encode(sc, True), make.SC, sc.SOPInstanceUID, 1)),
    ]
    spaced = encode(sc)
    marker = str(sc.SeriesInstanceUID).encode()
    at = spaced.find(marker)
    bad = b" " + marker[:-1] if len(marker) % 2 == 0 else b" " + marker
    spaced = spaced[:at - 2] + len(bad).to_bytes(2, "little") + bad + spaced[at + len(marker):]
    out.append(("SeriesInstanceUID with a leading space", "0xC010", store(spaced, make.SC, sc.SOPInstanceUID, 1)))
    import base64

    auth = base64.b64encode(b"bench:bench-pass").decode()
    with raw.connect(module.http_port) as s:
        s.sendall(f"GET /api/exams?to=9999-12-31 HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\n"
                  "Connection: close\r\n\r\n".encode())
        s.settimeout(5)
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    status_line = data.split(b"\r\n", 1)[0].decode()
    body = data.split(b"\r\n\r\n", 1)[-1].decode("utf-8", "replace")
    out.append(("GET /api/exams?to=9999-12-31", "400 naming `to`", f"{status_line[9:12]} {body[:80]}"))
    bad_cfg = work / "bad.toml"
    bad_cfg.write_text('[database]\nurl = "notadb://x"\n[worker]\nenabled = false\n', encoding="utf-8")
    for command in (("config", "check"), ("run",)):
        done = subprocess.run([sys.executable, "-m", "ris_ai_module", "--config", str(bad_cfg), *command],
                              capture_output=True, text=True, timeout=60, env=dict(os.environ, PYTHONPATH=str(ROOT)))
        tb = "traceback" if "Traceback" in done.stderr else "no traceback"
        out.append((f'database.url = "notadb://x": {" ".join(command)}', "exit 2, names the key, no traceback",
                    f"exit {done.returncode}, {tb}: {done.stderr.strip().splitlines()[-1][:70]}"))
    return out


# -------------------------------------------------------------------------------------------------- report
def lost(module: Module, acknowledged: list[str]) -> int:
    with sqlite3.connect(module.folder / "ris.db") as db:
        rows = {r[0]: r[1] for r in db.execute("SELECT sop_instance_uid, file_path FROM rai_object")}
    missing = 0
    for sop in acknowledged:
        path = rows.get(sop)
        if path is None or not (module.folder / "storage" / path).is_file():
            missing += 1
    return missing


def _run_abuser(abuser: Callable[[int, int, threading.Event], str], module: Module, stop: threading.Event,
                note: list[str]) -> None:
    note.append(abuser(module.dicom_port, module.http_port, stop))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="abuse duration per row")
    parser.add_argument("--after", type=float, default=5.0, help="measurement after each row")
    parser.add_argument("--rows", default="all")
    parser.add_argument("--out", default=str(ROOT / "bench" / "RESULTS-abuse.md"))
    parser.add_argument("--json", default="", help="also write the key figures as JSON (for the CI test)")
    args = parser.parse_args()
    rows = list(ROWS) if args.rows == "all" else args.rows.split(",")
    work = Path(tempfile.mkdtemp(prefix="rai-bench-abuse-"))
    module = Module(work / "module")
    module.folder.mkdir()
    objects = work / "objects"
    objects.mkdir()
    random.seed(12)
    results = []
    try:
        module.start()
        legit = Legit(module, objects)
        legit.measure(3.0)  # warm-up
        time.sleep(2)
        idle = module.sample()
        print(f"idle: RSS {idle[0] / 1024:.0f} MB, {idle[1]} threads, {idle[2]} open files", flush=True)
        for name in rows:
            what, abuser = ROWS[name]
            before = module.sample()
            sampler = Sampler(module)
            sampler.start()
            stop = threading.Event()
            note: list[str] = []
            thread = threading.Thread(target=_run_abuser, args=(abuser, module, stop, note), daemon=True)
            thread.start()
            time.sleep(1.0)  # the abuse is under way
            during = legit.measure(args.seconds, min_each=0)
            stop.set()
            thread.join(30)
            after_tally = legit.measure(args.after)
            time.sleep(1.0)
            sampler.stop.set()
            sampler.join()
            after = module.sample()
            alive = module.proc is not None and module.proc.poll() is None
            results.append((name, what, note[0] if note else "-", during, after_tally, before, sampler.peak, after, alive))
            print(f"{name}: echo {during['C-ECHO'].rate()} store {during['C-STORE'].rate()} "
                  f"healthz {during['/healthz'].rate()} max {during['/healthz'].p(1.0)} ms; RSS "
                  f"{before[0] // 1024}/{sampler.peak[0] // 1024}/{after[0] // 1024} MB; {note[0] if note else ''}",
                  flush=True)
        shots = answers(module, work)
        missing = lost(module, legit.acknowledged)
        write_report(Path(args.out), args, idle, results, shots, len(legit.acknowledged), missing)
        if args.json:
            import json

            Path(args.json).write_text(json.dumps({
                "idle_rss_kb": idle[0], "acknowledged": len(legit.acknowledged), "lost": missing,
                "answers": [{"request": w, "expected": e, "got": g} for w, e, g in shots],
                "rows": {name: {"alive": alive, "rss_kb": [before[0], peak[0], after[0]],
                                "during": {k: [t.ok, t.total, max(t.latencies or [0])] for k, t in during.items()},
                                "after": {k: [t.ok, t.total] for k, t in after_t.items()}}
                         for name, _w, _n, during, after_t, before, peak, after, alive in results},
            }), encoding="utf-8")
        print(f"written {args.out}")
    finally:
        module.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


def write_report(out: Path, args: argparse.Namespace, idle: tuple[int, int, int], results: list, shots: list,
                 acknowledged: int, missing: int) -> None:
    mb = lambda kb: f"{kb / 1024:.0f}"  # noqa: E731
    lines = [
        "# Abuse benchmark (issue 12)", "",
        f"`python bench/abuse.py --seconds {args.seconds:g}` on {platform.node() or 'the test machine'} "
        f"(Python {platform.python_version()}, {os.cpu_count()} cores, shared with other sessions), "
        f"{time.strftime('%Y-%m-%d')}. One `ris-ai-module run` (SQLite demo RIS, SCP, HTTP API, worker + SR_APPLY "
        "helper); the legitimate peer is DCMTK echoscu/storescu and GET /healthz from 127.0.0.1, the abusers come "
        "from 127.0.0.2+ (inside a whitelisted LAN range, so they reach the deeper limits) or 127.0.1.x "
        "(outside every whitelist).", "",
        f"Idle: RSS {mb(idle[0])} MB (main + helper), {idle[1]} threads, {idle[2]} open files.", "",
        "## During each abuse", "",
        "| row | what the abuser sent | C-ECHO ok | C-STORE ok | /healthz ok | C-ECHO p50/p99 ms | C-STORE p50/p99 ms "
        "| /healthz p99/max ms | RSS before/peak/after MB | threads before/peak/after | files before/peak/after "
        "| abuser |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, what, note, during, _after, before, peak, after, _alive in results:
        e, s, h = during["C-ECHO"], during["C-STORE"], during["/healthz"]
        lines.append(f"| {name} | {what} | {e.rate()} | {s.rate()} | {h.rate()} | {e.p(0.5)}/{e.p(0.99)} | "
                     f"{s.p(0.5)}/{s.p(0.99)} | {h.p(0.99)}/{h.p(1.0)} | {mb(before[0])}/{mb(peak[0])}/{mb(after[0])} | "
                     f"{before[1]}/{peak[1]}/{after[1]} | {before[2]}/{peak[2]}/{after[2]} | {note} |")
    lines += ["", f"## In the {args.after:g} s after each abuse", "",
              "| row | C-ECHO ok | C-STORE ok | /healthz ok | /healthz max ms | process alive |", "|---|---:|---:|---:|---:|---|"]
    for name, _what, _note, _during, after, *_rest, alive in results:
        lines.append(f"| {name} | {after['C-ECHO'].rate()} | {after['C-STORE'].rate()} | {after['/healthz'].rate()} | "
                     f"{after['/healthz'].p(1.0)} | {'yes' if alive else 'NO'} |")
    totals = {k: sum(r[3][k].total for r in results) for k in ("C-ECHO", "C-STORE", "/healthz")}
    worst = {k: min((100.0 * r[3][k].ok / r[3][k].total) for r in results if r[3][k].total) for k in totals}
    peak_growth = max(r[6][0] - idle[0] for r in results) / 1024
    after_growth = max(r[7][0] - idle[0] for r in results) / 1024
    healthz_max = max(max(r[3]["/healthz"].latencies or [0]) for r in results)
    lines += ["", "## Aims (issue 12)", "", "| aim | this run | met |", "|---|---:|---|",
              f"| >= 200 legitimate requests per abuse | min {min(sum(r[3][k].total for k in totals) for r in results)} "
              f"per row | {'yes' if all(sum(r[3][k].total for k in totals) >= 200 for r in results) else 'no'} |",
              f"| >= 99 % of C-ECHOs succeed during each abuse | worst row {worst['C-ECHO']:.1f} % | "
              f"{'yes' if worst['C-ECHO'] >= 99 else 'no'} |",
              f"| >= 99 % of C-STOREs succeed during each abuse | worst row {worst['C-STORE']:.1f} % | "
              f"{'yes' if worst['C-STORE'] >= 99 else 'no'} |",
              f"| /healthz answers within 1 s | slowest {1000 * healthz_max:.0f} ms; worst row {worst['/healthz']:.1f} % ok | "
              f"{'yes' if healthz_max < 1 and worst['/healthz'] == 100 else 'no'} |",
              f"| RSS never > idle + 50 MB | peak + {peak_growth:.0f} MB | {'yes' if peak_growth <= 50 else 'no'} |",
              f"| RSS back within 20 MB of idle after | + {after_growth:.0f} MB | {'yes' if after_growth <= 20 else 'no'} |",
              f"| nothing acknowledged is lost | {acknowledged} acknowledged, {missing} without row+file | "
              f"{'yes' if missing == 0 else 'no'} |",
              "", "## Wrong requests get the standard answer", "", "| request | expected | answer |", "|---|---|---|"]
    for what, expected, got in shots:
        lines.append(f"| {what} | {expected} | {got.replace('|', '/')} |")
    lines += ["", "Totals: " + ", ".join(f"{k} {v}" for k, v in totals.items()) + " legitimate requests.",
              "RSS is VmRSS summed over `run` and its SR_APPLY helper, sampled every 0.1 s; threads and open files "
              "are summed the same way."]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
