"""One clock, labelled: a module time (RAI_* tables keep naive UTC) is shown in module.timezone with its offset by
the CLI, the API's JSON and the status page in Chromium; a RIS time (the exam date) stays as the RIS keeps it."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from ris_ai_module.db.tables import task, task_attempt
from tests.integration.tasks.conftest import add_exam
from tests.integration.web.browser import chromium
from tests.integration.web.conftest import VIEWER, start_api

#: 10:00 UTC on 2 December 2026, as stored; by hand: 18:00 in Shanghai (UTC+8 all year), 10:00 in UTC.
STORED = datetime(2026, 12, 2, 10, 0, 0)
ZONES = [("Asia/Shanghai", "2026-12-02 18:00", "+08:00"), ("UTC", "2026-12-02 10:00", "+00:00")]


def _attempt(engine: Engine) -> int:
    add_exam(engine, "Z1", name="周一", status="STARTED")  # the trigger queues its EXAM_PUSH
    with engine.begin() as conn:
        task_id = conn.execute(select(task.c.task_id).where(task.c.exam_key == "Z1")).scalar_one()
        conn.execute(insert(task_attempt).values(task_id=task_id, attempt_no=1, started_at=STORED, latency_ms=5,
                                                 outcome="RETRY", error="HTTP 503"))
    return int(task_id)


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("zone", "wall", "offset"), ZONES)
def test_cli_api_and_page_show_module_times_in_the_configured_zone(any_db: Engine, tmp_path: Path, zone: str,
                                                                    wall: str, offset: str) -> None:
    task_id = _attempt(any_db)
    config = tmp_path / "c.toml"
    config.write_text(f'[module]\ntimezone = "{zone}"\n[database]\nurl = "{any_db.url}"\n[worker]\nenabled = false\n',
                      encoding="utf-8")
    cli = subprocess.run([sys.executable, "-m", "ris_ai_module", "--config", str(config), "task", str(task_id)],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert cli.returncode == 0, cli.stderr
    assert f"{wall}:00 {offset}" in cli.stdout, cli.stdout  # the attempt's started_at
    created = next(line for line in cli.stdout.splitlines() if line.startswith("created_at"))
    assert created.endswith(f" {offset}"), created  # the task's own times too

    api = start_api(any_db, tmp_path, module={"timezone": zone})
    try:
        detail = api.get("/api/exams/Z1").json()
        text = str(detail)
        assert f"{wall.replace(' ', 'T')}:00{offset}" in text, text  # ISO 8601 with the offset
        assert "2026-11-27T08:30:00" in text and "2026-11-27T08:30:00+" not in text, "the RIS's exam date as kept"
        url = f"http://{VIEWER[0]}:{VIEWER[1]}@127.0.0.1:{api.server.port}/?exam=Z1"
        dom = chromium(tmp_path, url, "--dump-dom")
    finally:
        api.server.stop()
        api.ctx.engine.dispose()
    trace = dom.split('id="detail"')[1]
    assert f"<td>{wall} {offset}</td>" in trace, "the attempt's time, labelled"
    assert "2026-11-27 08:30 +" not in dom, "the exam date has no label: it is the RIS's own"
