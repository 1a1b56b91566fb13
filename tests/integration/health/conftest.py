"""Real peers on loopback for the health tests: SMTP (aiosmtpd), webhook and misbehaving HTTP servers,
DCMTK storescp, a pynetdicom SCP that rejects unknown calling AEs, migrated databases."""

from __future__ import annotations

import email
import email.policy
import json
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from ris_ai_module.context import AppContext
from ris_ai_module.db import migrate
from ris_ai_module.settings import Config, config_from_dict
from tests.dbs import engine_for, fresh_database
from tests.integration.dicom.dcmtk import ENV, tool
from tests.support import free_port, wait_until


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def health_config(db_url: str, **sections: Any) -> Config:
    raw = {"database": {"url": db_url}, "worker": {"enabled": False},
           "module": {"instance_name": "test", "hospital_name": "测试医院"}}
    return config_from_dict(deep_merge(raw, sections))


def make_ctx(engine: Engine, owner: str = "", **sections: Any) -> AppContext:
    cfg = health_config(engine.url.render_as_string(hide_password=False), **sections)
    return AppContext(config=cfg, engine=engine, owner=owner)


# --- databases ---------------------------------------------------------------------------------------


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Engine]:
    with fresh_database("sqlite", directory=tmp_path) as url:
        engine = engine_for(url)
        migrate.upgrade(engine)
        try:
            yield engine
        finally:
            engine.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database with the RAI_* tables (real migrations)."""
    with fresh_database("postgresql") as url:
        engine = engine_for(url)
        migrate.upgrade(engine)
        engine.dispose()
        yield url


# --- SMTP --------------------------------------------------------------------------------------------


@dataclass
class Mailbox:
    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    def wait_for(self, count: int, timeout: float = 15.0) -> list[EmailMessage]:
        assert wait_until(lambda: len(self.messages) >= count, timeout), f"expected {count} mails, got {len(self.messages)}"
        return self.messages


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd API
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        self.box.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.box.messages.append(msg)  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1, plain, no auth."""
    from aiosmtpd.controller import Controller

    box = Mailbox("127.0.0.1", free_port())
    controller = Controller(_Handler(box), hostname=box.host, port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def self_signed(folder: Path, name: str = "server") -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (IP SAN) and its key, made now."""
    import ipaddress
    from datetime import datetime, timedelta, timezone

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / f"{name}.crt", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def tls_smtp(tmp_path: Path) -> Iterator[Callable[[str], tuple[Mailbox, Path]]]:
    """SMTP over TLS ("ssl") or with STARTTLS required ("starttls"), LOGIN required (user it / pw s3cret).
    Returns the mailbox and the certificate to trust."""
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert, key = self_signed(tmp_path, "smtp")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login == b"it" and data.password == b"s3cret"
        return AuthResult(success=ok, handled=False)

    controllers: list[Any] = []

    def _start(security: str) -> tuple[Mailbox, Path]:
        box = Mailbox("127.0.0.1", free_port())
        kwargs: dict[str, Any] = {"authenticator": authenticate, "auth_required": True}
        if security == "ssl":
            kwargs.update(ssl_context=ctx, auth_require_tls=False)
        else:
            kwargs.update(tls_context=ctx, require_starttls=True)
        controller = Controller(_Handler(box), hostname=box.host, port=box.port, **kwargs)
        controller.start()
        controllers.append(controller)
        return box, cert

    yield _start
    for c in controllers:
        c.stop()


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def html_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("html",))
    return part.get_content() if part is not None else ""


# --- HTTP servers -----------------------------------------------------------------------------------


@dataclass
class HttpPeer:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def http_peer() -> Iterator[Callable[..., HttpPeer]]:
    """Start a loopback HTTP server: ``status`` for every request, or ``hang`` seconds before answering."""
    servers: list[tuple[ThreadingHTTPServer, threading.Event]] = []

    def _start(status: int = 200, hang: float = 0.0, body: bytes = b'{"errcode": 0, "errmsg": "ok"}') -> HttpPeer:
        release = threading.Event()
        peer = HttpPeer("")

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                peer.requests.append({"method": self.command, "path": self.path, "body": raw,
                                      "json": json.loads(raw) if raw else None})
                if hang:
                    release.wait(hang)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_HEAD = _answer  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append((server, release))
        peer.url = f"http://127.0.0.1:{server.server_address[1]}"
        return peer

    yield _start
    for server, release in servers:
        release.set()
        server.shutdown()
        server.server_close()


# --- DICOM peers --------------------------------------------------------------------------------------


@pytest.fixture
def storescp(tmp_path: Path) -> Iterator[Callable[..., int]]:
    """DCMTK storescp as a live peer (on ``port`` or a free one); returns its port."""
    procs: list[subprocess.Popen[bytes]] = []

    def _start(aet: str = "PACS", port: int | None = None) -> int:
        for _ in range(3 if port is None else 1):  # a free port can be taken by another worker before the bind
            chosen = port or free_port()
            out = tmp_path / f"storescp-{chosen}"
            out.mkdir(exist_ok=True)
            proc = subprocess.Popen([tool("storescp"), "--aetitle", aet, "--output-directory", str(out), str(chosen)],
                                    env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(proc)
            assert wait_until(lambda c=chosen, p=proc: _listening(c) or p.poll() is not None, 10), \
                "storescp did not start"
            if proc.poll() is None:
                return chosen
        raise AssertionError(f"storescp exited (status {proc.returncode}) on port {chosen}")

    yield _start
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _listening(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def picky_scp() -> Iterator[int]:
    """A pynetdicom Verification SCP that accepts only the calling AE ALLOWED (rejects everyone else)."""
    from pynetdicom import AE
    from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

    ae = AE(ae_title="PICKY")
    ae.add_supported_context(Verification)
    ae.require_calling_aet = ["ALLOWED"]
    server = ae.start_server(("127.0.0.1", 0), block=False)
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        ae.shutdown()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    port = free_port()
    time.sleep(0)
    return port
