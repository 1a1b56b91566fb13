"""Benchmark of the results-in path (not a test): C-STORE ingest rate, memory, and SR -> report latency.

    python bench/ingest.py [--sr 200] [--sc 200] [--us 5] [--receivers module,storescp,pynetdicom,orthanc]
                           [--latency-samples 100] [--out bench/RESULTS-ingest.md]

DCMTK ``storescu`` (``TCP_NODELAY=1``: Debian's DCMTK otherwise waits ~40 ms per PDU) sends three sets, one
association each: SR of ~50 KB, Secondary Capture of ~1.4 MB, Ultrasound multi-frame of ~144 MB. Receivers:

* ``module``: ``ris-ai-module run`` on the demo installation (``init-demo``: SQLite demo RIS, report targets;
  store + index + link + SR_APPLY); ``module-noapply``: the same with the worker off (store + index + link);
* ``storescp``: DCMTK ``storescp -od`` (``TCP_NODELAY=1``);
* ``pynetdicom``: ``python -m pynetdicom storescp -od``;
* ``orthanc``: Debian's Orthanc with ``TCP_NODELAY=1`` (skipped when not installed).

Per set: wall time of the storescu run (for ``module``: until every SR_APPLY of the set has also run),
instances/s, MB/s, and the receiver's peak RSS (VmHWM, plus its child processes') after the set
(cumulative: sets run SR, SC, US in that order). For the module also: C-STORE of an SR (pynetdicom SCU, one
association, one SR at a time) -> its row visible in RIS_REPORT_MEASURE, p50/p99.
Objects are generated at run time (the US frames are sparse files: zeros that read back fast).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.dicom import objects as make  # noqa: E402

ENV = dict(os.environ, TCP_NODELAY="1", PYTHONPATH=str(ROOT))  # the module runs from this checkout
SETS = ("SR", "SC", "US")
MODULE_MAX_PDU = ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dcmtk(name: str) -> str:
    """The DCMTK tool, not pynetdicom's console script of the same name (which can come first on PATH)."""
    for folder in os.environ.get("PATH", "").split(os.pathsep) + ["/usr/bin"]:
        path = Path(folder) / name
        if path.is_file():
            out = subprocess.run([str(path), "--version"], capture_output=True, text=True)
            if "$dcmtk" in out.stdout + out.stderr:
                return str(path)
    raise SystemExit(f"DCMTK {name} not found")


