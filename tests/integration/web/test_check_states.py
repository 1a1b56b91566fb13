"""A target is DOWN only after ``alerts.fail_threshold`` failures in a row, on the status API, in /metrics and
in the daily report alike; a target removed from the configuration is not shown as current (issue 13)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from ris_ai_module.db.tables import check
from ris_ai_module.health.current import configured_targets
from ris_ai_module.health.render import render
from ris_ai_module.health.report import gather, local_midnight_utc
from ris_ai_module.web.auth import hash_password
from ris_ai_module.web.server import WebServer
from tests.integration.tasks.conftest import make_ctx
from tests.support import free_port

VIEWER = ("viewer", "view-pass-1")
DAY = date.today() - timedelta(days=1)


def _seed(engine: Engine) -> None:
    """Checks of the day before, one per minute: a blip, an outage, a removed peer, a recovered one."""
    start = local_midnight_utc(DAY) + timedelta(hours=10)
    series = {
        "AI host": [1, 1, 0, 0],          # 2 failures in a row, threshold 3: FAILING, not DOWN
        "PACS web": [1, 0, 0, 0],         # 3 in a row: DOWN
        "Old AI host": [0, 0, 0, 0, 0],   # no longer configured: not current, whatever it says
        "RIS web": [0, 0, 0, 1],          # recovered: UP
    }
    rows = []
    for target, results in series.items():
        for i, ok in enumerate(results):
            rows.append({"checked_at": start + timedelta(minutes=i), "target": target, "kind": "HTTP", "ok": ok,
                         "latency_ms": 5 if ok else None, "error": None if ok else "HTTP 503 (expected 200)",
                         "instance": "a"})
    with engine.begin() as conn:
        conn.execute(insert(check), rows)


def test_down_after_the_threshold_and_removed_targets_not_current(any_db: Engine, tmp_path: Path) -> None:
    _seed(any_db)
    port = free_port()
    users = [{"name": VIEWER[0], "password_hash": hash_password(VIEWER[1], 1000), "role": "viewer"}]
    http_checks = [{"name": n, "url": "http://127.0.0.1:9/"} for n in ("AI host", "PACS web", "RIS web")]
    ctx = make_ctx(any_db, "http://127.0.0.1:9/", storage={"root": str(tmp_path / "storage")},
                   http={"enabled": True, "host": "127.0.0.1", "port": port, "users": users},
                   health={"http": http_checks, "self_check": False}, alerts={"fail_threshold": 3})
    assert {"AI host", "PACS web", "RIS web"} <= configured_targets(ctx.config)
    assert "Old AI host" not in configured_targets(ctx.config)
    server = WebServer(ctx)
    server.start()
    try:
        base = f"http://127.0.0.1:{port}"
        status = requests.get(base + "/api/status", auth=VIEWER, timeout=30).json()
        states = {c["target"]: (c["state"], c["failures_in_a_row"]) for c in status["checks"]}
        assert states["AI host"] == ("FAILING", 2)
        assert states["PACS web"] == ("DOWN", 3)
        assert states["RIS web"] == ("UP", 0)
        assert "Old AI host" not in states, "a removed target is shown as current"

        resp = requests.get(base + "/metrics", auth=VIEWER, timeout=30)
        assert resp.status_code == 200
        up = {s.labels["target"]: s.value for f in text_string_to_metric_families(resp.text)
              for s in f.samples if s.name == "rai_check_up"}
        assert up == {"AI host": 1.0, "PACS web": 0.0, "RIS web": 1.0}
    finally:
        server.stop()

    with any_db.connect() as conn:
        data = gather(conn, DAY, DAY + timedelta(days=1), fail_threshold=3, targets=configured_targets(ctx.config))
    by = {t.target: t.state for t in data.peers}
    assert by == {"AI host": "FAILING", "PACS web": "DOWN", "RIS web": "UP", "Old AI host": "REMOVED"}
    text = render(data, "text")
    assert "异常 1 项 / 1 DOWN" in text.splitlines()[0], "the subject counts only targets past the threshold"
    html = render(data, "html")
    assert "失败 2 次 FAILING" in html and "已移除 REMOVED" in html and html.count("异常 DOWN") == 1
    ctx.engine.dispose()
