"""The suite's own pytest configuration (setup.cfg [tool:pytest]): run with xdist workers as the README says,
no plugin's noise hides in the output (pytest-benchmark, where installed, warned once per worker that it is
disabled), while a warning a test really raises is still reported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_xdist_run_reports_real_warnings_and_no_plugin_noise(tmp_path: Path) -> None:
    (tmp_path / "test_probe.py").write_text(
        "import warnings\n\n"
        "def test_warns():\n"
        "    warnings.warn(UserWarning('a real warning from a test'))\n\n"
        "def test_quiet():\n"
        "    assert True\n", encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(ROOT / "setup.cfg"), "--rootdir", str(tmp_path), "-q", "-n", "2",
         "-p", "no:cacheprovider", str(tmp_path / "test_probe.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert "2 passed" in text, text
    assert "a real warning from a test" in text, text  # real warnings still shown
    assert "PytestBenchmarkWarning" not in text, text
