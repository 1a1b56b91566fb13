"""Where alerts and reports go: the log (always), e-mail (SMTP with SSL/STARTTLS and login), webhooks
(generic JSON, WeChat Work / 企业微信 and DingTalk / 钉钉 group robots).

Message texts are Chinese first with the English terms beside them: the people reading them are hospital IT.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import smtplib
import ssl
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING, Any

import requests

from ris_ai_module.db.clock import display_zone, shown
from ris_ai_module.health.alerts import EV_DOWN, Alert
from ris_ai_module.health.kinds import title
from ris_ai_module.health.section import SmtpConfig, WebhookConfig

if TYPE_CHECKING:
    from ris_ai_module.settings import Config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes
    mime: str  # "text/csv"


class DeliveryError(Exception):
    """A channel could not deliver; the message says which and why."""


def _local(ts: datetime | None, zone: tzinfo | None = None) -> str:
    """An alert's time (naive UTC) in the display zone, labelled (db/clock.shown)."""
    return shown(ts, zone or display_zone()) if ts is not None else "-"


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return f"{int(seconds)}s"
    if minutes < 120:
        return f"{minutes}m"
    return f"{minutes // 60}h{minutes % 60:02d}m"


def alert_title(alert: Alert, hospital: str = "") -> str:
    head = "故障 DOWN" if alert.event == EV_DOWN else "恢复 RECOVERED"
    where = f"{hospital} " if hospital else ""
    return f"[ris-ai-module] {where}{head}: {alert.target}"


def alert_text(alert: Alert, hospital: str = "", instance: str = "", zone: tzinfo | None = None) -> str:
    """The body of an alert, in every channel; its times in ``zone`` (``module.timezone``), labelled."""
    kind = title(alert.kind)
    lines = [alert_title(alert, hospital)]
    if alert.event == EV_DOWN:
        lines.append(f"目标 Target: {alert.target} ({kind})")
        lines.append(f"状态 State: 故障 DOWN，连续 {alert.fail_count} 次检查失败 ({alert.fail_count} consecutive failed checks)")
        lines.append(f"开始 Since: {_local(alert.since, zone)}")
        lines.append(f"错误 Error: {alert.error or '-'}")
    else:
        lines.append(f"目标 Target: {alert.target} ({kind})")
        lines.append(f"状态 State: 已恢复 RECOVERED at {_local(alert.since, zone)}")
    if alert.changes > 1:
        lines.append(f"期间状态变化 {alert.changes} 次 (state changed {alert.changes} times since the last message: flapping)")
    lines.append(f"时间 Time: {_local(alert.at, zone)}" + (f"   实例 Instance: {instance}" if instance else ""))
    return "\n".join(lines)


def webhook_body(fmt: str, alert: Alert, text: str) -> dict[str, Any]:
    """The JSON of one webhook call. WeChat Work and DingTalk robots take ``{"msgtype": "text", ...}``."""
    if fmt == "wecom":
        return {"msgtype": "text", "text": {"content": text}}
    if fmt == "dingtalk":
        return {"msgtype": "text", "text": {"content": text}, "at": {"isAtAll": False}}
    return {
        "source": "ris-ai-module",
        "event": alert.event,
        "target": alert.target,
        "kind": alert.kind,
        "time": alert.at.replace(tzinfo=timezone.utc).isoformat(),
        "since": alert.since.replace(tzinfo=timezone.utc).isoformat() if alert.since else None,
        "fail_count": alert.fail_count,
        "error": alert.error,
        "changes": alert.changes,
        "text": text,
    }


