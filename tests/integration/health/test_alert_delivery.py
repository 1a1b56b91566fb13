"""Alerts reach IT: real check failures and recoveries, through a real SMTP server and webhook servers."""

from __future__ import annotations

import socket
import urllib.parse

import pytest

from ris_ai_module.health.alerts import AlertEngine
from ris_ai_module.health.channels import Attachment, DeliveryError, Notifier, send_mail
from ris_ai_module.health.runner import run_round
from ris_ai_module.health.section import SmtpConfig
from tests.integration.health.conftest import make_ctx, text_of
from tests.support import free_port


def test_down_and_recovered_by_mail_and_webhooks(sqlite_db, smtp_server, http_peer, storescp) -> None:
    generic, wecom, ding = http_peer(200), http_peer(200), http_peer(200)
    # Bound, not listening: a connection is refused (the PACS is "down") and no other test worker can take the
    # port before storescp starts on it below (free_port() alone lost it once in CI).
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    port = holder.getsockname()[1]
    ctx = make_ctx(
        sqlite_db, owner="node-a",
        dicom={"peers": [{"name": "PACS-主", "ae_title": "PACS", "host": "127.0.0.1", "port": port}]},
        health={"echo_timeout": "3s"},
        alerts={"fail_threshold": 2, "throttle": "15m",
                "smtp": {"host": "127.0.0.1", "port": smtp_server.port, "security": "none",
                         "from_addr": "rai@hospital.example", "to": ["it@hospital.example", "duty@hospital.example"]},
                "webhooks": [{"url": generic.url + "/hook", "format": "generic"},
                             {"url": wecom.url + "/cgi-bin/webhook/send?key=K", "format": "wecom"},
                             {"url": ding.url + "/robot/send?access_token=T", "format": "dingtalk", "secret": "SEC"}]},
    )
    engine = AlertEngine(ctx.engine, 2, 900, Notifier(ctx.config).deliver)
    sink = engine.observe

    run_round(ctx, "ECHO", sink)
    assert smtp_server.messages == [] and generic.requests == []  # one failure is not an outage yet
    run_round(ctx, "ECHO", sink)
    down = smtp_server.wait_for(1)[0]
    assert down["Subject"] == "[ris-ai-module] 测试医院 故障 DOWN: PACS-主"
    body = text_of(down)
    assert "连续 2 次检查失败" in body and f"refused: nothing listens on 127.0.0.1:{port}" in body
    assert smtp_server.envelopes[0] == ("rai@hospital.example", ["it@hospital.example", "duty@hospital.example"])
    run_round(ctx, "ECHO", sink)
    assert len(smtp_server.messages) == 1  # still down: not sent again

    holder.close()
    storescp("PACS", port=port)
    run_round(ctx, "ECHO", sink)
    up = smtp_server.wait_for(2)[1]
    assert up["Subject"] == "[ris-ai-module] 测试医院 恢复 RECOVERED: PACS-主"
    run_round(ctx, "ECHO", sink)
    assert len(smtp_server.messages) == 2

    assert [r["json"]["event"] for r in generic.requests] == ["DOWN", "RECOVERED"]
    first = generic.requests[0]["json"]
    assert first["target"] == "PACS-主" and first["kind"] == "ECHO" and first["fail_count"] == 2
    assert "refused" in first["error"]
    assert [r["json"]["msgtype"] for r in wecom.requests] == ["text", "text"]
    assert wecom.requests[0]["json"]["text"]["content"].startswith("[ris-ai-module] 测试医院 故障 DOWN: PACS-主")
    assert wecom.requests[0]["path"] == "/cgi-bin/webhook/send?key=K"
    assert ding.requests[1]["json"]["text"]["content"].startswith("[ris-ai-module] 测试医院 恢复 RECOVERED: PACS-主")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(ding.requests[0]["path"]).query)
    assert query["access_token"] == ["T"] and query["timestamp"] and query["sign"]


