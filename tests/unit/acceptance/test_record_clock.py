"""The acceptance record's date line is in module.timezone, labelled (one clock for what people read)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from ris_ai_module.acceptance.record import write_record
from ris_ai_module.acceptance.runner import Run
from ris_ai_module.settings import config_from_dict


@pytest.mark.parametrize(("zone", "expected"), [("Asia/Shanghai", "2026-12-02 18:00:00 +08:00 – 18:05:00 +08:00"),
                                                ("UTC", "2026-12-02 10:00:00 +00:00 – 10:05:00 +00:00")])
def test_record_date_in_the_configured_zone(tmp_path: Path, zone: str, expected: str) -> None:
    cfg = config_from_dict({"database": {"url": "sqlite:///x.db"}, "worker": {"enabled": False}, "module": {"timezone": zone}})
    started = datetime(2026, 12, 2, 10, 0, tzinfo=timezone.utc)  # aware: whatever the machine's zone
    run = Run(cfg=cfg, config_path="c.toml", exam_key="E1", out=tmp_path, started=started)
    html_path, md_path = write_record(run, finished=datetime(2026, 12, 2, 10, 5, tzinfo=timezone.utc))
    assert f"- 日期 date: {expected}" in md_path.read_text(encoding="utf-8")
    assert f"日期 date: {expected}" in html_path.read_text(encoding="utf-8")
