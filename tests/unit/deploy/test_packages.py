"""Every package of the source tree ships in the wheel: setup.cfg lists packages by hand, and a package left
out installs a module that fails on import only when that part is first used (a delivery kind, a command)."""

from __future__ import annotations

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_every_source_package_is_listed_in_setup_cfg() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg", encoding="utf-8")
    listed = {line.strip() for line in cfg["options"]["packages"].splitlines() if line.strip()}
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "ris_ai_module").rglob("__init__.py")}
    assert found - listed == set(), "packages missing from setup.cfg [options] packages"
