"""HTTP(S) delivery to the AI host, and the one table that turns an answer into an Outcome."""

from __future__ import annotations

import json
import time
from typing import Any

import requests
from requests.auth import HTTPBasicAuth

from ris_ai_module.push.section import PushConfig
from ris_ai_module.tasks.model import Attempt, Outcome, OutcomeKind

#: Status classes that are worth another attempt; any other non-2xx fails at once (RFC 9110 semantics).
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


def classify(status: int) -> OutcomeKind:
    """DONE, RETRY or FAILED for an HTTP status code. Pure; tested without a network."""
    if 200 <= status < 300:
        return OutcomeKind.DONE
    if status in RETRYABLE_STATUS or status >= 500:
        return OutcomeKind.RETRY
    return OutcomeKind.FAILED


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
            return self._no_answer(f"TLS error: {_short(exc)}", started)
        except requests.exceptions.ConnectTimeout:
            return self._no_answer(f"connect timeout after {float(self.cfg.connect_timeout):g}s", started)
        except requests.exceptions.ReadTimeout:
            return self._no_answer(f"no answer within {float(self.cfg.read_timeout):g}s", started)
        except requests.exceptions.ConnectionError as exc:
            return self._no_answer(f"connection failed: {_short(exc)}", started)
        except requests.exceptions.RequestException as exc:
            return self._no_answer(f"request failed: {_short(exc)}", started)
        latency = _ms(started)
        verdict = classify(resp.status_code)
        status_text = f"HTTP {resp.status_code} {resp.reason or ''}".strip()
        if verdict is OutcomeKind.DONE:
            return Outcome.done(Attempt(target=self.cfg.url, status_text=status_text, latency_ms=latency,
                                        http_status=resp.status_code))
        attempt = Attempt(target=self.cfg.url, status_text=status_text, latency_ms=latency,
                          response=resp.text[: self.cfg.keep_response_bytes], http_status=resp.status_code)
        if verdict is OutcomeKind.RETRY:
            return Outcome.retry(status_text, attempt, after=_retry_after(resp.headers.get("Retry-After")))
        return Outcome.failed(status_text, attempt)

    def _no_answer(self, error: str, started: float) -> Outcome:
        """No HTTP answer (network, TLS, timeout): worth another attempt."""
        return Outcome.retry(error, Attempt(target=self.cfg.url, latency_ms=_ms(started)))

    def close(self) -> None:
        self.session.close()


#: Longest wait a peer's Retry-After may ask for; beyond it the retry policy decides.
MAX_RETRY_AFTER = 3600.0


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header given as delay-seconds (RFC 9110 10.2.3); a date is left to the policy."""
    if value is None or not value.strip().isdigit():
        return None
    return min(float(value.strip()), MAX_RETRY_AFTER)


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 300 else text[:297] + "..."
