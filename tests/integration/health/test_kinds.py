"""Health checks are one registry: the runner, the scheduler, the report and the alerts use the same kinds;
the HTTP API's own TLS certificate is watched for expiry like every other certificate the module uses."""

from __future__ import annotations

from pathlib import Path

from ris_ai_module.health.checks import plan_cert, run_plan
from ris_ai_module.health.kinds import CHECK_KINDS, title
from ris_ai_module.health.runner import KINDS
from ris_ai_module.settings import config_from_dict
from tests.integration.health.conftest import self_signed

USERS = [{"name": "it", "password_hash": "pbkdf2_sha256$1$c2FsdA==$aGFzaA=="}]


def test_the_http_api_certificate_is_checked_for_expiry(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, "web")  # valid for 30 days from now
    config = config_from_dict({
        "database": {"url": "sqlite://"}, "worker": {"enabled": False}, "dicom": {"enabled": False},
        "http": {"enabled": True, "tls_certificate": str(cert), "tls_private_key": str(key), "users": USERS},
        "health": {"cert_warn_days": 60},
    })
    results = run_plan(plan_cert(config))
    assert [(r.target, r.kind, r.ok) for r in results] == [("cert:web.crt", "CERT", False)]
    assert results[0].error is not None and results[0].error.startswith("expires in 30 day(s)")
    relaxed = config_from_dict({
        "database": {"url": "sqlite://"}, "worker": {"enabled": False}, "dicom": {"enabled": False},
        "http": {"enabled": True, "tls_certificate": str(cert), "tls_private_key": str(key), "users": USERS},
        "health": {"cert_warn_days": 7},
    })
    assert [r.ok for r in run_plan(plan_cert(relaxed))] == [True]
    off = config_from_dict({
        "database": {"url": "sqlite://"}, "worker": {"enabled": False}, "dicom": {"enabled": False},
        "http": {"enabled": False, "tls_certificate": str(cert), "tls_private_key": str(key)},
    })
    assert plan_cert(off) == [], "a certificate the module does not serve is not its to renew"


def test_every_kind_is_run_scheduled_and_named_from_the_one_registry(sqlite_db) -> None:
    from ris_ai_module.context import AppContext
    from ris_ai_module.health.scheduler import HealthScheduler

    names = [k.name for k in CHECK_KINDS]
    assert names == ["ECHO", "HTTP", "QUEUE", "DISK", "CERT"]
    assert KINDS == tuple(names), "check-now runs every kind"
    config = config_from_dict({"database": {"url": sqlite_db.url.render_as_string(hide_password=False)},
                               "worker": {"enabled": False}, "dicom": {"enabled": False}})
    jobs = {job_id for job_id, _interval, _func in HealthScheduler(AppContext(config, sqlite_db)).jobs()}
    assert {f"health.{n.lower()}" for n in names} <= jobs
    assert title("QUEUE") == "任务队列 Queue" and title("CERT") == "TLS 证书 Certificate"
    assert title("SOMETHING_NEWER") == "SOMETHING_NEWER", "a kind stored by a newer version shows as stored"
