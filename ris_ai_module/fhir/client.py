"""POST of a transaction Bundle to ``[fhir].base_url``, and the answer as an Outcome.

2xx completes; a 4xx fails with the OperationOutcome's text (the server refused this content: sending it
again would not help) except 408/429; 5xx, 408, 429 and network errors are retried by the kind's policy.
"""

from __future__ import annotations

import json
import time
from typing import Any

import requests
from requests.auth import HTTPBasicAuth

from ris_ai_module.fhir.section import FhirConfig
from ris_ai_module.tasks.model import Attempt, Outcome

RETRYABLE = frozenset({408, 425, 429})


def operation_outcome_text(body: str) -> str:
    """The issues of an OperationOutcome as one line (severity, code, diagnostics or details.text), else ""."""
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    if not isinstance(data, dict) or data.get("resourceType") != "OperationOutcome":
        return ""
    parts = []
    for issue in data.get("issue") or []:
        if not isinstance(issue, dict):
            continue
        words = issue.get("diagnostics") or (issue.get("details") or {}).get("text") or ""
        parts.append(f"{issue.get('severity', '')} {issue.get('code', '')}: {words}".strip())
    return "; ".join(parts)


class FhirClient:
    """One session per worker thread (requests.Session is not thread-safe); no proxy from the environment."""

    def __init__(self, cfg: FhirConfig) -> None:
        self.cfg = cfg
        self.url = cfg.base_url.rstrip("/")
        s = self.session = requests.Session()
        s.trust_env = False
        if self.url.startswith("https://"):
            s.verify = cfg.ca_file or cfg.verify_tls
        headers = {"Content-Type": "application/fhir+json; charset=utf-8", "Accept": "application/fhir+json"}
        auth = cfg.auth
        if auth.type == "basic":
            s.auth = HTTPBasicAuth(auth.username, auth.password)
        elif auth.type == "bearer":
            headers["Authorization"] = f"Bearer {auth.token}"
        elif auth.type == "header":
            headers[auth.header_name] = auth.header_value
        s.headers.update(headers)

    def post(self, bundle: dict[str, Any]) -> Outcome:
        data = json.dumps(bundle, ensure_ascii=False).encode("utf-8")
        started = time.perf_counter()
        try:
            resp = self.session.post(self.url, data=data,
                                     timeout=(float(self.cfg.connect_timeout), float(self.cfg.read_timeout)))
        except requests.exceptions.RequestException as exc:
            text = f"{type(exc).__name__}: {str(exc)[:300]}"
            return Outcome.retry(text, Attempt(target=self.url, status_text="no answer", latency_ms=_ms(started)))
        status_text = f"HTTP {resp.status_code} {resp.reason or ''}".strip()
        attempt = Attempt(target=self.url, status_text=status_text, latency_ms=_ms(started),
                          response=resp.text, http_status=resp.status_code)
        if 200 <= resp.status_code < 300:
            return Outcome.done(attempt)
        if resp.status_code >= 500 or resp.status_code in RETRYABLE:
            return Outcome.retry(status_text, attempt)
        why = operation_outcome_text(resp.text)
        return Outcome.failed(f"{status_text}: {why}" if why else status_text, attempt)

    def close(self) -> None:
        self.session.close()


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