def test_undelivered_alert_is_retried_with_the_next_check(sqlite_db, http_peer) -> None:
    broken = http_peer(500)
    ctx = make_ctx(sqlite_db, dicom={"peers": [{"name": "PACS", "ae_title": "PACS", "host": "127.0.0.1",
                                                "port": free_port()}]},
                   health={"echo_timeout": "2s"},
                   alerts={"webhooks": [{"url": broken.url, "format": "generic"}]})
    engine = AlertEngine(ctx.engine, 1, 900, Notifier(ctx.config).deliver)
    run_round(ctx, "ECHO", engine.observe)
    run_round(ctx, "ECHO", engine.observe)
    assert [r["json"]["event"] for r in broken.requests] == ["DOWN", "DOWN"]  # the 500 answer is not a delivery


def test_robot_errcode_is_a_failed_delivery(http_peer) -> None:
    from ris_ai_module.health.channels import post_webhook
    from ris_ai_module.health.section import WebhookConfig

    refusing = http_peer(200, body=b'{"errcode": 93000, "errmsg": "invalid webhook url"}')
    with pytest.raises(DeliveryError, match="errcode 93000"):
        post_webhook(WebhookConfig(url=refusing.url, format="wecom"), {"msgtype": "text", "text": {"content": "x"}})


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # implicit TLS: aiosmtpd cannot tell
@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_smtp_tls_with_login(tls_smtp, security: str) -> None:
    box, cert = tls_smtp(security)
    cfg = SmtpConfig(host="127.0.0.1", port=box.port, security=security, username="it", password="s3cret",
                     from_addr="rai@hospital.example", to=("it@hospital.example",), ca_file=str(cert), timeout=10)
    send_mail(cfg, cfg.to, "测试 test", "正文 body", "<p>正文</p>", [Attachment("r.csv", b"\xef\xbb\xbfa,b\r\n", "text/csv")])
    msg = box.wait_for(1)[0]
    assert msg["Subject"] == "测试 test" and text_of(msg).strip() == "正文 body"
    assert [a.get_filename() for a in msg.iter_attachments()] == ["r.csv"]
    bad = SmtpConfig(**{**cfg.__dict__, "password": "wrong"})
    with pytest.raises(DeliveryError, match="SMTPAuthenticationError"):
        send_mail(bad, cfg.to, "x", "y")


@pytest.mark.parametrize(("zone", "at", "since"), [
    ("Asia/Shanghai", "2026-11-27 09:00:00 +08:00", "2026-11-27 08:58:00 +08:00"),  # UTC+8, no DST
    ("UTC", "2026-11-27 01:00:00 +00:00", "2026-11-27 00:58:00 +00:00"),
])
def test_alert_mail_times_are_in_the_configured_zone_labelled(sqlite_db, smtp_server, zone, at, since) -> None:
    from datetime import datetime

    from ris_ai_module.health.alerts import Alert

    ctx = make_ctx(sqlite_db, module={"timezone": zone},
                   alerts={"smtp": {"host": "127.0.0.1", "port": smtp_server.port, "security": "none",
                                    "from_addr": "rai@hospital.example", "to": ["it@hospital.example"]}})
    # the alert's times as the module keeps them: naive UTC
    alert = Alert("DOWN", "PACS", "ECHO", datetime(2026, 11, 27, 1, 0), datetime(2026, 11, 27, 0, 58), 3, "refused", 1)
    assert Notifier(ctx.config).deliver(alert)
    body = text_of(smtp_server.wait_for(1)[0])
    assert f"开始 Since: {since}" in body and f"时间 Time: {at}" in body, body


def test_an_unknown_zone_is_a_configuration_error_naming_the_key(sqlite_db) -> None:
    from ris_ai_module.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        make_ctx(sqlite_db, module={"timezone": "Asia/Peking"})
    assert str(err.value).startswith("module.timezone: unknown time zone 'Asia/Peking'")
