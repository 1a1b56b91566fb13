"""Every configured AI host checked by its name, without ``[[health.http]]`` entries written by hand.

A hospital group configures several AI hosts (``[push]`` is the host ``default``, more in
``[[push.hosts]]``). Each one's exam API is checked as the HTTP target ``ai:<name>``: any HTTP answer below
500 means it is up (its API may well answer 401 or 405 to an unauthenticated GET; no credentials and no
data are sent, but the host's client certificate is, since a mutual-TLS host ends the handshake without it); a refusal, a timeout, a TLS error or a 5xx means it is not. Each ``[[dicom.peers]]`` a host
sends from (``dicom_peers``) is C-ECHOed as ``ai:<name>:dicom`` instead of under the peer's own name, so
the daily report and the status page list the host, not an AE title. A host whose URL is already a
``[[health.http]]`` entry is left to that entry (checked once).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ris_ai_module.config.types import Duration, FilePath
from ris_ai_module.health.section import HttpCheckConfig
from ris_ai_module.push.section import DEFAULT_HOST

if TYPE_CHECKING:
    from ris_ai_module.settings import Config

#: Statuses that show the host's API answers (an unauthenticated GET may be refused: it is still up).
_ANSWERS = tuple(range(100, 500))


def ai_hosts(config: Config) -> list[tuple[str, Any]]:
    """(name, host settings) of every configured AI host with a URL, ``default`` first."""
    hosts: list[tuple[str, Any]] = [(DEFAULT_HOST, config.push)] if config.push.url else []
    return hosts + [(h.name, h) for h in config.push.hosts if h.url]


def http_checks(config: Config) -> list[HttpCheckConfig]:
    """One HTTP check per AI host not already in ``[[health.http]]``."""
    listed = {c.url.rstrip("/") for c in config.health.http}
    return [HttpCheckConfig(name=f"ai:{name}", url=host.url, method="GET", expect_status=_ANSWERS,
                            connect_timeout=Duration(float(host.connect_timeout)),
                            read_timeout=Duration(min(float(host.read_timeout), 10.0)),
                            verify_tls=host.verify_tls, ca_file=FilePath(host.ca_file),
                            client_cert=FilePath(host.client_cert), client_key=FilePath(host.client_key))
            for name, host in ai_hosts(config) if host.url.rstrip("/") not in listed]


def echo_names(config: Config) -> dict[str, str]:
    """``{peer name: check target}`` for the peers an AI host sends from."""
    by_ae = {p.ae_title.strip(): p.name for p in config.dicom.peers}
    names: dict[str, str] = {}
    for host in config.push.hosts:
        for ae in host.dicom_peers:
            peer = by_ae.get(ae.strip())
            if peer and peer not in names:
                names[peer] = f"ai:{host.name}:dicom"
    return names


def up_or_down(error: str | None) -> str | None:
    """The error of an AI host's HTTP check in its own words (the generic one lists every accepted status)."""
    if error and error.startswith("HTTP ") and "(expected" in error:
        return error.split(" (expected", 1)[0] + " (the AI host answers with a server error)"
    return error


def relabel(result: Any) -> Any:
    return replace(result, error=up_or_down(result.error)) if not result.ok else result
