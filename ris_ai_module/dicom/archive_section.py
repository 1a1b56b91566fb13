"""``[archive]``: forwarding every received object (or those of chosen SOP classes) to the hospital's PACS
archive by C-STORE, one ARCHIVE_FORWARD task per object, so the AI's images and SR reach the archive with
the exam even after the archive was down for hours. Nothing held for review is forwarded until released."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ris_ai_module.config.types import Duration, RetryConfig
from ris_ai_module.errors import ConfigError

_AET = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")  # PS3.5 AE: 16 characters, no backslash
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")


@dataclass(frozen=True)
class ArchiveCommitmentConfig:
    """``[archive.commitment]``: after an object is forwarded, ask the archive for Storage Commitment of it
    (one N-ACTION listing the exam's objects forwarded together, a STGCMT_REQUEST task per object) and keep the answer (N-EVENT-REPORT on that association or
    on a new one to our SCP) per object: RAI_OBJECT.COMMITTED_AT / COMMIT_FAILURE."""

    enabled: bool = False
    #: How long the N-ACTION's association is kept open for the report to come on it.
    wait_on_association: Duration = Duration(10)
    #: No N-EVENT-REPORT this long after the N-ACTION: asked again (a new Transaction UID) by ``retry``.
    timeout: Duration = Duration(600)
    #: The AE title the archive's reports come from on a new association (empty: ``archive.ae_title``).
    report_ae_title: str = ""
    #: Addresses that association comes from (empty: ``archive.host``, which must then be an IP address).
    report_addresses: tuple[str, ...] = ()
    #: An object's request waits this long after its forward, so one N-ACTION lists the exam's burst (PS3.4 J.3.2).
    batch_delay: Duration = Duration(2)
    retry: RetryConfig = field(default_factory=lambda: RetryConfig(initial=60, max_delay=3600, max_attempts=5))


@dataclass(frozen=True)
class ArchiveConfig:
    """The archive's AE title and address (empty host: off) and what is forwarded."""

    ae_title: str = ""
    host: str = ""
    port: int = 104
    #: Our calling AE title towards the archive (empty: ``dicom.ae_title``).
    calling_ae_title: str = ""
    #: Only objects of these SOP classes (empty: every object received).
    sop_classes: tuple[str, ...] = ()
    #: Longest wait for the connection, the association and each C-STORE response.
    timeout: Duration = Duration(30)
    retry: RetryConfig = field(default_factory=lambda: RetryConfig(initial=30, max_delay=1800, max_attempts=100))
    commitment: ArchiveCommitmentConfig = field(default_factory=ArchiveCommitmentConfig)

    @property
    def enabled(self) -> bool:
        return bool(self.host)

    @property
    def target(self) -> str:
        return f"{self.ae_title}@{self.host}:{self.port}"

    def forwards(self, sop_class_uid: str) -> bool:
        """Whether an object of this SOP class goes to the archive."""
        return self.enabled and (not self.sop_classes or sop_class_uid in self.sop_classes)

    def validate(self) -> None:
        if not self.host:
            return
        if not _AET.match(self.ae_title or "") or not self.ae_title.strip():
            raise ConfigError("archive.ae_title", f"expected the archive's AE title (1-16 characters), got {self.ae_title!r}")
        if self.calling_ae_title and not _AET.match(self.calling_ae_title):
            raise ConfigError("archive.calling_ae_title", f"expected 1-16 characters, got {self.calling_ae_title!r}")
        if not 0 < self.port < 65536:
            raise ConfigError("archive.port", f"expected 1-65535, got {self.port}")
        if float(self.timeout) <= 0:
            raise ConfigError("archive.timeout", "expected more than 0s")
        for i, uid in enumerate(self.sop_classes):
            if not _UID.match(uid):
                raise ConfigError(f"archive.sop_classes[{i}]", f"not a SOP class UID: {uid!r}")
        self._validate_commitment()

    @property
    def report_ae(self) -> str:
        """The AE title the archive's N-EVENT-REPORTs come from on a new association."""
        return (self.commitment.report_ae_title or self.ae_title).strip()

    def report_addresses(self) -> tuple[str, ...]:
        """Where the archive's report associations may come from (for the SCP's whitelist)."""
        if self.commitment.report_addresses:
            return self.commitment.report_addresses
        return (self.host,) if is_ip(self.host) else ()

    def _validate_commitment(self) -> None:
        c = self.commitment
        if not c.enabled:
            return
        if c.report_ae_title and not _AET.match(c.report_ae_title):
            raise ConfigError("archive.commitment.report_ae_title", f"expected 1-16 characters, got {c.report_ae_title!r}")
        for key in ("wait_on_association", "timeout"):
            if float(getattr(c, key)) <= 0:
                raise ConfigError(f"archive.commitment.{key}", "expected more than 0s")
        for i, address in enumerate(c.report_addresses):
            if not _is_network(address):
                raise ConfigError(f"archive.commitment.report_addresses[{i}]",
                                  f"expected an IP address or CIDR range, got {address!r}")
        if not self.report_addresses():
            raise ConfigError("archive.commitment.report_addresses",
                              f"archive.host {self.host!r} is not an IP address: name the addresses the archive's "
                              "N-EVENT-REPORT associations come from")


def is_ip(text: str) -> bool:
    """A literal IPv4/IPv6 address (a host name cannot admit the archive's report associations)."""
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_network(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True
