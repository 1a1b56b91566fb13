"""[review]: the patient check at link time, how long objects may wait for review, and when a missing
AI result is worth a line in the IT report."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ris_ai_module.config.types import Duration
from ris_ai_module.errors import ConfigError

PATIENT_CHECK_POLICIES = ("strict", "id-only", "off")


@dataclass(frozen=True)
class ReviewConfig:
    """What must agree before an object may reach an exam, and how long a doubt may wait."""

    #: strict: the Patient ID must match and the names must not contradict; id-only: the ID must match;
    #: off: no check (a test site only).
    patient_check: Literal["strict", "id-only", "off"] = "strict"
    #: A column of RAI_V_EXAM with the patient's other numbers (门诊号, 住院号, 体检号), separated by
    #: ``\\``, ``,`` or ``;``: an object carrying any of them matches too. Empty: the view has no such column.
    other_ids_column: str = ""
    #: The health target ``review:queue`` goes DOWN while an object waits for review longer than this.
    alert_after: Duration = Duration(3600)
    #: An exam pushed to the AI host without an SR back within this time is listed in the daily report.
    result_within: Duration = Duration(7200)

    def validate(self) -> None:
        if self.other_ids_column and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$#]{0,29}", self.other_ids_column):
            raise ConfigError("review.other_ids_column", f"not a column name: {self.other_ids_column!r}")
        if self.alert_after < 60:
            raise ConfigError("review.alert_after", "expected at least 1m")
        if self.result_within < 60:
            raise ConfigError("review.result_within", "expected at least 1m")
