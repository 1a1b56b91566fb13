"""bench/abuse.py, one second per row, against the real ``run`` process: after every row of issue 12's table
the process is alive and the legitimate peer (DCMTK echoscu/storescu, /healthz from 127.0.0.1) is served;
nothing acknowledged is lost; memory stays bounded; every wrong request got its standard answer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.integration.dicom import dcmtk

ROOT = Path(__file__).resolve().parents[2]


def test_every_abuse_row_leaves_the_module_serving(tmp_path: Path) -> None:
    dcmtk.tool("echoscu"), dcmtk.tool("storescu")  # the legitimate peer must be there (fails in CI if not)
    out = tmp_path / "abuse.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "abuse.py"), "--seconds", "1.5", "--after", "1.5",
                           "--out", str(tmp_path / "abuse.md"), "--json", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["lost"] == 0 and result["acknowledged"] > 0
    for name, row in result["rows"].items():
        assert row["alive"], name
        for kind, (ok, total) in row["after"].items():
            assert total > 0 and ok == total, (name, kind, ok, total)  # served again right after the abuse
        echo_ok, echo_total, _ = row["during"]["C-ECHO"]
        assert echo_total > 0 and echo_ok >= echo_total - 1, (name, row["during"])
        assert row["rss_kb"][1] - result["idle_rss_kb"] < 100 * 1024, (name, row["rss_kb"])  # no 1 GB buffered
    for answer in result["answers"]:
        assert answer["got"].startswith(answer["expected"].split(" ")[0]), answer