# --------------------------------------------------------------------------------------------- data sets
def big_sr(path: Path, target_bytes: int = 50_000, **kw: object) -> None:
    """An SR of about ``target_bytes``: the test helper's SR with many LVIDd measurements."""
    from pydicom import dcmread

    make.sr(path, **kw)
    ds = dcmread(path)
    item = ds.ContentSequence[0]
    item.ConceptNameCodeSequence[0].CodeValue = "29436-3"
    item.ConceptNameCodeSequence[0].CodeMeaning = "Left Ventricular Internal Diastolic Dimension"
    item.MeasuredValueSequence[0].NumericValue = "48"
    item.MeasuredValueSequence[0].MeasurementUnitsCodeSequence[0].CodeValue = "mm"
    item.MeasuredValueSequence[0].MeasurementUnitsCodeSequence[0].CodeMeaning = "millimeter"
    copies = max(1, target_bytes // 260)
    ds.ContentSequence = [item] + [_copy(item) for _ in range(copies - 1)]
    ds.save_as(path, enforce_file_format=True)


def _copy(item: object) -> object:
    import copy

    return copy.deepcopy(item)


def sc_image(path: Path) -> None:
    from pydicom import dcmread

    make.sc(path, side=16)
    ds = dcmread(path)
    ds.Rows, ds.Columns = 1000, 1400
    ds.PixelData = bytes(range(256)) * (1400 * 1000 // 256) + bytes(1400 * 1000 % 256)
    ds.save_as(path, enforce_file_format=True)


def generate(folder: Path, n_sr: int, n_sc: int, n_us: int) -> dict[str, list[Path]]:
    sets: dict[str, list[Path]] = {k: [] for k in SETS}
    for name in SETS:
        (folder / name).mkdir(parents=True, exist_ok=True)
    template = folder / "SR" / "template.dcm"
    big_sr(template, accession="A20261127001")
    for i in range(n_sr):
        from pydicom import dcmread
        from pydicom.uid import generate_uid

        ds = dcmread(template)
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        path = folder / "SR" / f"{i:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        sets["SR"].append(path)
    template.unlink()
    sc_template = folder / "SC" / "template.dcm"
    sc_image(sc_template)
    for i in range(n_sc):
        from pydicom import dcmread
        from pydicom.uid import generate_uid

        ds = dcmread(sc_template)
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        path = folder / "SC" / f"{i:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        sets["SC"].append(path)
    sc_template.unlink()
    for i in range(n_us):
        path = folder / "US" / f"{i:04d}.dcm"
        make.big_multiframe(path, 144 * 1024**2, sop_class=make.US_MF)
        sets["US"].append(path)
    return sets


# --------------------------------------------------------------------------------------------- receivers
@dataclass
class Receiver:
    name: str
    port: int
    aet: str
    proc: subprocess.Popen[bytes] | None = None
    folder: Path | None = None
    db: Path | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def peak_rss_mb(self) -> float:
        """VmHWM of the receiver plus that of every process it started (the module's SR parser helper):
        an upper bound of the peak, as the peaks need not coincide."""
        assert self.proc is not None
        return sum(_hwm_kb(pid) for pid in [self.proc.pid, *_descendants(self.proc.pid)]) / 1024

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            children = [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        for child in children:
            found += [child, *_descendants(child)]
    return found


def wait_applied(receiver: Receiver, timeout: float = 120) -> None:
    """Until no SR_APPLY task is waiting or running: the module's SR set counts store + index + apply."""
    assert receiver.db is not None
    db = sqlite3.connect(f"file:{receiver.db}?mode=ro", uri=True, timeout=30)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            left = db.execute("SELECT COUNT(*) FROM rai_task WHERE kind = 'SR_APPLY' "
                              "AND status IN ('SCHEDULED', 'IN_PROCESS')").fetchone()[0]
            if not left:
                return
            time.sleep(0.005)
    finally:
        db.close()


def wait_echo(receiver: Receiver, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if receiver.proc is not None and receiver.proc.poll() is not None:
            raise SystemExit(f"{receiver.name} exited with {receiver.proc.returncode}")
        done = subprocess.run([dcmtk("echoscu"), "-aet", "DEMO_AI", "-aec", receiver.aet, "127.0.0.1",
                               str(receiver.port)], capture_output=True, env=ENV)
        if done.returncode == 0:
            return
        time.sleep(0.3)
    raise SystemExit(f"{receiver.name} did not answer C-ECHO")


def start(name: str, work: Path) -> Receiver | None:
    folder = work / f"rx-{name}"
    folder.mkdir()
    port = free_port()
    log = open(folder / "receiver.log", "wb")
    if name in ("module", "module-noapply"):
        subprocess.run([sys.executable, "-m", "ris_ai_module", "init-demo", str(folder), "--dicom-port", str(port),
                        "--http-port", str(free_port()), "--ai-url", f"http://127.0.0.1:{free_port()}/api/exams"],
                       check=True, capture_output=True)
        rx = Receiver(name, port, "RIS_AI", folder=folder, db=folder / "ris.db")
        if MODULE_MAX_PDU:  # --module-max-pdu: the module's dicom.max_pdu for this run (default: the shipped one)
            config = folder / "ris-ai-module.toml"
            config.write_text(config.read_text(encoding="utf-8").replace(
                "[dicom]\n", f'[dicom]\nmax_pdu = "{MODULE_MAX_PDU}"\n', 1), encoding="utf-8")
        if name == "module-noapply":  # store + index + link only: the worker (SR_APPLY) is off
            config = folder / "ris-ai-module.toml"
            config.write_text(config.read_text(encoding="utf-8").replace("[worker]\n", "[worker]\nenabled = false\n", 1),
                              encoding="utf-8")
        cmd = [sys.executable, "-m", "ris_ai_module", "--config", str(folder / "ris-ai-module.toml"), "run"]
    elif name == "storescp":
        (folder / "out").mkdir()
        rx = Receiver(name, port, "STORESCP", folder=folder)
        cmd = [dcmtk("storescp"), "-aet", "STORESCP", "-od", str(folder / "out"), str(port)]
    elif name == "pynetdicom":
        (folder / "out").mkdir()
        rx = Receiver(name, port, "STORESCP", folder=folder)
        cmd = [sys.executable, "-m", "pynetdicom", "storescp", str(port), "-aet", "STORESCP", "-od",
               str(folder / "out")]
    elif name == "orthanc":
        binary = shutil.which("Orthanc") or ("/usr/sbin/Orthanc" if Path("/usr/sbin/Orthanc").exists() else None)
        if binary is None:
            print("orthanc: not installed, skipped")
            return None
        config = {
            "Name": "bench", "StorageDirectory": str(folder / "db"), "IndexDirectory": str(folder / "db"),
            "DicomAet": "ORTHANC", "DicomPort": port, "HttpPort": free_port(), "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False, "Plugins": [], "DicomCheckCalledAet": False,
        }
        (folder / "orthanc.json").write_text(json.dumps(config))
        rx = Receiver(name, port, "ORTHANC", folder=folder)
        cmd = [binary, str(folder / "orthanc.json")]
    else:
        raise SystemExit(f"unknown receiver {name}")
    rx.proc = subprocess.Popen(cmd, cwd=folder, stdout=log, stderr=subprocess.STDOUT, env=ENV)
    log.close()
    wait_echo(rx)
    return rx


def send(receiver: Receiver, files: list[Path]) -> tuple[float, str]:
    """Seconds until storescu is done and, for the module with its worker on, every SR_APPLY has run."""
    started = time.perf_counter()
    done = subprocess.run([dcmtk("storescu"), "-aet", "DEMO_AI", "-aec", receiver.aet, "127.0.0.1",
                           str(receiver.port), *map(str, files)], capture_output=True, text=True, env=ENV)
    if receiver.name == "module":
        wait_applied(receiver)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        print(f"  {receiver.name}: storescu exit {done.returncode}: {done.stderr[-500:]}")
    return elapsed, done.stderr


def latency(receiver: Receiver, work: Path, samples: int) -> dict[str, float]:
    """C-STORE of one SR -> its row in RIS_REPORT_MEASURE (SOURCE_UID), in ms."""
    from pydicom import dcmread
    from pydicom.uid import generate_uid
    from pynetdicom import AE

    assert receiver.db is not None
    big_sr(work / "lat.dcm", target_bytes=5000, accession="A20261127001")
    template = dcmread(work / "lat.dcm")
    ae = AE(ae_title="DEMO_AI")
    ae.add_requested_context(make.COMPREHENSIVE_SR)
    assoc = ae.associate("127.0.0.1", receiver.port, ae_title=receiver.aet)
    # pynetdicom leaves Nagle on: command and data PDUs would wait for a delayed ACK (~40 ms)
    assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    db = sqlite3.connect(f"file:{receiver.db}?mode=ro", uri=True, timeout=30)
    visible, store_rtt, lost = [], [], 0
    try:
        for _ in range(samples):
            ds = template.copy()
            ds.SOPInstanceUID = generate_uid()
            sop = str(ds.SOPInstanceUID)
            t0 = time.perf_counter()
            status = assoc.send_c_store(ds)
            store_rtt.append((time.perf_counter() - t0) * 1000)
            if not status or status.Status != 0:
                lost += 1
                continue
            deadline = t0 + 5
            while time.perf_counter() < deadline:
                row = db.execute("SELECT 1 FROM ris_report_measure WHERE source_uid = ? LIMIT 1", (sop,)).fetchone()
                if row:
                    visible.append((time.perf_counter() - t0) * 1000)
                    break
                time.sleep(0.0005)
            else:
                lost += 1
            time.sleep(0.02)
    finally:
        db.close()
        assoc.release()
        ae.shutdown()

    def pct(values: list[float], q: float) -> float:
        if not values:
            return float("nan")
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]

    return {"p50": pct(visible, 0.5), "p99": pct(visible, 0.99), "store_p50": statistics.median(store_rtt),
            "n": len(visible), "lost": lost}


# --------------------------------------------------------------------------------------------- report
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sr", type=int, default=200)
    parser.add_argument("--sc", type=int, default=200)
    parser.add_argument("--us", type=int, default=5)
    parser.add_argument("--receivers", default="module,module-noapply,storescp,pynetdicom,orthanc")
    parser.add_argument("--latency-samples", type=int, default=100)
    parser.add_argument("--out", default=str(ROOT / "bench" / "RESULTS-ingest.md"))
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--module-max-pdu", default="", help='dicom.max_pdu for the module, e.g. "16KB" (default: shipped)')
    args = parser.parse_args()
    global MODULE_MAX_PDU
    MODULE_MAX_PDU = args.module_max_pdu

    work = Path(tempfile.mkdtemp(prefix="rai-bench-ingest-"))
    try:
        print(f"generating data in {work} ...")
        sets = generate(work / "data", args.sr, args.sc, args.us)
        sizes = {k: sum(p.stat().st_size for p in v) / 1e6 for k, v in sets.items()}
        results: dict[str, dict[str, dict[str, float]]] = {}
        lat: dict[str, float] | None = None
        for name in args.receivers.split(","):
            rx = start(name, work)
            if rx is None:
                continue
            try:
                results[name] = {}
                for set_name in SETS:
                    if not sets[set_name]:
                        continue
                    elapsed, _ = send(rx, sets[set_name])
                    n = len(sets[set_name])
                    results[name][set_name] = {
                        "seconds": elapsed, "per_s": n / elapsed, "mb_s": sizes[set_name] / elapsed,
                        "rss": rx.peak_rss_mb(),
                    }
                    r = results[name][set_name]
                    print(f"{name:10s} {set_name}: {n} in {elapsed:6.2f}s  {r['per_s']:7.1f}/s  "
                          f"{r['mb_s']:7.1f} MB/s  peak RSS {r['rss']:.0f} MB")
                if name == "module" and args.latency_samples:
                    lat = latency(rx, work, args.latency_samples)
                    print(f"module SR -> report row: p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms "
                          f"({lat['n']} samples, {lat['lost']} not visible within 5 s); C-STORE p50 "
                          f"{lat['store_p50']:.1f} ms")
            finally:
                rx.stop()
        write_report(Path(args.out), args, sets, sizes, results, lat)
        print(f"written: {args.out}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def write_report(out: Path, args: argparse.Namespace, sets: dict[str, list[Path]], sizes: dict[str, float],
                 results: dict[str, dict[str, dict[str, float]]], lat: dict[str, float] | None) -> None:
    lines = [
        "# Ingest benchmark (issue 4)", "",
        f"`python bench/ingest.py` on {platform.node() and 'the'} {os.cpu_count()}-core test machine "
        f"(Python {platform.python_version()}, loopback, DCMTK storescu with TCP_NODELAY=1), "
        f"{time.strftime('%Y-%m-%d')}. Other sessions share the cores: single figures vary, ratios less.", "",
        "Sets (one storescu association each): "
        + ", ".join(f"{k} {len(v)} x {sizes[k] / max(1, len(v)):.2f} MB" for k, v in sets.items() if v) + ".", "",
        "| receiver | set | seconds | instances/s | MB/s | peak RSS MB (cumulative) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, per_set in results.items():
        for set_name, r in per_set.items():
            lines.append(f"| {name} | {set_name} | {r['seconds']:.2f} | {r['per_s']:.1f} | {r['mb_s']:.1f} | "
                         f"{r['rss']:.0f} |")
    lines += ["", "Ratios (module / other; > 1 means the module is faster):", "",
              "| set | vs storescp | vs orthanc | vs pynetdicom storescp |", "|---|---:|---:|---:|"]
    module = results.get("module", {})
    for set_name in SETS:
        if set_name not in module:
            continue
        cells = []
        for other in ("storescp", "orthanc", "pynetdicom"):
            o = results.get(other, {}).get(set_name)
            cells.append(f"{o['seconds'] / module[set_name]['seconds']:.2f}x" if o else "-")
        lines.append(f"| {set_name} | " + " | ".join(cells) + " |")
    lines += aims(results, lat)
    if lat:
        lines += ["", f"SR C-STORE -> row visible in RIS_REPORT_MEASURE (module, pynetdicom SCU, one SR at a time, "
                      f"{lat['n']} samples, {lat['lost']} not visible within 5 s): p50 {lat['p50']:.1f} ms, "
                      f"p99 {lat['p99']:.1f} ms; the C-STORE itself p50 {lat['store_p50']:.1f} ms."]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def aims(results: dict[str, dict[str, dict[str, float]]], lat: dict[str, float] | None) -> list[str]:
    """The issue's aims, checked against this run."""
    m, dc, orth = results.get("module", {}), results.get("storescp", {}), results.get("orthanc", {})
    rows: list[tuple[str, str, bool | None]] = []

    def ratio(a: dict[str, dict[str, float]], b: dict[str, dict[str, float]], key: str) -> float | None:
        return a[key]["mb_s"] / b[key]["mb_s"] if key in a and key in b else None

    if "SR" in m and "SR" in dc:
        rows.append(("SR instances/s >= DCMTK storescp", f"{m['SR']['per_s']:.0f}/s vs {dc['SR']['per_s']:.0f}/s",
                     m["SR"]["per_s"] >= dc["SR"]["per_s"]))
    for key in ("SC", "US"):
        r_o, r_d = ratio(m, orth, key), ratio(m, dc, key)
        if r_o is not None:
            rows.append((f"{key} MB/s >= 1.5x Orthanc", f"{r_o:.2f}x", r_o >= 1.5))
        if r_d is not None:
            rows.append((f"{key} MB/s >= 0.5x DCMTK storescp", f"{r_d:.2f}x", r_d >= 0.5))
    if lat:
        rows.append(("SR -> report p99 <= 100 ms", f"{lat['p99']:.1f} ms", lat["p99"] <= 100))
    if m:
        peak = max(r["rss"] for r in m.values())
        rows.append(("peak RSS <= 150 MB", f"{peak:.0f} MB", peak <= 150))
    out = ["", "| aim (issue 4) | this run | met |", "|---|---:|---|"]
    out += [f"| {name} | {value} | {'yes' if ok else 'no'} |" for name, value, ok in rows]
    return out


if __name__ == "__main__":
    raise SystemExit(main())
