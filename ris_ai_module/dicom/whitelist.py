"""Who may associate: a peer's calling AE title AND the address it connects from (dcm4chee's
``dcmValidateCallingAEHostname``; pynetdicom has only the AE half built in).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from ris_ai_module.dicom.section import DicomPeerConfig

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Admission:
    """The decision for one association request; ``reason`` is for the log and RAI_ASSOC_REJECT."""

    accepted: bool
    peer: str | None
    reason: str
    #: Every peer this AE title and address match, in configuration order (``peer`` is the first): the
    #: archive's report entry may share an AI host's AE title and network, and must still be recognised.
    peers: tuple[str, ...] = ()


class Whitelist:
    """Peers compiled once (networks parsed at start-up, not per association)."""

    def __init__(self, peers: Sequence[DicomPeerConfig], own: Sequence[str] = ()) -> None:
        self._peers: list[tuple[str, str, list[Network]]] = [
            (p.name, p.ae_title.strip(), [ipaddress.ip_network(a, strict=False) for a in p.addresses])
            for p in peers
        ]
        self._networks = [n for _name, _ae, networks in self._peers for n in networks]
        #: This host's addresses, where the self-check C-ECHO (our own AE title) comes from.
        self._own = {ip for ip in (_parse_ip(a) for a in own) if ip is not None}

    def admits_address(self, address: str) -> bool:
        """Checked at accept time, before anything is read: does any peer (or this host) connect from here?"""
        ip = _parse_ip(address)
        if ip is None:
            return False
        return ip in self._own or any(ip.version == n.version and ip in n for n in self._networks)

    def is_own(self, address: str) -> bool:
        ip = _parse_ip(address)
        return ip is not None and ip in self._own

    def admit(self, calling_ae: str, address: str) -> Admission:
        """Accept when some peer has this AE title and a network containing ``address``."""
        ae = (calling_ae or "").strip()
        known_ae = [p for p in self._peers if p[1] == ae]
        if not known_ae:
            return Admission(False, None, f"calling AE title {ae!r} is not a configured peer")
        ip = _parse_ip(address)
        if ip is None:
            return Admission(False, None, f"peer address {address!r} is not an IP address")
        matched = tuple(name for name, _ae, networks in known_ae
                        if any(ip.version == n.version and ip in n for n in networks))
        if matched:
            return Admission(True, matched[0], "ok", matched)
        return Admission(False, None, f"calling AE title {ae!r} is not allowed from {address}")


def _parse_ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped  # ::ffff:10.1.2.3 on a dual-stack socket
    return ip
