"""`ris-ai-module demo` as a newcomer runs it: no arguments, no other tool; three exams go out, the simulated
AI answers, three reports are filled and printed with timing lines, exit 0 within a minute.
`demo-exam` refuses a database that is not the demo RIS."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_demo_runs_the_whole_loop_and_prints_three_filled_reports() -> None:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "ris_ai_module", "demo"], capture_output=True, text=True,
                          timeout=120)
    elapsed = time.monotonic() - started
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "Traceback" not in out + done.stderr
    assert elapsed < 60, f"demo took {elapsed:.1f}s"
    assert "3 reports written" in out
    reports = re.split(r"^── ", out, flags=re.M)[1:]
    assert [r.split()[0] for r in reports] == ["E1001", "E1002", "E1003"]
    echo, ob, carotid = reports
    # adult echo: the Chinese findings paragraph and the measurement table with every category
    assert "左心室内径：左室舒张末期内径" in echo and "组织多普勒" in echo
    for key in ("LVIDd", "IVSd", "LVPWd", "LVEF_BIPLANE", "FS", "MV_E", "AV_VMAX", "PV_VMAX", "TR_VMAX",
                "E_PRIME_SEPTAL", "A_PRIME_LATERAL", "TV_S_PRIME"):
        assert re.search(rf"^  {key}\s+\S+\s+[\d.]+", echo, flags=re.M), key
    lvef = float(re.search(r"^  LVEF_BIPLANE\s+\S+\s+([\d.]+) %", echo, flags=re.M).group(1))
    assert 50 <= lvef <= 75
    lvidd = float(re.search(r"^  LVIDd\s+\S+\s+([\d.]+) mm", echo, flags=re.M).group(1))
    assert 40 <= lvidd <= 56  # written in mm although the SR carries cm
    for key, unit in (("BPD", "mm"), ("HC", "mm"), ("AC", "mm"), ("FL", "mm"), ("EFW", "g")):
        assert re.search(rf"^  {key}\s+\S+\s+[\d.]+ {unit}$", ob, flags=re.M), key
    for key in ("UA_RI", "UA_SD", "MCA_PSV"):  # fetal Doppler in its vessel containers (TID 5025)
        assert re.search(rf"^  {key}\s", ob, flags=re.M), key
    ri, sd = (float(re.search(rf"^  {k}\s+\S+\s+([\d.]+)", ob, flags=re.M).group(1)) for k in ("UA_RI", "UA_SD"))
    assert sd == pytest.approx(1 / (1 - ri), rel=0.03)  # S/D = 1 / (1 - RI) for one waveform

    def value(key: str) -> float:
        return float(re.search(rf"^  {key}\s+\S+\s+([\d.]+)", carotid, flags=re.M).group(1))

    for side in ("R", "L"):  # per side and vessel (TID 5103/5104), the ratio consistent with the velocities
        assert value(f"ICA_CCA_RATIO_{side}") == pytest.approx(value(f"ICA_PSV_{side}") / value(f"CCA_PSV_{side}"),
                                                               abs=0.011)
        assert value(f"CCA_EDV_{side}") < value(f"CCA_PSV_{side}")
    timings = re.findall(r"^  (E100\d) .*started 0.00s → pushed ([\d.]+)s → AI received ([\d.]+)s → "
                         r"SC/SR stored ([\d.]+)s → report written ([\d.]+)s$", out, flags=re.M)
    assert [t[0] for t in timings] == ["E1001", "E1002", "E1003"]
    for _key, *steps in timings:
        pushed, received, stored, written = map(float, steps)
        assert pushed <= received + 0.05 <= stored + 0.05 and stored <= written < 30
    assert "等待 waiting" in out  # progress shown while it waits


def test_demo_exam_refuses_a_database_that_is_not_the_demo_ris(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "other.db"}"\n[push]\nurl = "http://127.0.0.1:9/"\n',
                      encoding="utf-8")
    subprocess.run([sys.executable, "-m", "ris_ai_module", "--config", str(config), "init-db"], check=True,
                   capture_output=True, timeout=60)
    done = subprocess.run([sys.executable, "-m", "ris_ai_module", "--config", str(config), "demo-exam", "start",
                           "E1"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "database.url" in done.stderr and "not the demo RIS" in done.stderr and "Traceback" not in done.stderr


def test_the_walk_through_by_hand_registers_starts_and_shows(tmp_path: Path) -> None:
    """README: init-demo, simulate-ai, run; then demo-exam register/start/show fills a report."""
    from tests.integration.tasks.processes import start_run, stop
    from tests.support import free_port, wait_until

    dicom, http, sim_port = free_port(), free_port(), free_port()
    folder = tmp_path / "demo"
    subprocess.run([sys.executable, "-m", "ris_ai_module", "init-demo", str(folder), "--dicom-port", str(dicom),
                    "--http-port", str(http), "--ai-url", f"http://127.0.0.1:{sim_port}/api/exams"],
                   check=True, capture_output=True, timeout=120)
    config = folder / "ris-ai-module.toml"
    sim = subprocess.Popen([sys.executable, "-m", "ris_ai_module", "simulate-ai", "--port", str(sim_port),
                            "--dicom-port", "0", "--send-to", f"127.0.0.1:{dicom}", "--result-delay", "0.2"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    run = start_run(config)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "ris_ai_module", "--config", str(config), *args],
                              capture_output=True, text=True, timeout=60)
    try:
        reg = cli("demo-exam", "register", "E2001", "--patient-id", "P2001", "--patient-name", "钱七",
                  "--sex", "女", "--items", "甲状腺彩超", "--accession", "A2001")
        assert reg.returncode == 0, reg.stderr
        assert cli("demo-exam", "start", "E2001").returncode == 0
        assert wait_until(lambda: "LESION_LENGTH" in cli("demo-exam", "show", "E2001").stdout, timeout=40,
                          interval=0.5), stop(run)
        shown = cli("demo-exam", "show", "E2001").stdout
        assert "THYROID_LOBE_LENGTH" in shown and "甲状腺侧叶长径" in shown
        again = cli("demo-exam", "register", "E2001", "--patient-id", "P", "--patient-name", "x", "--items", "y")
        assert again.returncode == 2 and "already registered" in again.stderr
    finally:
        stop(run)
        sim.terminate()
        log = sim.communicate(timeout=20)[0]
    assert "exam received: key=E2001 accession=A2001 patient=P2001 钱*" in log
    assert "objects stored at RIS_AI" in log
