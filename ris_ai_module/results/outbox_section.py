"""``[outbox]``: the file interface's way out — each exam's current result written as files a RIS or an
integration platform picks up (JSON, CSV with a BOM for Excel, XML), one set per accession number."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ris_ai_module.config.types import FilePath, RetryConfig
from ris_ai_module.errors import ConfigError

OUTBOX_FORMATS = ("json", "csv", "xml")


@dataclass(frozen=True)
class OutboxConfig:
    """A folder (empty: off) and the formats written there. Files are written under a temporary name, fsynced
    and renamed, so a reader never sees half a file; a newer result rewrites them."""

    folder: FilePath = FilePath("")
    formats: tuple[str, ...] = OUTBOX_FORMATS
    #: File names ``<campus>_<accession>.<format>`` (``ris.campus_column``); off: ``<accession>.<format>``.
    #: ``"auto"``: on exactly when ``ris.campus_column`` is set, because two campuses may share an accession
    #: number and one exam's files would then overwrite another patient's.
    campus_in_name: Literal["auto", True, False] = "auto"
    retry: RetryConfig = field(default_factory=lambda: RetryConfig(initial=10, max_delay=600, max_attempts=50))

    def names_campus(self, campus_column: str) -> bool:
        """Whether file names carry the campus: as configured, else whenever the RIS has campuses."""
        return bool(campus_column) if self.campus_in_name == "auto" else bool(self.campus_in_name)

    def validate(self) -> None:
        if not self.folder:
            return
        if not self.formats:
            raise ConfigError("outbox.formats", f"expected one or more of {', '.join(OUTBOX_FORMATS)}")
        for i, name in enumerate(self.formats):
            if name not in OUTBOX_FORMATS:
                raise ConfigError(f"outbox.formats[{i}]", f"unknown format {name!r} (one of {', '.join(OUTBOX_FORMATS)})")
