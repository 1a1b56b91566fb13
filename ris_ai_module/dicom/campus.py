"""The campus (院区) a received object comes from, so that it links only to an exam of that campus.

In a hospital group the RIS numbers (accession, patient ID) of two campuses may collide. What the module
knows of an object's campus: the sending peer's ``dicom.peers[].campus`` (matched by calling AE title and
calling address, since two campuses' AI hosts may share an AE title) and the object's InstitutionName
through ``ris.campus_institutions``. When the two disagree the campus is not trusted at all.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ris_ai_module.settings import Config


@dataclass(frozen=True)
class ObjectCampus:
    campus: str | None  # None: not known
    why: str  # how it was known, or why it is not (for the review reason)
    conflict: bool = False


def object_campus(config: Config, sender_ae: str | None, sender_address: str | None,
                  institution: str | None) -> ObjectCampus:
    """The campus of one object; unknown when campuses are not configured or nothing names it."""
    if not config.ris.campus_column:
        return ObjectCampus(None, "no campuses configured")
    by_peer = _peer_campus(config, sender_ae, sender_address)
    inst = (institution or "").strip()
    by_inst = config.ris.campus_institutions.get(inst) if inst else None
    if by_peer and by_inst and by_peer != by_inst:
        return ObjectCampus(None, f"the sending peer is campus {by_peer} but InstitutionName {inst!r} is "
                                  f"campus {by_inst}", conflict=True)
    if by_peer:
        return ObjectCampus(by_peer, f"campus {by_peer} of the sending peer {sender_ae}")
    if by_inst:
        return ObjectCampus(by_inst, f"campus {by_inst} of InstitutionName {inst!r}")
    return ObjectCampus(None, "the object's campus is not known (dicom.peers[].campus, ris.campus_institutions)")


def _peer_campus(config: Config, sender_ae: str | None, sender_address: str | None) -> str | None:
    ae = (sender_ae or "").strip()
    ip = _ip(sender_address)
    if not ae or ip is None:
        return None
    found = {p.campus for p in config.dicom.peers if p.campus and p.ae_title.strip() == ae
             and any(_contains(a, ip) for a in p.addresses)}
    return found.pop() if len(found) == 1 else None


def _ip(address: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address((address or "").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _contains(network: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    net = ipaddress.ip_network(network, strict=False)
    return net.version == ip.version and ip in net
