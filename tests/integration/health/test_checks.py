"""Each check against a real peer on loopback: what IT reads when a peer is up, down, rejecting or hanging."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import select

from ris_ai_module.db.tables import check
from ris_ai_module.health.checks import check_echo, check_http, check_queue
from ris_ai_module.health.runner import run_round
from ris_ai_module.health.section import HttpCheckConfig
from ris_ai_module.tasks import queue
from ris_ai_module.tasks.model import TaskKind
from tests.integration.health.conftest import closed_port, make_ctx


def test_echo_live_dcmtk_peer_is_ok_with_latency(storescp) -> None:
    port = storescp("PACS")
    r = check_echo("PACS", "127.0.0.1", port, "PACS", "RIS_AI", 5)
    assert r.ok, r.error
    assert r.error is None
    assert r.latency_ms is not None and 0 < r.latency_ms < 5000


def test_echo_closed_port_says_refused() -> None:
    port = closed_port()
    r = check_echo("PACS", "127.0.0.1", port, "PACS", "RIS_AI", 3)
    assert not r.ok
    assert r.error.startswith("refused") and f"127.0.0.1:{port}" in r.error


def test_echo_rejected_calling_ae_names_the_reason(picky_scp: int) -> None:
    r = check_echo("PICKY", "127.0.0.1", picky_scp, "PICKY", "RIS_AI", 5)
    assert not r.ok
    assert r.error.startswith("rejected") and "Calling AE title not recognised" in r.error
    assert check_echo("PICKY", "127.0.0.1", picky_scp, "PICKY", "ALLOWED", 5).ok


def test_http_200_500_and_hanging_server(http_peer) -> None:
    good, bad, hanging = http_peer(200), http_peer(500), http_peer(200, hang=10)
    ok = check_http(HttpCheckConfig(name="ai", url=good.url + "/health"))
    assert ok.ok and ok.latency_ms is not None and good.requests[0]["path"] == "/health"
    err = check_http(HttpCheckConfig(name="ai", url=bad.url))
    assert not err.ok and err.error == "HTTP 500 (expected 200)"
    started = time.monotonic()
    slow = check_http(HttpCheckConfig(name="ai", url=hanging.url, read_timeout=0.5))
    assert time.monotonic() - started < 5
    assert not slow.ok and "read timeout" in slow.error
    port = closed_port()
    refused = check_http(HttpCheckConfig(name="ai", url=f"http://127.0.0.1:{port}/"))
    assert not refused.ok and refused.error == f"refused: nothing listens on 127.0.0.1:{port}"


def test_queue_backlog_and_failed_tasks(any_db) -> None:
    with any_db.connect() as conn:
        backlog, failed = check_queue(conn, max_age=600, failed_window=3600)
    assert backlog.ok and failed.ok
    with any_db.begin() as conn:
        queue.enqueue(conn, TaskKind.EXAM_PUSH, exam_key="E1")
    time.sleep(1.1)
    with any_db.connect() as conn:
        backlog, _ = check_queue(conn, max_age=0.5, failed_window=3600)
    assert not backlog.ok and "oldest pending task" in backlog.error and "1 pending" in backlog.error


def test_round_records_results_in_rai_check(sqlite_db, storescp, tmp_path: Path) -> None:
    port = storescp("PACS")
    ctx = make_ctx(sqlite_db, owner="node-a", dicom={"peers": [
        {"name": "PACS", "ae_title": "PACS", "host": "127.0.0.1", "port": port},
        {"name": "OFF", "ae_title": "OFF", "host": "127.0.0.1", "port": closed_port()},
    ]}, health={"echo_timeout": "3s"})
    results = run_round(ctx, "ECHO")
    assert [(r.target, r.ok) for r in results] == [("PACS", True), ("OFF", False)]
    with sqlite_db.connect() as conn:
        rows = conn.execute(select(check).order_by(check.c.target)).all()
    assert [(r.target, r.kind, r.ok, r.instance) for r in rows] == [("OFF", "ECHO", 0, "node-a"), ("PACS", "ECHO", 1, "node-a")]
    assert rows[0].error.startswith("refused") and rows[1].latency_ms is not None


def test_failed_task_raises_the_queue_failed_target(sqlite_db) -> None:
    from sqlalchemy import update

    from ris_ai_module.db.clock import utcnow
    from ris_ai_module.db.tables import task

    with sqlite_db.begin() as conn:
        task_id = queue.enqueue(conn, TaskKind.EXAM_PUSH, exam_key="E9")
        conn.execute(update(task).where(task.c.task_id == task_id).values(status="FAILED", finished_at=utcnow()))
    with sqlite_db.connect() as conn:
        _, failed = check_queue(conn, max_age=600, failed_window=3600)
    assert not failed.ok and failed.target == "queue:failed"
    assert failed.error.startswith("1 task(s) FAILED in the last 1.0h")


def test_results_older_than_retention_are_purged(sqlite_db) -> None:
    from datetime import timedelta

    from ris_ai_module.db.clock import utcnow
    from ris_ai_module.health import store
    from ris_ai_module.health.checks import CheckResult
    from ris_ai_module.health.scheduler import HealthScheduler

    ctx = make_ctx(sqlite_db, health={"retention": "180d"})
    now = utcnow()
    with sqlite_db.begin() as conn:
        store.record(conn, [CheckResult("PACS", "ECHO", True, 3.0)], "a", at=now - timedelta(days=181))
        store.record(conn, [CheckResult("PACS", "ECHO", False, None, "refused")], "a", at=now - timedelta(days=179))
    assert HealthScheduler(ctx).purge() == 1
    with sqlite_db.connect() as conn:
        assert [r["error"] for r in store.recent(conn)] == ["refused"]


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_https_check_verifies_against_the_configured_ca(tmp_path: Path) -> None:
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from tests.integration.health.conftest import self_signed

    cert, key = self_signed(tmp_path, "ai-host")

    class Ok(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Ok)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"https://127.0.0.1:{server.server_address[1]}/health"
    try:
        trusted = check_http(HttpCheckConfig(name="ai", url=url, ca_file=str(cert), read_timeout=5))
        assert trusted.ok, trusted.error
        untrusted = check_http(HttpCheckConfig(name="ai", url=url, read_timeout=5))
        assert not untrusted.ok and untrusted.error.startswith("TLS error") and "certificate verify failed" in untrusted.error
        assert check_http(HttpCheckConfig(name="ai", url=url, verify_tls=False, read_timeout=5)).ok
    finally:
        server.shutdown()
        server.server_close()
