"""The free-space watermark where IT sees it: /api/status (the status page reads it), /metrics, the health check
(and so the alert) and the daily report, with the watermark set above the real volume's free space, or below."""

from __future__ import annotations

import os
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from ris_ai_module.db.tables import assoc_reject
from ris_ai_module.dicom.storage import space_state
from ris_ai_module.health.checks import WATERMARK_TARGET, check_watermark
from ris_ai_module.health.render import render_csv, render_html, render_text
from ris_ai_module.health.report import gather
from tests.integration.web.conftest import MONITOR_TOKEN, start_api

GB = 1024**3


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
@pytest.mark.parametrize("below", [True, False], ids=["below-watermark", "above-watermark"])
def test_status_metrics_check_and_report_tell_whether_associations_are_refused(
        any_db: Engine, tmp_path: Path, below: bool) -> None:
    (tmp_path / "storage").mkdir()
    free = shutil.disk_usage(tmp_path).free
    watermark = free + 64 * GB if below else 1 * GB
    api = start_api(any_db, tmp_path, storage={"min_free": "1MB", "watermark_free": watermark})
    try:
        answer = api.get("/api/status").json()
        assert answer["retention"]["enabled"] is False and answer["retention"]["purged"] == 0
        status = answer["storage"]
        assert status["watermark_bytes"] == watermark and status["total_bytes"] > status["free_bytes"] > 0
        assert status["accepting_associations"] is (not below)
        assert (status["refusing_reason"] is not None) is below
        metrics = {s.name: s.value for f in text_string_to_metric_families(
            api.get("/metrics", auth=None, headers={"Authorization": f"Bearer {MONITOR_TOKEN}"}).text) for s in f.samples}
        assert metrics["rai_dicom_accepting_associations"] == (0.0 if below else 1.0)
        assert metrics["rai_storage_watermark_bytes"] == float(watermark)

        check = check_watermark(api.ctx.config.storage)
        assert check.target == WATERMARK_TARGET and check.ok is (not below)
        if below:
            assert "new DICOM associations refused" in check.error and "storage.watermark_free" in check.error

        now = datetime.utcnow()
        with any_db.begin() as conn:
            conn.execute(insert(assoc_reject).values(
                rejected_at=now, calling_ae="DEMO_AI", address="127.0.0.1", called_ae="RIS_AI",
                reason="storage below the free-space watermark (storage.watermark_free): 1 MB free"))
        with any_db.connect() as conn:
            today = date.today()  # report days are local; the row (UTC now) lies within yesterday..tomorrow
            data = gather(conn, today - timedelta(days=1), today + timedelta(days=1), storage=api.ctx.config.storage)
        assert data.storage["watermark_rejections"] == 1
        text = render_text(data)
        assert ("REFUSING new associations" in text) is below and "associations refused below the watermark 1" in text
        assert ("拒绝 REFUSING" in render_html(data)) is below
        assert f"storage,,,accepting_associations,{not below}" in render_csv(data)
    finally:
        api.server.stop()
        api.ctx.engine.dispose()


def test_the_watermark_keys_are_checked_naming_the_key() -> None:
    from ris_ai_module.errors import ConfigError
    from ris_ai_module.settings import config_from_dict

    # an older configuration with a large min_free still starts: the watermark is raised to min_free
    cfg = config_from_dict({"database": {"url": "sqlite://"}, "worker": {"enabled": False},
                            "storage": {"min_free": "5GB", "watermark_free": "2GB"}})
    assert space_state(4 * GB, 100 * GB, cfg.storage.watermark_free, 0, cfg.storage.min_free).watermark == 5 * GB
    assert "storage.min_free" in space_state(4 * GB, 100 * GB, 2 * GB, 0, 5 * GB).refusing
    with pytest.raises(ConfigError, match="storage.watermark_free"):
        config_from_dict({"database": {"url": "sqlite://"}, "worker": {"enabled": False},
                          "storage": {"watermark_free": "lots"}})
    with pytest.raises(ConfigError, match="storage.watermark_percent"):
        config_from_dict({"database": {"url": "sqlite://"}, "worker": {"enabled": False}, "storage": {"watermark_percent": 100}})
    assert config_from_dict({"database": {"url": "sqlite://"}, "worker": {"enabled": False}, "storage": {"watermark_free": 0}}).storage.watermark_free == 0


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_the_status_page_shows_refusing_and_retention(any_db: Engine, tmp_path: Path) -> None:
    """In headless Chromium: the storage panel says associations are refused (watermark above the real free
    space) and how many files retention deleted."""
    from ris_ai_module.db.tables import dicom_object
    from tests.integration.web.browser import chromium
    from tests.integration.web.conftest import VIEWER

    (tmp_path / "storage").mkdir()
    now = datetime(2026, 12, 2, 8)
    with any_db.begin() as conn:
        for n, purged in enumerate((now, None)):
            conn.execute(insert(dicom_object).values(
                sop_instance_uid=f"1.9.{n}", sop_class_uid="1.2.840.10008.5.1.4.1.1.7", exam_key="C1", source="DICOM",
                file_path=f"x/{n}.dcm", file_size=3 * GB, sha256="0" * 64, received_at=now, purged_at=purged))
    free = shutil.disk_usage(tmp_path).free
    api = start_api(any_db, tmp_path, storage={"min_free": "1MB", "watermark_free": free + 64 * GB, "keep_for": "30d"})
    try:
        page = chromium(tmp_path, f"http://{VIEWER[0]}:{VIEWER[1]}@127.0.0.1:{api.server.port}/", "--dump-dom",
                        *((f"--screenshot={shot}",) if (shot := os.environ.get("RAI_SHOT")) else ()))
    finally:
        api.server.stop()
        api.ctx.engine.dispose()
    assert '<p class="bad">拒绝新连接 Refusing new DICOM associations (A-ASSOCIATE-RJ transient): storage below' in page
    assert "保留期 Retention 30 d · 已清理 Purged 1 (3.0 GB freed) · 保留中 Kept 1 (3.0 GB)" in page
