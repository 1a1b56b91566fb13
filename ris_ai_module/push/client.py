"""HTTP(S) delivery to the AI host, and the one table that turns an answer into an Outcome."""

from __future__ import annotations

import json
import time
from typing import Any

import requests
from requests.auth import HTTPBasicAuth

from ris_ai_module.config.schema import PushConfig
from ris_ai_module.tasks.model import Outcome

#: Status classes that are worth another attempt; any other non-2xx fails at once (RFC 9110 semantics).
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


def classify(status: int) -> str:
    """'DONE', 'RETRY' or 'FAILED' for an HTTP status code. Pure; tested without a network."""
    if 200 <= status < 300:
        return "DONE"
    if status in RETRYABLE_STATUS or status >= 500:
        return "RETRY"
    return "FAILED"


class PushClient:
    """One keep-alive session per worker thread (requests.Session is not thread-safe)."""

    def __init__(self, cfg: PushConfig) -> None:
        self.cfg = cfg
        self.session = requests.Session()
        self.session.trust_env = False  # a hospital proxy variable must not reroute patient data
        if cfg.url.startswith("https://"):
            self.session.verify = cfg.ca_file or cfg.verify_tls
        if cfg.client_cert:
            self.session.cert = (cfg.client_cert, cfg.client_key)
        auth = cfg.auth
        if auth.type == "basic":
            self.session.auth = HTTPBasicAuth(auth.username, auth.password)
        headers = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"}
        if auth.type == "bearer":
            headers["Authorization"] = f"Bearer {auth.token}"
        elif auth.type == "header":
            headers[auth.header_name] = auth.header_value
        headers.update(cfg.headers)
        self.session.headers.update(headers)

    def send(self, body: dict[str, Any], idempotency_key: str) -> Outcome:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        started = time.perf_counter()
        try:
            resp = self.session.request(
                self.cfg.method, self.cfg.url, data=data,
                headers={"Idempotency-Key": idempotency_key},
                timeout=(float(self.cfg.connect_timeout), float(self.cfg.read_timeout)),
            )
        except requests.exceptions.SSLError as exc:
            return Outcome.retry(f"TLS error: {_short(exc)}", latency_ms=_ms(started))
        except requests.exceptions.ConnectTimeout:
            return Outcome.retry(f"connect timeout after {float(self.cfg.connect_timeout):g}s", latency_ms=_ms(started))
        except requests.exceptions.ReadTimeout:
            return Outcome.retry(f"no answer within {float(self.cfg.read_timeout):g}s", latency_ms=_ms(started))
        except requests.exceptions.ConnectionError as exc:
            return Outcome.retry(f"connection failed: {_short(exc)}", latency_ms=_ms(started))
        except requests.exceptions.RequestException as exc:
            return Outcome.retry(f"request failed: {_short(exc)}", latency_ms=_ms(started))
        latency = _ms(started)
        verdict = classify(resp.status_code)
        if verdict == "DONE":
            return Outcome.done(http_status=resp.status_code, latency_ms=latency)
        body_text = resp.text[: self.cfg.keep_response_bytes]
        error = f"HTTP {resp.status_code} {resp.reason or ''}".strip()
        if verdict == "RETRY":
            return Outcome.retry(error, http_status=resp.status_code, response_body=body_text, latency_ms=latency)
        return Outcome.failed(error, http_status=resp.status_code, response_body=body_text, latency_ms=latency)

    def close(self) -> None:
        self.session.close()


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 300 else text[:297] + "..."
