"""An installed wheel (not the source tree) carries what `init-demo` needs: migrations, DBA scripts,
the SR catalog, templates and the example configuration."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_installs_and_runs_the_demo_outside_the_source_tree(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTHONPATH", raising=False)  # the installed copy, not the tree conftest points at
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps",
                            "-q", "-w", str(wheels)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=True)  # dependencies come from the host
    python = env_dir / ("Scripts" if sys.platform == "win32" else "bin") / "python"
    wheel = next(wheels.glob("ris_ai_module-*.whl"))
    install = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--force-reinstall", "-q", str(wheel)],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    outside = tmp_path / "elsewhere"
    outside.mkdir()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(python), "-m", "ris_ai_module", *args], cwd=outside, capture_output=True,
                              text=True, timeout=120)

    where = subprocess.run([str(python), "-c", "import ris_ai_module; print(ris_ai_module.__file__)"], cwd=outside,
                           capture_output=True, text=True, timeout=60)
    assert str(env_dir) in where.stdout, "the test must exercise the installed copy"
    demo = cli("init-demo", "demo", "--dicom-port", "11555", "--http-port", "18555")
    assert demo.returncode == 0, demo.stderr
    assert cli("config", "check", "demo/ris-ai-module.toml").returncode == 0
    example = cli("config", "example")
    assert example.returncode == 0 and "[push.retry]" in example.stdout
    tasks = cli("--config", "demo/ris-ai-module.toml", "tasks", "--json")
    assert tasks.returncode == 0 and tasks.stdout.strip() == "[]"
