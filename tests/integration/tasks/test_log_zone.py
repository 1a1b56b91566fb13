"""The application log's times are in module.timezone with their offset, like every other time the module shows
(CLI, page, reports), whatever the process's own TZ: `run` writes its log file that way."""

from __future__ import annotations

import logging
import re
import threading
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from ris_ai_module.log import FORMAT, ZonedFormatter
from ris_ai_module.runtime import run
from tests.integration.tasks.conftest import make_ctx
from tests.support import wait_until

STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) ([+-]\d\d:\d\d) INFO ")


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_run_logs_in_the_configured_zone_labelled(any_db: Engine, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TZ", "UTC")  # the server's clock says UTC; the hospital reads Beijing time
    log_file = tmp_path / "rai.log"
    ctx = make_ctx(any_db, "http://127.0.0.1:9/", module={"timezone": "Asia/Shanghai"},
                   logging={"file": str(log_file)}, worker={"enabled": False}, dicom={"enabled": False},
                   http={"enabled": False}, health={"enabled": False})
    ctx.engine.dispose()
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(ctx.config,), kwargs={"stop": stop}, daemon=True)
    root = logging.getLogger()
    try:
        thread.start()
        assert wait_until(lambda: log_file.is_file() and "running as" in log_file.read_text("utf-8"), timeout=20)
    finally:
        stop.set()
        thread.join(30)
        for handler in [h for h in root.handlers if getattr(h, "_rai", False)]:
            root.removeHandler(handler)
            handler.close()
    line = next(x for x in log_file.read_text("utf-8").splitlines() if "running as" in x)
    m = STAMP.match(line)
    assert m, line
    assert m.group(3) == "+08:00", line  # Asia/Shanghai: UTC+8, no daylight saving time
    shown = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    assert abs(datetime.now(ZoneInfo("Asia/Shanghai")) - shown) < timedelta(minutes=2), line


def test_the_offset_follows_daylight_saving_time() -> None:
    """Europe/Berlin: CET +01:00 in January, CEST +02:00 in July (the zone database, not a fixed offset)."""
    formatter = ZonedFormatter(FORMAT, ZoneInfo("Europe/Berlin"))
    record = logging.LogRecord("rai", logging.INFO, __file__, 1, "hello", None, None)
    winter = datetime(2026, 1, 15, 12, 0, 0, 250000, tzinfo=ZoneInfo("UTC")).timestamp()
    summer = datetime(2026, 7, 15, 12, 0, 0, 0, tzinfo=ZoneInfo("UTC")).timestamp()
    record.created, record.msecs = winter, 250.0
    assert formatter.format(record).startswith("2026-01-15 13:00:00,250 +01:00 INFO rai ")
    record.created, record.msecs = summer, 0.0
    assert formatter.format(record).startswith("2026-07-15 14:00:00,000 +02:00 INFO rai ")
