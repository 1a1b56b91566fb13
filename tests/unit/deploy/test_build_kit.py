"""The kit builder's own resolution step, offline: environment markers are evaluated for the target
(platform, Python), not for the machine that builds the kit, and a wheel for another platform or a newer
glibc is never picked. Wheels here are tiny zip files with only the METADATA pip would read."""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
spec = importlib.util.spec_from_file_location("build_kit", ROOT / "deploy" / "build_kit.py")
build_kit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build_kit)  # type: ignore[union-attr]


def wheel(folder: Path, filename: str, *requires: str) -> Path:
    name, version = filename.split("-")[:2]
    path = folder / filename
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{name}-{version}.dist-info/METADATA",
                    "Metadata-Version: 2.1\nName: {}\nVersion: {}\n{}".format(
                        name, version, "".join(f"Requires-Dist: {r}\n" for r in requires)))
    return path


@pytest.fixture
def wheels(tmp_path: Path) -> tuple[Path, Path]:
    root = wheel(tmp_path, "ris_ai_module-0.1.0-py3-none-any.whl", "psycopg[binary]>=3.1",
                 'tomli>=2.0; python_version < "3.11"', 'pywin32>=306; sys_platform == "win32"')
    wheel(tmp_path, "psycopg-3.3.9-py3-none-any.whl", 'psycopg-binary==3.3.9; extra == "binary"',
          'tzdata; sys_platform == "win32"')
    wheel(tmp_path, "psycopg_binary-3.3.9-cp311-cp311-win_amd64.whl")
    wheel(tmp_path, "psycopg_binary-3.3.9-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
    wheel(tmp_path, "psycopg_binary-3.3.9-cp310-cp310-manylinux_2_28_x86_64.whl")
    wheel(tmp_path, "tomli-2.5.0-py3-none-any.whl")
    wheel(tmp_path, "tzdata-2026.6-py2.py3-none-any.whl")
    wheel(tmp_path, "pywin32-312-cp311-cp311-win_amd64.whl")
    return tmp_path, root


def names(chosen: dict[str, Path]) -> dict[str, str]:
    return {name: path.name for name, path in chosen.items()}


def test_windows_target_gets_its_marker_dependencies(wheels) -> None:
    folder, root = wheels
    chosen, missing = build_kit.closure(folder, root, "windows-amd64", "3.11", "2.17")
    assert missing == []
    assert names(chosen) == {
        "ris-ai-module": root.name, "psycopg": "psycopg-3.3.9-py3-none-any.whl",
        "psycopg-binary": "psycopg_binary-3.3.9-cp311-cp311-win_amd64.whl",
        "tzdata": "tzdata-2026.6-py2.py3-none-any.whl", "pywin32": "pywin32-312-cp311-cp311-win_amd64.whl"}


def test_linux_target_leaves_windows_only_dependencies_out(wheels) -> None:
    folder, root = wheels
    chosen, missing = build_kit.closure(folder, root, "linux-x86_64", "3.11", "2.17")
    assert missing == [] and set(chosen) == {"ris-ai-module", "psycopg", "psycopg-binary"}
    assert chosen["psycopg-binary"].name.endswith("manylinux2014_x86_64.whl")


def test_python_310_needs_tomli_and_a_too_new_glibc_is_reported_missing(wheels) -> None:
    folder, root = wheels
    chosen, missing = build_kit.closure(folder, root, "linux-x86_64", "3.10", "2.17")
    assert "tomli" in chosen
    assert missing == ["psycopg-binary==3.3.9"]  # only a manylinux_2_28 wheel for cp310: not for glibc 2.17
    chosen, missing = build_kit.closure(folder, root, "linux-x86_64", "3.10", "2.28")
    assert missing == [] and chosen["psycopg-binary"].name.endswith("manylinux_2_28_x86_64.whl")
