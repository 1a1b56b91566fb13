"""Benchmark of the FHIR delivery's own work (not a test): build + validate (fhir.resources R4B) + POST per result.

    python bench/fhir_delivery.py [--n 50] [--items 62]

A result set of ITEMS numeric values (the adult echo SR's size) is turned into a transaction Bundle, validated and
POSTed to a loopback HTTP server answering 200, N times on one thread; side by side, the floor: one prebuilt
Bundle POSTed N times. The task table (claim, attempt row) is not included: see bench/deliveries.py for that cost.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ris_ai_module.fhir.bundle import build_bundle  # noqa: E402
from ris_ai_module.fhir.client import FhirClient  # noqa: E402
from ris_ai_module.fhir.section import FhirConfig
from ris_ai_module.results.resultset import Code, ExamIdentity, ResultItem, ResultSet  # noqa: E402


class Ok(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--items", type=int, default=62)
    a = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    cfg = FhirConfig(base_url=f"http://127.0.0.1:{server.server_address[1]}/fhir")
    items = [ResultItem(key=f"K{i}", base_key=f"K{i}", name_zh=f"测量{i}", name_en=f"m{i}", value=40.0 + i, unit="mm",
                        display=f"{40 + i}mm", code=Code("LN", "29436-3", "LVIDd"), site="左心室") for i in range(a.items)]
    rs = ResultSet(ExamIdentity("E1", "P1", "张三", "M", None, "A1", "1.2.3"), items, "所见", "draft", None, "v", "APPLIED")
    client = FhirClient(cfg)
    rows = []
    for label, prebuilt in (("build + validate + POST", None), ("POST of a prebuilt Bundle (floor)", build_bundle(cfg, rs))):
        lat = []
        t0 = time.perf_counter()
        for _ in range(a.n):
            s = time.perf_counter()
            out = client.post(prebuilt if prebuilt is not None else build_bundle(cfg, rs))
            assert out.kind.value == "DONE", out.error
            lat.append((time.perf_counter() - s) * 1000)
        total = time.perf_counter() - t0
        lat.sort()
        rows.append(f"| {label} | {a.n / total:.0f} | {statistics.median(lat):.1f} ms / {lat[int(0.99 * (len(lat) - 1))]:.1f} ms |")
    print(f"{a.n} results, {a.items} Observations each, one thread")
    print("| FHIR delivery | per s | latency p50 / p99 |\n|---|---|---|")
    print("\n".join(rows))
    server.shutdown()


if __name__ == "__main__":
    main()
