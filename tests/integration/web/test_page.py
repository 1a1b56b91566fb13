"""The status page in real headless Chromium: queue counts, a failure, and a search result in Chinese."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from ris_ai_module.db.tables import task
from tests.integration.tasks.conftest import add_exam
from tests.integration.web.browser import chromium
from tests.integration.web.conftest import VIEWER, start_api


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_status_page_shows_queue_failures_and_search_results(any_db: Engine, tmp_path: Path) -> None:
    add_exam(any_db, "P1", name="张三丰", status="STARTED")
    add_exam(any_db, "P2", name="李四", status="STARTED")
    with any_db.begin() as conn:
        conn.execute(update(task).where(task.c.exam_key == "P2").values(status="FAILED", last_error="HTTP 422 字段错误"))
    api = start_api(any_db, tmp_path)
    try:
        url = f"http://{VIEWER[0]}:{VIEWER[1]}@127.0.0.1:{api.server.port}/?name=%E5%BC%A0"
        dom = chromium(tmp_path, url, f"--screenshot={tmp_path / 'status.png'}")
    finally:
        api.server.stop()
        api.ctx.engine.dispose()
    assert 'id="count-SCHEDULED"><b>1</b>' in dom
    assert 'id="count-FAILED"><b>1</b>' in dom and 'class="count bad" id="count-FAILED"' in dom
    assert "HTTP 422 字段错误" in dom
    assert "<td>P1</td><td>张三丰</td>" in dom and "<td>李四</td>" not in dom.split('id="exams"')[1].split("</tbody>")[0]
    assert "<td>2026-11-27 08:30</td>" in dom, "exam time readable"
    assert '<div id="error"></div>' in dom, "no error shown (the page's script ran under its CSP)"
    assert (tmp_path / "status.png").stat().st_size > 10_000


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_a_link_to_one_exam_shows_its_trace_and_measurements(any_db: Engine, tmp_path: Path) -> None:
    from ris_ai_module.runtime import make_worker
    from tests.integration.web.test_api import _sr_for

    add_exam(any_db, "T1", name="曾小贤", status="STARTED")
    api = start_api(any_db, tmp_path)
    try:
        sr = _sr_for(any_db, "T1", tmp_path / "sr.dcm")
        assert api.post("/api/sr", data=sr, headers={"Content-Type": "application/dicom"}).status_code == 201
        make_worker(api.ctx).run_once()
        url = f"http://{VIEWER[0]}:{VIEWER[1]}@127.0.0.1:{api.server.port}/?exam=T1"
        dom = chromium(tmp_path, url, "--dump-dom")
    finally:
        api.server.stop()
        api.ctx.engine.dispose()
    detail = dom.split('id="detail"')[1]
    assert 'id="detail-key">T1<' in detail and "曾小贤" in detail
    assert "<td>EXAM_PUSH</td>" in detail and "<td>SR_APPLY</td>" in detail
    assert "<td>LVEF</td>" in detail and "<td>是 Yes</td>" in detail, "the measurements the report received"


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_login_form_session_and_operator_controls_only_for_operators(any_db: Engine, tmp_path: Path) -> None:
    from datetime import datetime

    from ris_ai_module.db.tables import audit, task_attempt
    from tests.integration.web.browser import chromium_page
    from tests.integration.web.conftest import OPERATOR

    add_exam(any_db, "S1", name="王五", status="STARTED")
    with any_db.begin() as conn:
        conn.execute(update(task).where(task.c.exam_key == "S1").values(status="FAILED", last_error="HTTP 400"))
        task_id = conn.execute(select(task.c.task_id).where(task.c.exam_key == "S1")).scalar_one()
        conn.execute(task_attempt.insert().values(task_id=task_id, attempt_no=1, started_at=datetime(2026, 12, 1, 8),
                                                  outcome="FAILED", http_status=400,
                                                  response_body='{"error": "字段 patientName 缺失"}'))
    api = start_api(any_db, tmp_path)
    page = f"http://127.0.0.1:{api.server.port}/?exam=S1"
    visible = "(id) => !document.getElementById(id).hidden"
    try:
        with chromium_page(tmp_path / "viewer") as browser:
            browser.open(page)
            browser.wait("!document.getElementById('login').hidden")
            assert browser.js("document.getElementById('main').hidden"), "nothing but the form before logging in"
            browser.log_in(VIEWER[0], "wrong-password")
            assert "bad credentials" in browser.js("document.getElementById('login-error').textContent")
            browser.log_in(*VIEWER)
            browser.wait("document.getElementById('detail-key').textContent === 'S1'")
            browser.settled_dom()
            assert not browser.js(f"({visible})('resend')") and not browser.js(f"({visible})('upload-section')")
            assert browser.js("document.querySelectorAll('#failures button').length") == 0, "no Retry for a viewer"
            assert browser.js("document.cookie") == "", "the session cookie is HttpOnly"
            assert "字段 patientName 缺失" in browser.js("document.getElementById('detail-tasks').textContent"), \
                "the AI host's reply is in the trace"
            browser.js("document.getElementById('logout').click()")
            browser.wait("!document.getElementById('login').hidden")
        with chromium_page(tmp_path / "operator") as browser:
            browser.open(page)
            browser.log_in(*OPERATOR)
            browser.wait("document.getElementById('detail-key').textContent === 'S1'")
            browser.settled_dom()
            assert browser.js(f"({visible})('resend')") and browser.js(f"({visible})('upload-section')")
            assert browser.js("document.querySelectorAll('#failures button').length") == 1
            browser.js("document.getElementById('resend').click()")  # a POST with the session's CSRF token
            browser.wait("document.getElementById('detail-result').textContent.includes('task')")
            assert "已安排重发" in browser.js("document.getElementById('detail-result').textContent")
    finally:
        api.server.stop()
        api.ctx.engine.dispose()
    with any_db.connect() as conn:
        actions = [(r.actor, r.action, r.ok) for r in conn.execute(select(audit.c.actor, audit.c.action, audit.c.ok)
                                                                   .order_by(audit.c.audit_id))]
    assert (VIEWER[0], "login_failed", 0) in actions and (VIEWER[0], "logout", 1) in actions
    assert (OPERATOR[0], "login", 1) in actions and (OPERATOR[0], "exam_resend", 1) in actions
