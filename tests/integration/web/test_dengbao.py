"""等保三级 account controls on a real HTTP server over each real database (SQLite, PostgreSQL, MariaDB):
separation of duties between the roles, TOTP login of the administrators, password expiry, the security
administrator's unlock, the audit administrator's page and hash-chained export, retention purge, and the
password history behind hash-password."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.tables import audit, password_history
from ris_ai_module.web.audit_export import verify_csv
from ris_ai_module.web.auth import hash_password
from ris_ai_module.web.password_policy import remember, reused
from ris_ai_module.web.section import PasswordPolicyConfig
from ris_ai_module.web.server import WebServer
from tests.integration.tasks.conftest import make_ctx
from tests.support import free_port

SECRETS = {name: pyotp.random_base32() for name in ("sys", "sec", "aud")}
PASSWORD = "Strong-pass-2026"
TODAY = dt.date.today()


def code(name: str, step_offset: int = 0) -> str:
    totp = pyotp.TOTP(SECRETS[name])
    return totp.at(dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=30 * step_offset))


class Site:
    def __init__(self, engine: Engine, tmp_path: Path) -> None:
        port = free_port()
        h = hash_password(PASSWORD, 1000)
        users = [{"name": "sys", "password_hash": h, "role": "sysadmin", "totp_secret": SECRETS["sys"]},
                 {"name": "sec", "password_hash": h, "role": "secadmin", "totp_secret": SECRETS["sec"]},
                 {"name": "aud", "password_hash": h, "role": "auditadmin", "totp_secret": SECRETS["aud"]},
                 {"name": "op", "password_hash": h, "role": "operator", "password_set": TODAY.isoformat()},
                 {"name": "old", "password_hash": h, "role": "viewer",
                  "password_set": (TODAY - dt.timedelta(days=91)).isoformat()},
                 {"name": "soon", "password_hash": h, "role": "viewer",
                  "password_set": (TODAY - dt.timedelta(days=80)).isoformat()}]
        self.ctx = make_ctx(engine, "http://127.0.0.1:9/", storage={"root": str(tmp_path / "storage")},
                            http={"enabled": True, "host": "127.0.0.1", "port": port, "users": users,
                                  "lockout_failures": 3})
        self.server = WebServer(self.ctx)
        self.server.start()
        self.base = f"http://127.0.0.1:{port}"
        self.used: dict[str, int] = {}

    def get(self, path: str, user: str, password: str | None = None, **kw) -> requests.Response:
        return requests.get(self.base + path, auth=(user, password or self.login(user)), timeout=30, **kw)

    def post(self, path: str, user: str, password: str | None = None) -> requests.Response:
        return requests.post(self.base + path, auth=(user, password or self.login(user)), timeout=30)

    def login(self, user: str) -> str:
        """The password field an administrator types: password + the app's current code."""
        return PASSWORD + code(user) if user in SECRETS else PASSWORD


@pytest.fixture
def site(any_db: Engine, tmp_path: Path) -> Iterator[Site]:
    running = Site(any_db, tmp_path)
    try:
        yield running
    finally:
        running.server.stop()
        running.ctx.engine.dispose()


def test_each_role_reaches_only_its_own_duties(site: Site) -> None:
    allowed = {"op": "/api/exams", "sys": "/api/accounts", "sec": "/api/security", "aud": "/api/audit"}
    for user, own in allowed.items():
        assert site.get(own, user).status_code == 200, (user, own)
        for other_user, other in allowed.items():
            if other_user != user:
                answer = site.get(other, user)
                assert answer.status_code == 403, (user, other)
                assert answer.json()["error"].startswith("this action needs the")
    accounts = site.get("/api/accounts", "sys").json()["users"]
    assert {(a["name"], a["totp"]) for a in accounts} >= {("aud", True), ("op", False)}


