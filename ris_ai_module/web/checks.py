"""Checks of a request that the app and its route modules share: where it comes from, whom it may reach.

Kept out of ``app`` so that route modules need not import the app that installs them (no import cycle).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import bottle


def origin_of(request: bottle.BaseRequest) -> str:
    """"same" when Origin (else Referer) names this server, "other" when it names another (or "null"),
    "none" when the client sent neither (not a browser). Compared by host and port: behind a TLS proxy the
    scheme seen here may differ from the browser's."""
    own = request.urlparts.netloc.lower()
    origin = request.get_header("Origin")
    if origin is not None:
        return "same" if origin != "null" and urlsplit(origin).netloc.lower() == own else "other"
    referer = request.get_header("Referer")
    if referer:
        return "same" if urlsplit(referer).netloc.lower() == own else "other"
    return "none"


def address_allowed(remote: str, allow: tuple[str, ...]) -> bool:
    if not allow:
        return True
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in allow)
