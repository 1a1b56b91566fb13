"""The offline install kit (deploy/build_kit.py) installs the module with pip's index switched off, into a
fresh venv that sees nothing of this machine's packages, and the installed module works (init-demo, config
check, parse-sr, and `ris-ai-module demo`, the whole loop): a hospital server with no internet gets a
working installation from the kit alone.

Only the Linux x86-64 kit for the running Python is built here (one target keeps CI short); the other
targets use the same code path with other --platform/--python-version values.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

import pytest

from tests.sr_fixtures.build import save
from tests.sr_fixtures.cases import adult_echo_full
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
PY = f"{sys.version_info.major}.{sys.version_info.minor}"

pytestmark = pytest.mark.skipif(sys.platform != "linux" or os.uname().machine != "x86_64",
                                reason="builds the Linux x86-64 kit")


def offline_env() -> dict[str, str]:
    """No pip configuration of this machine (its find-links and extra indexes) reaches the install, and no
    PYTHONPATH leads back to the source tree."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") and k != "PYTHONPATH"}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def test_kit_installs_offline_into_a_fresh_venv_and_runs(tmp_path: Path) -> None:
    kit = tmp_path / "kit"
    started = time.monotonic()
    build = subprocess.run([sys.executable, str(ROOT / "deploy" / "build_kit.py"), "--target", "linux-x86_64",
                            "--python", PY, "--out", str(kit)], capture_output=True, text=True, timeout=900)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    built_in = time.monotonic() - started
    requirements = kit / "requirements" / f"linux-x86_64-py{PY}.txt"
    pins = [line for line in requirements.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    names = {line.split("==")[0] for line in pins}
    # Every direct dependency of setup.cfg is in the kit, each pinned to one version with its hash.
    assert {"ris-ai-module", "sqlalchemy", "alembic", "pydicom", "pynetdicom", "apscheduler", "bottle", "cheroot",
            "oracledb", "psycopg", "psycopg-binary", "pymysql", "pypinyin", "requests", "cryptography",
            "pyotp"} <= names
    assert all("==" in p and " --hash=sha256:" in p for p in pins)
    assert ("tomli" in names) == (sys.version_info < (3, 11))
    assert "pywin32" not in names and "tzdata" not in names  # Windows-only dependencies stay out of a Linux kit
    # The checksum list is what coreutils checks on the hospital side.
    sums = subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=kit, capture_output=True, text=True)
    assert sums.returncode == 0, sums.stdout + sums.stderr

    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=False, with_pip=True)
    pip = [str(env_dir / "bin" / "python"), "-m", "pip"]
    install_cmd = [*pip, "install", "-q", "--no-index", "--find-links", "wheels", "-r", str(requirements)]

    # A wheel changed in transit is refused (its hash is in the requirements file), and nothing is installed.
    tampered = tmp_path / "tampered"
    shutil.copytree(kit, tampered)
    victim = next((tampered / "wheels").glob("bottle-*.whl"))
    victim.write_bytes(victim.read_bytes() + b"\0")
    refused = subprocess.run(install_cmd, cwd=tampered, capture_output=True, text=True, timeout=600, env=offline_env())
    assert refused.returncode != 0 and "DO NOT MATCH THE HASHES" in refused.stderr, refused.stderr[-2000:]

    started = time.monotonic()
    done = subprocess.run(install_cmd, cwd=kit, capture_output=True, text=True, timeout=600, env=offline_env())
    installed_in = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-3000:]
    check = subprocess.run([*pip, "check"], capture_output=True, text=True, timeout=120, env=offline_env())
    assert check.returncode == 0, check.stdout
    print(f"kit built in {built_in:.1f} s, installed offline in {installed_in:.1f} s")

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    exe = str(env_dir / "bin" / "ris-ai-module")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([exe, *args], cwd=outside, capture_output=True, text=True, timeout=120,
                              env=offline_env())

    where = subprocess.run([str(env_dir / "bin" / "python"), "-c", "import ris_ai_module, sqlalchemy;"
                            "print(ris_ai_module.__file__, sqlalchemy.__file__)"],
                           cwd=outside, capture_output=True, text=True, timeout=60, env=offline_env())
    assert where.stdout.count(str(env_dir)) == 2, "the module and its dependencies must come from the kit's venv"
    demo = cli("init-demo", "demo", "--dicom-port", str(free_port()), "--http-port", str(free_port()))
    assert demo.returncode == 0, demo.stderr
    assert cli("config", "check", "demo/ris-ai-module.toml").returncode == 0
    assert cli("--config", "demo/ris-ai-module.toml", "init-db").returncode == 0
    # The SR engine of the installed copy: of the fixture's LVIDd replicates 4.6 and 4.8 cm and their Mean
    # 4.7 cm (TID 300 derivation), the mean is reported, in mm; the EF without a method is 60 %.
    sr = save(adult_echo_full(), outside / "echo.dcm")
    parsed = cli("parse-sr", str(sr), "--format", "json")
    assert parsed.returncode == 0, parsed.stderr
    values = {m["key"]: (m["value"], m["unit"]) for m in json.loads(parsed.stdout)["measurements"]}
    assert values["LVIDd"] == (47.0, "mm") and values["LVEF"] == (60.0, "%")
    # The whole loop from the installed kit alone: exams out, the simulated AI's SC and SR in, reports written.
    loop = subprocess.run([exe, "demo"], cwd=outside, capture_output=True, text=True, timeout=300, env=offline_env())
    assert loop.returncode == 0, loop.stdout[-2000:] + loop.stderr[-2000:]
    assert "3 reports written" in loop.stdout
