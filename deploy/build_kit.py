#!/usr/bin/env python3
"""Build the offline install kit: the module's wheel and every dependency, pinned with hashes, for each
target platform and supported Python, so that a hospital server with no internet installs with two
commands (create a venv; ``pip install --no-index --find-links wheels -r requirements/<target>.txt``).

Usage (on any machine that reaches a package index; needs only Python ≥ 3.8 and pip)::

    python deploy/build_kit.py                              # every target × every supported Python
    python deploy/build_kit.py --target linux-x86_64 --python 3.11 --out dist/kit

Why a resolver walk after ``pip download``: pip evaluates environment markers against the *running*
interpreter, not the ``--platform``/``--python-version`` target (a Windows kit built on Linux would lack
``tzdata`` and ``pywin32``; a 3.10 kit built on 3.11 would lack ``tomli``). Each wheel's Requires-Dist is
therefore re-evaluated for the target, missing wheels are fetched pinned to what is already resolved, and
wheels the target does not need are left out of its requirements file.
"""

from __future__ import annotations

import argparse
import email.parser
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

try:
    from packaging.markers import Marker  # noqa: F401  (presence check)
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name, parse_wheel_filename
except ImportError:  # a bare Python with pip only: pip vendors packaging
    from pip._vendor.packaging.requirements import Requirement  # type: ignore[no-redef]
    from pip._vendor.packaging.utils import canonicalize_name, parse_wheel_filename  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[1]
#: Pythons the kit is built for. The minimum (3.10) is set by pydicom 3 and pynetdicom 3.
SUPPORTED_PYTHONS = ("3.10", "3.11", "3.12", "3.13")
#: Oldest glibc the Linux wheels must run on: 2.17 = manylinux2014 (CentOS 7); Kylin V10 and UOS V20 have 2.28.
DEFAULT_GLIBC = "2.17"
TARGETS = {
    # name: (pip --platform tag template, marker environment)
    "linux-x86_64": ("manylinux_{glibc}_x86_64",
                     {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
                      "platform_machine": "x86_64"}),
    "linux-aarch64": ("manylinux_{glibc}_aarch64",
                      {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
                       "platform_machine": "aarch64"}),
    "windows-amd64": ("win_amd64",
                      {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt",
                       "platform_machine": "AMD64"}),
}
MAX_ROUNDS = 6


def marker_env(target: str, python: str) -> dict[str, str]:
    env = dict(TARGETS[target][1])
    env.update(python_version=python, python_full_version=f"{python}.0", implementation_name="cpython",
               platform_python_implementation="CPython", implementation_version=f"{python}.0",
               platform_release="", platform_version="")
    return env


def pip_target_args(target: str, python: str, glibc: str) -> list[str]:
    platform = TARGETS[target][0].format(glibc=glibc.replace(".", "_"))
    return ["--only-binary=:all:", "--platform", platform, "--python-version", python, "--implementation", "cp"]


def run(cmd: list[str]) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def wheel_metadata(path: Path) -> tuple[str, str, list[Requirement]]:
    """(canonical name, version, Requires-Dist) of a wheel file."""
    name, version, _, _ = parse_wheel_filename(path.name)
    with zipfile.ZipFile(path) as zf:
        meta_name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
        meta = email.parser.Parser().parsestr(zf.read(meta_name).decode("utf-8"))
    return canonicalize_name(name), str(version), [Requirement(r) for r in meta.get_all("Requires-Dist") or []]


def compatible(path: Path, target: str, python: str, glibc: str) -> bool:
    """Whether pip on the target would take this wheel file."""
    _, _, _, tags = parse_wheel_filename(path.name)
    major, minor = (int(x) for x in python.split("."))
    arch = {"linux-x86_64": "x86_64", "linux-aarch64": "aarch64", "windows-amd64": "amd64"}[target]
    max_glibc = tuple(int(x) for x in glibc.split("."))
    for tag in tags:
        interp, abi, plat = tag.interpreter, tag.abi, tag.platform
        if interp.startswith("py"):
            py_ok = interp in ("py3", f"py{major}", f"py{major}{minor}")
        elif interp.startswith("cp"):
            version = int(interp[3:] or 0) if interp[2:3] == str(major) else -1
            py_ok = version == minor or (abi == "abi3" and 0 <= version <= minor)
        else:
            py_ok = False
        if plat == "any":
            plat_ok = True
        elif target == "windows-amd64":
            plat_ok = plat == "win_amd64"
        elif plat.endswith("_" + arch) and plat.startswith("manylinux"):
            legacy = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
            prefix = plat[: -len(arch) - 1]
            if prefix in legacy:
                level = legacy[prefix]
            else:
                level = tuple(int(x) for x in prefix.split("_")[1:3])
            plat_ok = level <= max_glibc
        else:
            plat_ok = False
        if py_ok and plat_ok:
            return True
    return False


