"""Alert texts and webhook bodies as the robots expect them; certificate expiry; [health]/[alerts] config errors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ris_ai_module.errors import ConfigError
from ris_ai_module.health.alerts import Alert
from ris_ai_module.health.channels import alert_text, dingtalk_signed_url, webhook_body
from ris_ai_module.health.checks import check_cert
from ris_ai_module.settings import config_from_dict

DOWN = Alert("DOWN", "PACS", "ECHO", datetime(2026, 11, 27, 1, 0), datetime(2026, 11, 27, 0, 58), 3,
             "refused: nothing listens on 10.1.1.5:104", 1)


def test_alert_text_names_target_state_and_error() -> None:
    text = alert_text(DOWN, "测试医院", "node-a")
    assert text.splitlines()[0] == "[ris-ai-module] 测试医院 故障 DOWN: PACS"
    assert "连续 3 次检查失败" in text and "refused: nothing listens on 10.1.1.5:104" in text and "node-a" in text


def test_webhook_bodies_per_format() -> None:
    assert webhook_body("wecom", DOWN, "hello") == {"msgtype": "text", "text": {"content": "hello"}}
    ding = webhook_body("dingtalk", DOWN, "hello")
    assert ding["msgtype"] == "text" and ding["text"] == {"content": "hello"} and ding["at"] == {"isAtAll": False}
    generic = webhook_body("generic", DOWN, "hello")
    assert generic["event"] == "DOWN" and generic["target"] == "PACS" and generic["fail_count"] == 3
    assert generic["time"] == "2026-11-27T01:00:00+00:00"


def test_dingtalk_signature_follows_the_robot_documentation() -> None:
    url = dingtalk_signed_url("https://oapi.dingtalk.com/robot/send?access_token=T", "SEC123", now_ms=1700000000000)
    expected = base64.b64encode(hmac.new(b"SEC123", b"1700000000000\nSEC123", hashlib.sha256).digest()).decode()
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query == {"access_token": ["T"], "timestamp": ["1700000000000"], "sign": [expected]}


def _cert(path: Path, days: float) -> Path:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ris-ai.hospital.example")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=400))
            .not_valid_after(now + timedelta(days=days)).sign(key, hashes.SHA256()))
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def test_certificate_expiry(tmp_path: Path) -> None:
    assert check_cert(str(_cert(tmp_path / "ok.pem", 200)), 30).ok
    soon = check_cert(str(_cert(tmp_path / "soon.pem", 10.5)), 30)
    assert not soon.ok and soon.error.startswith("expires in 10 day(s)") and soon.target == "cert:soon.pem"
    gone = check_cert(str(_cert(tmp_path / "gone.pem", -3)), 30)
    assert not gone.ok and gone.error.startswith("expired 3 day(s) ago")
    missing = check_cert(str(tmp_path / "nope.pem"), 30)
    assert not missing.ok and "cannot read" in missing.error


BASE = {"database": {"url": "sqlite:///x.db"}, "worker": {"enabled": False}}


@pytest.mark.parametrize(("extra", "key"), [
    ({"health": {"report_time": "7:3"}}, "health.report_time"),
    ({"health": {"report_time": "25:00"}}, "health.report_time"),
    ({"health": {"retention": "1h"}}, "health.retention"),
    ({"health": {"http": [{"name": "a", "url": "ftp://x"}]}}, "health.http[0].url"),
    ({"health": {"http": [{"name": "a", "url": "http://x"}, {"name": "a", "url": "http://y"}]}}, "health.http[1].name"),
    ({"health": {"http": [{"name": "a", "url": "http://x", "expect_status": [700]}]}}, "health.http[0].expect_status"),
    ({"health": {"report_to": ["it@h"]}}, "alerts.smtp.host"),
    ({"alerts": {"smtp": {"host": "mail"}}}, "alerts.smtp.from_addr"),
    ({"alerts": {"smtp": {"security": "tls"}}}, "alerts.smtp.security"),
    ({"alerts": {"webhooks": [{"url": "http://x", "format": "slack"}]}}, "alerts.webhooks[0].format"),
    ({"alerts": {"fail_threshold": 0}}, "alerts.fail_threshold"),
    ({"health": {"echo_peers": ["PACS"]}}, "health.echo_peers[0]"),
    ({"health": {"echo_peers": ["AI"]}, "dicom": {"peers": [{"name": "AI", "ae_title": "AI"}]}}, "health.echo_peers[0]"),
])
def test_bad_health_config_names_the_key(extra: dict, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        config_from_dict({**BASE, **extra})
    assert err.value.key == key
