"""``[hl7]``: HL7 v2 ORU^R01 with each exam's current result, sent over MLLP to the integration platform."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ris_ai_module.config.types import Duration, RetryConfig, empty_mapping
from ris_ai_module.errors import ConfigError

_RANGE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)?\s*-\s*(-?\d+(?:\.\d+)?)?\s*$")


def parse_range(text: str) -> tuple[float | None, float | None] | None:
    """``"50-70"``, ``"-70"`` (at most), ``"50-"`` (at least) -> (low, high); None when not a range."""
    m = _RANGE.match(text)
    if not m or (m.group(1) is None and m.group(2) is None):
        return None
    return (float(m.group(1)) if m.group(1) else None, float(m.group(2)) if m.group(2) else None)


@dataclass(frozen=True)
class Hl7Config:
    """The MLLP peer (empty host: off), the message's identity (MSH-3..6) and encoding (MSH-18)."""

    host: str = ""
    port: int = 2575
    charset: Literal["utf-8", "gb18030"] = "utf-8"
    sending_application: str = "RIS-AI"
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    #: PID-5: ``chinese`` the name as the RIS has it; ``chinese_pinyin`` a second repetition in pinyin.
    patient_name: Literal["chinese", "chinese_pinyin"] = "chinese"
    #: Assigning authority of PID-3 (the hospital's patient ID namespace); empty: none.
    patient_id_authority: str = ""
    #: MSH-11: P production, T training, D debugging.
    processing_id: Literal["P", "T", "D"] = "P"
    #: How long to wait for the connection and for the ACK.
    timeout: Duration = Duration(10)
    #: Reference ranges per measurement key in its UCUM unit (``LVEF = "50-70"``): OBX-7 and the flag OBX-8.
    reference_ranges: Mapping[str, str] = field(default_factory=empty_mapping)
    retry: RetryConfig = field(default_factory=lambda: RetryConfig(initial=10, max_delay=600, max_attempts=50))

    def validate(self) -> None:
        if not self.host:
            return
        if not 0 < self.port < 65536:
            raise ConfigError("hl7.port", f"expected 1-65535, got {self.port}")
        if float(self.timeout) <= 0:
            raise ConfigError("hl7.timeout", "expected more than 0s")
        for key, text in self.reference_ranges.items():
            if parse_range(str(text)) is None:
                raise ConfigError(f"hl7.reference_ranges.{key}", f"expected LOW-HIGH (e.g. \"50-70\"), got {text!r}")
