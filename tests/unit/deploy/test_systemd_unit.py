"""The shipped systemd unit is valid for systemd itself and hardened: a dedicated user, no privileges, a
read-only file system but for the module's state and log folders (checked by systemd-analyze, the tool
a Linux administrator and a 等保 assessor would run)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import missing_peer

UNIT = Path(__file__).resolve().parents[3] / "deploy" / "ris-ai-module.service"
EXE = "/opt/ris-ai-module/venv/bin/ris-ai-module"


@pytest.fixture
def analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        missing_peer("systemd-analyze (Debian package systemd)")
    return str(tool)


@pytest.fixture
def unit_copy(tmp_path: Path) -> Path:
    """The unit with its ExecStart pointing at an executable that exists here (verify checks that)."""
    exe = tmp_path / "ris-ai-module"
    exe.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    exe.chmod(0o755)
    copy = tmp_path / UNIT.name
    copy.write_text(UNIT.read_text(encoding="utf-8").replace(EXE, str(exe)), encoding="utf-8")
    return copy


def directives() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_systemd_analyze_verify_accepts_the_unit(analyze: str, unit_copy: Path) -> None:
    done = subprocess.run([analyze, "verify", str(unit_copy)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_systemd_rates_the_unit_exposure_ok(analyze: str, unit_copy: Path) -> None:
    # systemd's own scale: 0 = fully locked down, 10 = unprotected; below 2 it reads "OK". A default
    # service without any of these settings scores 9.6 ("UNSAFE").
    done = subprocess.run([analyze, "security", "--offline=yes", "--no-pager", str(unit_copy)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    score = float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", done.stdout).group(1))
    assert score < 2.0, done.stdout


def test_unit_runs_as_a_dedicated_user_with_limited_writable_paths() -> None:
    d = directives()
    assert d["User"] == ["ris-ai"] and d["Group"] == ["ris-ai"]
    assert d["NoNewPrivileges"] == ["true"] and d["CapabilityBoundingSet"] == [""]
    assert d["ProtectSystem"] == ["strict"] and d["ProtectHome"] == ["true"] and d["PrivateTmp"] == ["true"]
    assert d["ReadWritePaths"] == ["/var/lib/ris-ai-module /var/log/ris-ai-module"]
    # SIGTERM is the graceful stop of `run`; systemd waits long enough for a component's 30 s stop.
    assert d["KillSignal"] == ["SIGTERM"] and int(d["TimeoutStopSec"][0]) >= 30
    assert any(cmd.endswith(" run") for cmd in d["ExecStart"])
    sections = re.findall(r"^\[(\w+)\]$", UNIT.read_text(encoding="utf-8"), re.M)
    assert sections == ["Unit", "Service", "Install"]