def test_administrators_need_the_totp_code(site: Site) -> None:
    wrong_code = "000000" if code("aud") != "000000" else "111111"
    assert site.get("/api/audit", "aud", PASSWORD).status_code == 401  # password alone
    assert site.get("/api/audit", "aud", PASSWORD + wrong_code).status_code == 401
    assert site.get("/api/audit", "aud").status_code == 200  # password + the app's code
    assert site.get("/api/audit", "aud", "Wrong-pass-2026" + code("aud", 1)).status_code == 401
    # TOTP failures count towards the lockout like password failures (lockout_failures = 3 here).
    assert site.get("/api/audit", "aud", PASSWORD + wrong_code).status_code == 401
    assert site.get("/api/audit", "aud", PASSWORD + wrong_code).status_code == 429


def test_expired_password_is_refused_and_a_near_expiry_warned(site: Site) -> None:
    old = site.get("/api/exams", "old")
    assert old.status_code == 401 and "password expired" in old.json()["error"]
    soon = site.get("/api/exams", "soon")
    assert soon.status_code == 200 and soon.headers["X-Password-Expires-In-Days"] == "10"
    assert "X-Password-Expires-In-Days" not in site.get("/api/exams", "op").headers


def test_security_administrator_sees_and_lifts_a_lock(site: Site) -> None:
    for _ in range(3):
        site.get("/api/exams", "op", "wrong")
    assert site.get("/api/exams", "op").status_code == 429
    security = site.get("/api/security", "sec").json()
    assert "account:op" in security["locked"] and security["password_policy"]["history"] == 5
    assert site.post("/api/security/unlock/op", "sec").status_code == 200
    assert site.get("/api/exams", "op").status_code == 200
    assert site.post("/api/security/unlock/op", "sec").status_code == 404
    with site.ctx.engine.connect() as conn:
        actions = conn.execute(select(audit.c.actor, audit.c.action, audit.c.ok).where(audit.c.target == "op")).all()
    assert ("sec", "account_unlock", 1) in actions and ("sec", "account_unlock", 0) in actions


def test_audit_administrator_page_and_signed_export(site: Site) -> None:
    site.get("/api/exams", "op", "wrong")  # a failed login to find in the log
    page = site.get("/audit", "aud")
    assert page.status_code == 200 and "审计日志" in page.text and "login_failed" in page.text
    assert "script-src" not in page.headers["Content-Security-Policy"]  # no script runs on it
    export = site.get(f"/api/audit/export.csv?from={TODAY}&to={TODAY}", "aud")
    assert export.status_code == 200 and export.headers["Content-Type"].startswith("text/csv")
    text = export.content.decode("utf-8-sig")
    head = export.headers["X-Audit-Chain-Head"]
    assert verify_csv(text, head) == (True, f"{text.count(chr(10)) - 3} rows, chain intact, head {head}")
    assert ",login_failed," in text
    with site.ctx.engine.connect() as conn:
        recorded = conn.execute(select(audit.c.detail).where(audit.c.action == "audit_export")).scalar_one()
    assert recorded.endswith(f"head={head}")
    lines = text.split("\r\n")
    assert not verify_csv("\r\n".join(lines[:2] + lines[3:]), head)[0]  # first row deleted


def test_password_history_refuses_the_last_n(any_db: Engine) -> None:
    policy = PasswordPolicyConfig(history=2)
    start = utcnow()
    for i, password in enumerate(("First-pass-01", "Second-pass-02", "Third-pass-03")):
        with any_db.begin() as conn:
            assert not reused(conn, "op", password, policy)
            remember(conn, "op", hash_password(password, 1000), policy, start + dt.timedelta(seconds=i))
    with any_db.begin() as conn:
        assert reused(conn, "op", "Third-pass-03", policy) and reused(conn, "op", "Second-pass-02", policy)
        assert not reused(conn, "op", "First-pass-01", policy)  # older than the last 2
        assert not reused(conn, "other", "Third-pass-03", policy)
        assert conn.execute(select(func.count()).select_from(password_history)).scalar_one() == 2