def dingtalk_signed_url(url: str, secret: str, now_ms: int | None = None) -> str:
    """DingTalk robot 加签: timestamp + HMAC-SHA256(secret, "timestamp\\nsecret"), base64, URL-encoded."""
    ts = str(now_ms if now_ms is not None else int(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    return f"{url}{'&' if '?' in url else '?'}timestamp={ts}&sign={sign}"


def post_webhook(cfg: WebhookConfig, body: dict[str, Any]) -> None:
    """POST the JSON; raise DeliveryError unless the peer answered 2xx (and errcode 0 for the robots)."""
    url = dingtalk_signed_url(cfg.url, cfg.secret) if cfg.format == "dingtalk" and cfg.secret else cfg.url
    try:
        rsp = requests.post(url, json=body, timeout=(min(cfg.timeout, 10.0), cfg.timeout), verify=cfg.verify_tls)
    except requests.exceptions.RequestException as exc:
        raise DeliveryError(f"webhook {cfg.url.split('?')[0]}: {exc.__class__.__name__}: {exc}") from None
    if not 200 <= rsp.status_code < 300:
        raise DeliveryError(f"webhook {cfg.url.split('?')[0]}: HTTP {rsp.status_code}: {rsp.text[:200]}")
    if cfg.format in ("wecom", "dingtalk"):
        try:
            answer = rsp.json()
        except ValueError:
            answer = {}
        if isinstance(answer, dict) and answer.get("errcode", 0) != 0:
            raise DeliveryError(f"webhook {cfg.url.split('?')[0]}: errcode {answer.get('errcode')}: {answer.get('errmsg')}")


def _tls_context(cfg: SmtpConfig) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=cfg.ca_file or None)
    if not cfg.verify_tls:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def send_mail(cfg: SmtpConfig, to: Sequence[str], subject: str, text: str, html: str | None = None,
              attachments: Sequence[Attachment] = ()) -> None:
    """One message to ``to``; raises DeliveryError naming the server and the reason."""
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = cfg.from_addr
    msg["To"] = ", ".join(to)
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=cfg.from_addr.rpartition("@")[2] or None)
    msg.set_content(text, charset="utf-8")
    if html is not None:
        msg.add_alternative(html, subtype="html", charset="utf-8")
    for a in attachments:
        maintype, _, subtype = a.mime.partition("/")
        msg.add_attachment(a.data, maintype=maintype, subtype=subtype, filename=a.filename)
    try:
        if cfg.security == "ssl":
            server: smtplib.SMTP = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout, context=_tls_context(cfg))
        else:
            server = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
        with server:
            if cfg.security == "starttls":
                server.starttls(context=_tls_context(cfg))
            if cfg.username:
                server.login(cfg.username, cfg.password)
            server.send_message(msg, from_addr=cfg.from_addr, to_addrs=list(to))
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"smtp {cfg.host}:{cfg.port}: {exc.__class__.__name__}: {exc}") from None


class Notifier:
    """Every configured channel. ``deliver`` is the AlertEngine's callback."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.hospital = config.module.hospital_name
        self.instance = config.module.instance_name
        self.zone = display_zone(config.module.timezone)

    def deliver(self, alert: Alert) -> bool:
        """Log the alert, send it through every channel; True when a channel (or the log alone) took it."""
        text = alert_text(alert, self.hospital, self.instance, self.zone)
        level = logging.ERROR if alert.event == EV_DOWN else logging.WARNING
        log.log(level, "%s", text.replace("\n", " | "), extra={"action": f"alert_{alert.event.lower()}", "target": alert.target})
        smtp, hooks = self.config.alerts.smtp, self.config.alerts.webhooks
        channels = 0
        delivered = 0
        if smtp.host and smtp.to:
            channels += 1
            try:
                send_mail(smtp, smtp.to, alert_title(alert, self.hospital), text)
                delivered += 1
            except DeliveryError as exc:
                log.error("alert not sent by e-mail: %s", exc, extra={"action": "alert_send_failed"})
        for hook in hooks:
            channels += 1
            try:
                post_webhook(hook, webhook_body(hook.format, alert, text))
                delivered += 1
            except DeliveryError as exc:
                log.error("alert not sent: %s", exc, extra={"action": "alert_send_failed"})
        return channels == 0 or delivered > 0

    def send_report(self, to: Sequence[str], subject: str, text: str, html: str,
                    attachments: Sequence[Attachment]) -> None:
        send_mail(self.config.alerts.smtp, to, subject, text, html, attachments)
