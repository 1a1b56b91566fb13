"""An AI host that requires mutual TLS is checked with the host's own client certificate: without it the
host ends the handshake and the check would call a healthy host down."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from ris_ai_module.errors import ConfigError
from ris_ai_module.health.ai_hosts import http_checks
from ris_ai_module.health.checks import cert_files, check_http
from ris_ai_module.settings import config_from_dict
from ris_ai_module.sim.http_host import StubServer
from tests.integration.tasks.test_exam_push import _make_ca
from tests.support import client_cert


def _config(url: str, push: dict, http: list[dict] | None = None):
    return config_from_dict({"database": {"url": "sqlite://"}, "worker": {"enabled": False},
                             "push": {"url": url, **push}, "health": {"http": http or []}})


def test_the_ai_host_check_presents_the_push_client_certificate(tmp_path: Path) -> None:
    ca, crt, key = _make_ca(tmp_path)
    client_crt, client_key = client_cert(tmp_path, ca)
    server = StubServer(certfile=str(crt), keyfile=str(key))
    context = server.socket.context  # type: ignore[attr-defined]
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(str(ca))
    server.start()
    try:
        url = f"https://127.0.0.1:{server.port}/api/exams"
        without = _config(url, {"ca_file": str(ca)})
        (check,) = http_checks(without)
        result = check_http(check)
        assert not result.ok and result.error.startswith(("TLS error", "connection failed"))
        with_cert = _config(url, {"ca_file": str(ca), "client_cert": str(client_crt), "client_key": str(client_key)})
        (check,) = http_checks(with_cert)
        assert check.name == "ai:default" and check_http(check).ok
        # a [[health.http]] entry of another mutual-TLS endpoint carries its own pair
        entry = {"name": "PACS web", "url": url, "ca_file": str(ca), "expect_status": list(range(200, 500)),
                 "client_cert": str(client_crt), "client_key": str(client_key)}
        listed = _config("", {}, [entry])
        assert check_http(listed.health.http[0]).ok
        assert str(client_crt) in cert_files(listed)  # its expiry is watched like the module's other certificates
    finally:
        server.stop()


def test_a_check_certificate_without_its_key_names_the_key() -> None:
    with pytest.raises(ConfigError) as err:
        _config("", {}, [{"name": "x", "url": "https://127.0.0.1:1/", "client_cert": "/etc/c.crt"}])
    assert err.value.key == "health.http[0].client_key"
