"""Security an assessor (等保三级) checks on the HTTP API: lockout kept in the database (survives a restart,
holds for a second instance) per account and per client address; page sessions in the database shared by
instances, ending after the idle timeout; state changes from a browser need this server's page (CSRF token
or same-origin Origin/Referer), while scripts with an API token are exempt."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import requests
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.tables import audit, login_failure, web_session
from tests.integration.tasks.conftest import add_exam
from tests.integration.web.conftest import MONITOR_TOKEN, OPERATOR, VIEWER, Api, start_api


def _stop(api: Api) -> None:
    api.server.stop()
    api.ctx.engine.dispose()


def _login(api: Api, who: tuple[str, str]) -> tuple[requests.Session, str]:
    browser = requests.Session()
    resp = browser.post(api.base + "/login", json={"name": who[0], "password": who[1]}, timeout=30)
    assert resp.status_code == 200, resp.text
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower() and "Path=/" in cookie
    return browser, resp.json()["csrf_token"]


def test_lockout_survives_a_restart_and_holds_on_another_instance(any_db: Engine, tmp_path: Path) -> None:
    first = start_api(any_db, tmp_path)
    try:
        for _ in range(4):
            assert first.get("/api/status", auth=(OPERATOR[0], "guess")).status_code == 401
        assert first.get("/api/status", auth=(OPERATOR[0], "guess")).status_code == 429
        second = start_api(any_db, tmp_path)  # another instance on the same database
        try:
            locked = second.get("/api/status", auth=OPERATOR)
            assert locked.status_code == 429 and "locked" in locked.json()["error"]
        finally:
            _stop(second)
    finally:
        _stop(first)
    restarted = start_api(any_db, tmp_path)
    try:
        assert restarted.get("/api/status", auth=OPERATOR).status_code == 429, "a restart does not unlock"
        assert restarted.get("/api/status", auth=VIEWER).status_code == 200, "other accounts are not locked"
        with any_db.begin() as conn:  # the lock time passes
            conn.execute(update(login_failure).values(locked_until=utcnow() - timedelta(seconds=1)))
        assert restarted.get("/api/status", auth=OPERATOR).status_code == 200
    finally:
        _stop(restarted)


def test_an_address_trying_many_names_is_locked(any_db: Engine, tmp_path: Path) -> None:
    api = start_api(any_db, tmp_path, lockout_failures=5, lockout_address_failures=6)
    try:
        for i in range(5):
            assert api.get("/api/status", auth=(f"nobody{i}", "x")).status_code == 401
        assert api.get("/api/status", auth=("nobody5", "x")).status_code == 429, "6th failure from 127.0.0.1"
        refused = api.get("/api/status", auth=VIEWER)
        assert refused.status_code == 429 and "address" in refused.json()["error"], "even a right password"
        token = api.get("/api/status", auth=None, headers={"Authorization": f"Bearer {MONITOR_TOKEN}"})
        assert token.status_code == 200, "API tokens (256 random bits) are not behind the password lockout"
        with any_db.connect() as conn:
            keys = {r.fail_key for r in conn.execute(select(login_failure.c.fail_key, login_failure.c.locked_until)
                                                     .where(login_failure.c.locked_until.is_not(None)))}
            reasons = [r.detail for r in conn.execute(select(audit.c.detail).where(audit.c.action == "login_failed"))]
        assert keys == {"address:127.0.0.1"}
        assert reasons.count("address locked") == 2 and reasons.count("bad credentials") == 5
    finally:
        _stop(api)


def test_a_session_is_shared_by_instances_and_ends_when_idle_or_logged_out(any_db: Engine, tmp_path: Path) -> None:
    first, second = start_api(any_db, tmp_path), start_api(any_db, tmp_path)
    try:
        browser, csrf = _login(first, VIEWER)
        me = browser.get(second.base + "/api/me", timeout=30)  # the next request lands on the other instance
        assert me.status_code == 200 and me.json() == {"user": VIEWER[0], "role": "viewer", "csrf_token": csrf,
                                                       "session": True}
        with any_db.connect() as conn:
            stored = conn.execute(select(web_session.c.session_hash)).scalars().all()
        assert len(stored) == 1 and browser.cookies["rai_session"] not in stored, "only the cookie's hash is kept"
        with any_db.begin() as conn:  # 16 minutes without a request (http.session_idle is 15m)
            conn.execute(update(web_session).values(last_seen_at=utcnow() - timedelta(minutes=16)))
        idle = browser.get(second.base + "/api/exams", timeout=30, headers={"X-Requested-With": "rai-page"})
        assert idle.status_code == 401 and "WWW-Authenticate" not in idle.headers, "the page shows its own form"

        browser, csrf = _login(second, OPERATOR)
        out = browser.post(first.base + "/logout", headers={"X-CSRF-Token": csrf}, timeout=30)
        assert out.status_code == 200 and out.json() == {"logged_out": True}
        assert browser.get(first.base + "/api/me", timeout=30).status_code == 401
        with any_db.connect() as conn:
            assert conn.execute(select(func.count()).select_from(web_session)).scalar() == 0
    finally:
        _stop(first)
        _stop(second)


def test_state_changes_from_a_browser_need_this_servers_page(any_db: Engine, tmp_path: Path) -> None:
    add_exam(any_db, "C1")
    api = start_api(any_db, tmp_path)
    own = api.base  # http://127.0.0.1:<port>
    try:
        browser, csrf = _login(api, OPERATOR)
        push = api.base + "/api/exams/C1/push"
        assert browser.post(push, timeout=30).status_code == 403, "cookie alone (no token, no Origin)"
        forged = browser.post(push, headers={"Origin": "http://evil.example"}, timeout=30)
        assert forged.status_code == 403 and forged.json()["field"] == "Origin"
        assert browser.post(push, headers={"Origin": "null"}, timeout=30).status_code == 403
        assert browser.post(push, headers={"X-CSRF-Token": "wrong"}, timeout=30).status_code == 403
        assert browser.post(push, headers={"X-CSRF-Token": csrf}, timeout=30).status_code == 202
        assert browser.post(push, headers={"Origin": own}, timeout=30).status_code == 202, "same-origin page"
        assert browser.get(api.base + "/api/exams/C1", headers={"Origin": "http://evil.example"},
                           timeout=30).status_code == 200, "reads are not state changes"

        # HTTP Basic, which a browser also sends by itself
        assert api.post("/api/exams/C1/push", headers={"Origin": "http://evil.example"}).status_code == 403
        assert api.post("/api/exams/C1/push", headers={"Referer": "http://evil.example/x"}).status_code == 403
        assert api.post("/api/exams/C1/push", headers={"Referer": own + "/?exam=C1"}).status_code == 202
        assert api.post("/api/exams/C1/push").status_code == 202, "a script (no Origin, no Referer)"
        # a Bearer token is never sent by a browser on its own: exempt (here refused for its role only)
        token = api.post("/api/exams/C1/push", auth=None,
                         headers={"Authorization": f"Bearer {MONITOR_TOKEN}", "Origin": "http://evil.example"})
        assert token.status_code == 403 and "operator role" in token.json()["error"]
        login_csrf = requests.post(api.base + "/login", json={"name": VIEWER[0], "password": VIEWER[1]},
                                   headers={"Origin": "http://evil.example"}, timeout=30)
        assert login_csrf.status_code == 403, "a foreign page cannot log the browser in"
        with any_db.connect() as conn:
            refused = conn.execute(select(audit.c.action, audit.c.detail).where(audit.c.ok == 0)).all()
        assert sum("CSRF" in (r.detail or "") for r in refused) == 6, "every refused cross-site change is audited"
        assert ("login_failed", "cross-site login (Origin/Referer of another site)") in refused
    finally:
        _stop(api)
