"""The demo configuration checks the AI host like its DICOM peers (issue 13: the demo left it out)."""

from __future__ import annotations

from pathlib import Path

from ris_ai_module.demo import write_demo
from ris_ai_module.settings import load_config


def test_the_demo_checks_the_ai_host(tmp_path: Path) -> None:
    path = write_demo(tmp_path / "demo", 11777, 18777, "http://127.0.0.1:8090/api/exams")
    cfg = load_config(path)
    assert [(c.name, c.url) for c in cfg.health.http] == [("ai-host", "http://127.0.0.1:8090/api/exams")]
