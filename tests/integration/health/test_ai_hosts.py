"""Every configured AI host is checked by its name without [[health.http]] entries: two loopback AI hosts,
one up (its API answers; its DICOM side is DCMTK storescp, C-ECHOed) and one down (nothing listens), seen
through `check-now`, the daily report (`health-report`) and the status page's /api/status."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from ris_ai_module.cli.main import main
from ris_ai_module.health.report import to_local
from ris_ai_module.sim.http_host import StubServer
from tests.support import free_port


def test_each_ai_host_in_check_now_daily_report_and_status(sqlite_db, storescp, tmp_path: Path, capsys) -> None:
    up = StubServer().start()
    try:
        pacs_port = storescp("ECHO_AI")
        down = free_port()
        cfg = tmp_path / "c.toml"
        cfg.write_text(
            f'[database]\nurl = "{sqlite_db.url.render_as_string()}"\n[worker]\nenabled = true\n'
            '[module]\nhospital_name = "测试医院"\n'
            f'[push]\nurl = "http://127.0.0.1:{up.port}/api/exams"\ndefault_hosts = ["default", "breast-ai"]\n'
            f'[[push.hosts]]\nname = "breast-ai"\nurl = "http://127.0.0.1:{down}/api/exams"\n'
            'dicom_peers = ["ECHO_AI"]\n'
            f'[[dicom.peers]]\nname = "echo-peer"\nae_title = "ECHO_AI"\naddresses = ["127.0.0.1"]\n'
            f'host = "127.0.0.1"\nport = {pacs_port}\n', encoding="utf-8")
        assert main(["-c", str(cfg), "check-now"]) == 1  # the breast AI's API is down
        out = capsys.readouterr().out
        lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("ai:")}
        assert set(lines) == {"ai:default", "ai:breast-ai", "ai:breast-ai:dicom"}
        assert " OK " in lines["ai:default"] and "HTTP" in lines["ai:default"]
        assert "FAIL" in lines["ai:breast-ai"] and f"refused: nothing listens on 127.0.0.1:{down}" in lines["ai:breast-ai"]
        assert " OK " in lines["ai:breast-ai:dicom"] and "ECHO" in lines["ai:breast-ai:dicom"]
        assert "echo-peer" not in out  # shown by the host's name, echoed once

        today = to_local(datetime.now(timezone.utc).replace(tzinfo=None)).date().isoformat()
        assert main(["-c", str(cfg), "health-report", "--since", today, "--until", today]) == 0
        report = capsys.readouterr().out
        assert "ai:default" in report and "ai:breast-ai" in report and "refused: nothing listens" in report
    finally:
        up.stop()


def test_status_api_lists_each_ai_host(sqlite_db, tmp_path: Path) -> None:
    import requests

    from ris_ai_module.context import AppContext
    from ris_ai_module.health.runner import run_round
    from ris_ai_module.web.auth import token_hash
    from ris_ai_module.web.server import WebServer
    from tests.integration.health.conftest import health_config

    up = StubServer().start()
    port, down, token = free_port(), free_port(), "status-token-0123456789abcdef0123456789ab"
    try:
        config = health_config(
            sqlite_db.url.render_as_string(hide_password=False),
            push={"url": f"http://127.0.0.1:{up.port}/", "hosts": [{"name": "west-ai", "url": f"http://127.0.0.1:{down}/"}]},
            http={"enabled": True, "host": "127.0.0.1", "port": port,
                  "tokens": [{"name": "t", "token_hash": token_hash(token), "role": "viewer"}]},
            storage={"root": str(tmp_path / "storage")})
        ctx = AppContext(config=config, engine=sqlite_db)
        run_round(ctx, "HTTP")
        server = WebServer(ctx)
        server.start()
        try:
            status = requests.get(f"http://127.0.0.1:{port}/api/status", headers={"Authorization": f"Bearer {token}"},
                                  timeout=30).json()
        finally:
            server.stop()
        checks = {c["target"]: c for c in status["checks"]}
        assert checks["ai:default"]["ok"] and not checks["ai:west-ai"]["ok"]
        assert "refused" in checks["ai:west-ai"]["error"]
    finally:
        up.stop()
