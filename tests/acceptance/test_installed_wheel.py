"""An installed wheel (not the source tree) carries what `init-demo` and `demo` need: migrations, DBA scripts,
the SR catalog, templates, the push schema and the example configuration."""

from __future__ import annotations

import os
import site
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
    venv.create(env_dir, system_site_packages=False, with_pip=True)
    python = env_dir / ("Scripts" if sys.platform == "win32" else "bin") / "python"
    _borrow_dependencies(python)
    # Nothing of the tree under test may leak in: no PYTHONPATH (the suite's conftest sets one), no editable
    # install of the running interpreter (its finder .pth is not run from a borrowed folder).
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    wheel = next(wheels.glob("ris_ai_module-*.whl"))
    install = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--force-reinstall", "-q", str(wheel)],
                             capture_output=True, text=True, timeout=300, env=env)
    assert install.returncode == 0, install.stderr
    outside = tmp_path / "elsewhere"
    outside.mkdir()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(python), "-m", "ris_ai_module", *args], cwd=outside, capture_output=True,
                              text=True, timeout=120, env=env)

    where = subprocess.run([str(python), "-c", "import ris_ai_module; print(ris_ai_module.__file__)"], cwd=outside,
                           capture_output=True, text=True, timeout=60, env=env)
    assert str(env_dir) in where.stdout, "the test must exercise the installed copy"
    demo = cli("init-demo", "demo", "--dicom-port", "11555", "--http-port", "18555")
    assert demo.returncode == 0, demo.stderr
    assert cli("config", "check", "demo/ris-ai-module.toml").returncode == 0
    example = cli("config", "example")
    assert example.returncode == 0 and "[push.retry]" in example.stdout
    tasks = cli("--config", "demo/ris-ai-module.toml", "tasks", "--json")
    assert tasks.returncode == 0 and tasks.stdout.strip() == "[]"
    # the README's first command on a fresh install: the whole loop, no other tool
    loop = cli("demo")
    assert loop.returncode == 0 and "3 reports written" in loop.stdout, loop.stdout + loop.stderr


def _borrow_dependencies(python: Path) -> None:
    """Let the new venv import the dependencies of the interpreter running the suite, wherever they are:
    the system's site-packages or, when the suite itself runs in a virtual environment, that venv's (which
    ``system_site_packages=True`` would miss: it means the base interpreter's). A .pth line appends each
    folder after the venv's own site-packages, so the installed wheel comes first."""
    root = Path(__file__).resolve().parents[2]
    folders = [*site.getsitepackages(), *(p for p in sys.path if "site-packages" in p or "dist-packages" in p)]
    borrowed = [f for f in dict.fromkeys(folders) if Path(f).is_dir() and Path(f).resolve() != root]
    target = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                            capture_output=True, text=True, timeout=60, check=True).stdout.strip()
    Path(target, "_suite_dependencies.pth").write_text("\n".join(borrowed) + "\n", encoding="utf-8")