def closure(wheels: Path, root_wheel: Path, target: str, python: str, glibc: str) -> tuple[dict[str, Path], list[str]]:
    """Walk Requires-Dist from the module's wheel with the target's markers: (name -> wheel file, missing)."""
    env = marker_env(target, python)
    by_name: dict[str, list[Path]] = {}
    for path in wheels.glob("*.whl"):
        if compatible(path, target, python, glibc):
            by_name.setdefault(canonicalize_name(parse_wheel_filename(path.name)[0]), []).append(path)
    chosen: dict[str, Path] = {}
    missing: list[str] = []
    todo: list[tuple[Requirement | None, frozenset[str]]] = [(None, frozenset())]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        req, extras = todo.pop()
        if req is None:
            path = root_wheel
        else:
            name = canonicalize_name(req.name)
            if (name, extras) in seen:
                continue
            seen.add((name, extras))
            candidates = [p for p in by_name.get(name, []) if req.specifier.contains(
                str(parse_wheel_filename(p.name)[1]), prereleases=True)]
            if name in chosen:
                candidates = [chosen[name]] if chosen[name] in candidates else []
            if not candidates:
                missing.append(str(req.name) + (f"[{','.join(sorted(req.extras))}]" if req.extras else "")
                               + str(req.specifier))
                continue
            path = max(candidates, key=lambda p: parse_wheel_filename(p.name)[1])
        name, _, requires = wheel_metadata(path)
        chosen[name] = path
        for dep in requires:
            wanted = [""] + sorted(extras)
            if dep.marker is None or any(dep.marker.evaluate({**env, "extra": e}) for e in wanted):
                todo.append((dep, frozenset(dep.extras)))
    return chosen, missing


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_module_wheel(wheels: Path) -> Path:
    """The module's wheel, built from a clean copy of the tree: setuptools reuses an existing build/ folder,
    which would carry files deleted from the tree (an old migration) into the wheel."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "src"
        shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
            ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis"))
        run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp, str(source)])
        built = next(Path(tmp).glob("ris_ai_module-*.whl"))
        target = wheels / built.name
        shutil.copy2(built, target)
    return target


def resolve_target(wheels: Path, module: Path, target: str, python: str, glibc: str) -> dict[str, Path]:
    args = pip_target_args(target, python, glibc)
    run([sys.executable, "-m", "pip", "download", "-q", *args, "-d", str(wheels), str(module)])
    for _ in range(MAX_ROUNDS):
        chosen, missing = closure(wheels, module, target, python, glibc)
        if not missing:
            return chosen
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as pins:
            for name, path in chosen.items():
                if path != module:
                    pins.write(f"{name}=={parse_wheel_filename(path.name)[1]}\n")
        try:
            run([sys.executable, "-m", "pip", "download", "-q", *args, "-c", pins.name, "-d", str(wheels), *missing])
        finally:
            os.unlink(pins.name)
    raise SystemExit(f"{target} py{python}: still missing after {MAX_ROUNDS} rounds: {missing}")


def requirements_text(chosen: dict[str, Path], target: str, python: str) -> str:
    lines = [f"# ris-ai-module offline kit: {target}, CPython {python}. Every package pinned with its hash;",
             "# install with: pip install --no-index --find-links wheels -r THIS_FILE"]
    for name in sorted(chosen):
        path = chosen[name]
        version = parse_wheel_filename(path.name)[1]
        lines.append(f"{name}=={version} --hash=sha256:{sha256(path)}")
    return "\n".join(lines) + "\n"


INSTALL_TEXT = """\
ris-ai-module {version} offline install kit / 离线安装包

Built {built} for: {targets}
Minimum Python: 3.10 (CPython). 最低 Python 版本：3.10。

1. Check the copy / 校验文件:      sha256sum -c SHA256SUMS
   (Windows PowerShell: Get-FileHash -Algorithm SHA256 wheels\\*.whl, compare with SHA256SUMS)

2. Install (two commands) / 安装（两条命令）, from this folder:

   Linux (x86-64 or aarch64; pick the requirements file of your machine and Python):
     python3.11 -m venv /opt/ris-ai-module/venv
     /opt/ris-ai-module/venv/bin/pip install --no-index --find-links wheels -r requirements/linux-x86_64-py3.11.txt

   Windows Server (amd64):
     py -3.11 -m venv C:\\ris-ai-module\\venv
     C:\\ris-ai-module\\venv\\Scripts\\pip install --no-index --find-links wheels -r requirements\\windows-amd64-py3.11.txt

   Every line of a requirements file carries the wheel's SHA-256: pip refuses a changed or foreign file.
   requirements 文件中每个包都带 SHA-256，文件被替换或损坏时 pip 拒绝安装。

3. Check it / 验证:  ris-ai-module init-demo demo && ris-ai-module config check demo/ris-ai-module.toml
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "dist" / "kit"), help="kit folder (replaced)")
    parser.add_argument("--target", action="append", choices=sorted(TARGETS), help="default: all")
    parser.add_argument("--python", action="append", help=f"default: {' '.join(SUPPORTED_PYTHONS)}")
    parser.add_argument("--glibc", default=DEFAULT_GLIBC, help="oldest glibc of the Linux targets")
    args = parser.parse_args(argv)
    targets = args.target or sorted(TARGETS)
    pythons = args.python or list(SUPPORTED_PYTHONS)
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    wheels = out / "wheels"
    reqs = out / "requirements"
    wheels.mkdir(parents=True)
    reqs.mkdir()
    started = time.monotonic()
    module = build_module_wheel(wheels)
    used: set[Path] = {module}
    for target in targets:
        for python in pythons:
            chosen = resolve_target(wheels, module, target, python, args.glibc)
            (reqs / f"{target}-py{python}.txt").write_text(requirements_text(chosen, target, python), encoding="utf-8")
            used.update(chosen.values())
    for path in wheels.iterdir():
        if path not in used:  # fetched for the build machine's markers only
            path.unlink()
    version = parse_wheel_filename(module.name)[1]
    (out / "INSTALL.txt").write_text(INSTALL_TEXT.format(
        version=version, built=time.strftime("%Y-%m-%d"),
        targets=", ".join(f"{t} (Python {' '.join(pythons)})" for t in targets)), encoding="utf-8")
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name != "SHA256SUMS")
    (out / "SHA256SUMS").write_text("".join(f"{sha256(p)}  {p.relative_to(out).as_posix()}\n" for p in files),
                                    encoding="utf-8")
    size = sum(p.stat().st_size for p in files)
    print(f"kit: {out} ({len(files)} files, {size / 1e6:.1f} MB, {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
