"""Why storage retention still keeps a file is shown where the on-call engineer looks: the `objects` command, the
exam trace of the API and of the page (real Chromium), each time in module.timezone with its offset."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from ris_ai_module.dicom.ingest import Received, ingest
from ris_ai_module.dicom.storage import StorageArea
from tests.integration.dicom import objects as make
from tests.integration.retention.test_retention import _row, ris_exam
from tests.integration.web.browser import chromium_page, without_credentials
from tests.integration.web.conftest import VIEWER, start_api

SHANGHAI = ZoneInfo("Asia/Shanghai")  # UTC+8 all year


def _store(ctx, area: StorageArea, path: Path):  # noqa: ANN001
    with open(path, "rb") as fh:
        out = ingest(ctx, area, Received(temp=area.copy_in(fh), source="IMPORT", sender_ae="CLI"))
    assert out.ok, out.comment
    return out


def _kept_until(received_at) -> str:  # noqa: ANN001
    """received (UTC, as stored) + storage.keep_for 1h, in Beijing time: by hand, not by the module's clock."""
    return (received_at.replace(tzinfo=timezone.utc) + timedelta(hours=1)).astimezone(SHANGHAI).strftime(
        "%Y-%m-%d %H:%M") + " +08:00"


def _rig(any_db: Engine, tmp_path: Path):
    from sqlalchemy import insert

    with any_db.begin() as conn:
        for i in (1, 2, 3):
            conn.execute(insert(ris_exam).values(exam_id=f"E{i}", patient_id=f"P{i}", patient_name="Zhang^San",
                                                 accession_no=f"ACC{i}", exam_status="REGISTERED"))
        conn.execute(text("INSERT INTO ris_report (exam_id, report_status) VALUES ('E1', 'SIGNED')"))
    api = start_api(any_db, tmp_path, storage={"keep_for": "1h", "min_free": "1MB"},
                    module={"timezone": "Asia/Shanghai"})
    area = StorageArea(tmp_path / "storage")
    area.prepare()
    ctx = api.ctx
    objs = {
        # E1: images only, report signed: kept only by storage.keep_for, until received + 1h
        "signed": _store(ctx, area, make.sc(tmp_path / "a.dcm", accession="ACC1", patient_id="P1") and tmp_path / "a.dcm"),
        # E2: its SR not applied yet (no worker here)
        "pending": _store(ctx, area, make.sr(tmp_path / "b.dcm", accession="ACC2", patient_id="P2") and tmp_path / "b.dcm"),
        # the patient does not match E3: held for review
        "held": _store(ctx, area, make.sr(tmp_path / "c.dcm", accession="ACC3", patient_id="P999") and tmp_path / "c.dcm"),
        "unlinked": _store(ctx, area, make.sc(tmp_path / "d.dcm", accession="NOPE", patient_id="NOPE") and tmp_path / "d.dcm"),
    }
    return api, objs


def test_objects_command_and_exam_trace_say_why_a_file_is_kept(any_db: Engine, tmp_path: Path) -> None:
    api, objs = _rig(any_db, tmp_path)
    try:
        until = _kept_until(_row(api.ctx, objs["signed"].sop_instance_uid).received_at)
        trace = api.get("/api/exams/E1").json()
        (obj,) = trace["objects"]
        assert obj["retention"]["reason"] == f"kept until {until} (storage.keep_for)"
        assert obj["retention"]["purge_due"] is False
        assert obj["retention"]["kept_until_at"].endswith("+08:00")
        (pending,) = api.get("/api/exams/E2").json()["objects"]
        assert pending["retention"]["reason"].startswith("SR_APPLY pending")
    finally:
        api.server.stop()
        api.ctx.engine.dispose()

    config = tmp_path / "rai.toml"
    config.write_text(
        f'[module]\ntimezone = "Asia/Shanghai"\n[database]\nurl = "{any_db.url.render_as_string(hide_password=False)}"\n'
        f'[push]\nurl = "http://127.0.0.1:9/"\n[storage]\nroot = "{tmp_path / "storage"}"\nkeep_for = "1h"\n',
        encoding="utf-8")

    def objects(*extra: str) -> str:
        out = subprocess.run([sys.executable, "-m", "ris_ai_module", "--config", str(config), "objects", *extra],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout

    lines = {line.split()[0]: line for line in objects().splitlines()[2:]}
    assert lines[objs["signed"].sop_instance_uid].rstrip().endswith(f"kept until {until} (storage.keep_for)")
    assert "SR_APPLY pending" in lines[objs["pending"].sop_instance_uid]
    assert "held for review (NEEDS_REVIEW)" in lines[objs["held"].sop_instance_uid]
    assert "unlinked (no exam)" in lines[objs["unlinked"].sop_instance_uid]
    assert "retention" in objects().splitlines()[0].split()  # its own column
    data = {o["sop_instance_uid"]: o for o in json.loads(objects("--json"))}
    assert data[objs["signed"].sop_instance_uid]["retention"] == f"kept until {until} (storage.keep_for)"


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_the_page_trace_shows_why_each_file_is_kept(any_db: Engine, tmp_path: Path) -> None:
    api, objs = _rig(any_db, tmp_path)
    try:
        until = _kept_until(_row(api.ctx, objs["signed"].sop_instance_uid).received_at)
        plain, credentials = without_credentials(f"http://{VIEWER[0]}:{VIEWER[1]}@127.0.0.1:{api.server.port}/?exam=E1")
        with chromium_page(tmp_path) as browser:
            browser.open(plain)
            browser.log_in(*credentials)
            browser.open(plain)
            browser.wait("!document.getElementById('detail').hidden && "
                         "document.getElementById('detail-objects').children.length > 0 && "
                         "!document.getElementById('detail-objects').textContent.includes('无 None')")
            dom = browser.settled_dom()
    finally:
        api.server.stop()
        api.ctx.engine.dispose()
    objects = dom.split('id="detail-objects"')[1].split("</tbody>")[0]
    assert f"kept until {until} (storage.keep_for)" in objects
    assert "…" + objs["signed"].sop_instance_uid[-12:] in objects and "SC" in objects


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_a_report_table_that_cannot_be_read_spoils_only_the_reason(any_db: Engine, tmp_path: Path) -> None:
    """The retention reason reads the RIS report row; when that fails now (here the table is away), the trace still
    answers, and the reason says it cannot tell (never a 500, never a guess)."""
    api, objs = _rig(any_db, tmp_path)
    try:
        with any_db.begin() as conn:
            conn.execute(text("ALTER TABLE ris_report RENAME TO ris_report_away"))
        resp = api.get("/api/exams/E1")
        assert resp.status_code == 200, resp.text
        (obj,) = resp.json()["objects"]
        assert obj["retention"]["reason"].startswith("cannot tell now") and obj["retention"]["purge_due"] is False
    finally:
        with any_db.begin() as conn:
            conn.execute(text("ALTER TABLE ris_report_away RENAME TO ris_report"))
        api.server.stop()
        api.ctx.engine.dispose()
