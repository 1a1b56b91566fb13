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
