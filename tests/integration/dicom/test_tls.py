"""DICOM TLS: DCMTK echoscu/storescu with a client certificate from a private CA made at test time."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.dicom import dcmtk
from tests.integration.dicom import objects as make
from tests.support import missing_peer


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    if shutil.which("openssl") is None:
        missing_peer("openssl not installed")
    d = tmp_path / "pki"
    d.mkdir()
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"),
             "-days", "2", "-subj", "/CN=Test CA")
    for name in ("server", "client"):
        (d / f"{name}.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / f"{name}.key"), "-out",
                 str(d / f"{name}.csr"), "-subj", f"/CN={name}")
        _openssl("x509", "-req", "-in", str(d / f"{name}.csr"), "-CA", str(d / "ca.pem"), "-CAkey", str(d / "ca.key"),
                 "-CAcreateserial", "-out", str(d / f"{name}.pem"), "-days", "2", "-extfile", str(d / f"{name}.ext"))
    return d


def test_tls_with_client_certificate(start_scp, pki: Path, tmp_path: Path) -> None:
    env = start_scp(tls={"enabled": True, "certificate": str(pki / "server.pem"),
                         "private_key": str(pki / "server.key"), "ca_file": str(pki / "ca.pem")})
    tls = ("+tls", str(pki / "client.key"), str(pki / "client.pem"), "+cf", str(pki / "ca.pem"))
    ok = dcmtk.echoscu(env.port, "DEMO_AI", "RIS_AI", *tls)
    assert ok.returncode == 0, ok.stderr
    make.sr(tmp_path / "sr.dcm")
    stored = dcmtk.storescu(env.port, tmp_path / "sr.dcm", extra=tls)
    assert dcmtk.store_statuses(stored.stderr) == ["Success"], stored.stderr
    assert len(env.objects()) == 1
    anonymous = dcmtk.echoscu(env.port, "DEMO_AI", "RIS_AI", "+tla", "+cf", str(pki / "ca.pem"))
    assert anonymous.returncode != 0  # no client certificate: refused in the handshake
    plain = dcmtk.echoscu(env.port)
    assert plain.returncode != 0
    assert dcmtk.echoscu(env.port, "DEMO_AI", "RIS_AI", *tls).returncode == 0  # still serving


def test_a_silent_tls_client_does_not_block_other_peers(start_scp, pki: Path) -> None:
    import socket
    import time

    env = start_scp(acse_timeout="20s", tls={"enabled": True, "certificate": str(pki / "server.pem"),
                                             "private_key": str(pki / "server.key"), "ca_file": str(pki / "ca.pem")})
    tls = ("+tls", str(pki / "client.key"), str(pki / "client.pem"), "+cf", str(pki / "ca.pem"))
    with socket.create_connection(("127.0.0.1", env.port), timeout=5):  # connects, never says hello
        started = time.monotonic()
        assert dcmtk.echoscu(env.port, "DEMO_AI", "RIS_AI", *tls).returncode == 0
        assert time.monotonic() - started < 10
