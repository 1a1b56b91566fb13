"""[report]: where measurements go in the RIS report, and when a report may be written."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ris_ai_module.config.types import Duration, FilePath, empty_mapping
from ris_ai_module.errors import ConfigError

#: Report targets the writer knows (see ris_ai_module/report/targets.py).
REPORT_TARGETS = ("rows", "columns", "procedure", "text", "images")


@dataclass(frozen=True)
class ReportRowsConfig:
    """Target ``rows``: one row per selected, mapped measurement in a key/value table."""

    table: str = "RIS_REPORT_MEASURE"
    exam_id_column: str = "EXAM_ID"
    key_column: str = "ITEM_KEY"
    name_column: str = "ITEM_NAME"
    value_column: str = "ITEM_VALUE"
    unit_column: str = "ITEM_UNIT"
    source_column: str = "SOURCE_UID"
    updated_column: str = "UPDATED_AT"
    keys: tuple[str, ...] = ()
    name_language: Literal["zh", "en"] = "zh"
    #: A column receiving the AI model and version of each value's SR (empty: the table has none).
    provenance_column: str = ""


@dataclass(frozen=True)
class ReportColumnsConfig:
    """Target ``columns``: measurement key -> column of the report row (or of another row per exam)."""

    table: str = ""
    exam_id_column: str = ""
    columns: Mapping[str, str] = field(default_factory=empty_mapping)
    #: A column of that row receiving the AI model and version of the values written (empty: none).
    provenance_column: str = ""


@dataclass(frozen=True)
class ReportProcedureConfig:
    """Target ``procedure``: a stored procedure called with (exam id, JSON text)."""

    name: str = ""
    per: Literal["exam", "measurement"] = "exam"
    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportTextConfig:
    """Target ``text``: a findings paragraph rendered from a template into a marked block of a column."""

    column: str = "FINDINGS"
    #: The adult echo template (the only one before issue 8); "" = built-in.
    template: FilePath = FilePath("")
    #: Template name (echo_adult, echo_pediatric, ob, gyn, vascular, thyroid, breast) -> a hospital's file.
    templates: Mapping[str, FilePath] = field(default_factory=empty_mapping)
    #: Reported values no template line places: "list" them after the paragraph, or only "warn".
    unplaced: Literal["list", "warn"] = "list"
    begin_marker: str = "【AI测量】"
    end_marker: str = "【/AI测量】"
    place: Literal["append", "prepend"] = "append"
    #: End the block with "（以上为AI测量值：<model, version>，待医生确认。）".
    ai_notice: bool = True


@dataclass(frozen=True)
class ReportImagesConfig:
    """Target ``images`` (典型图像): one row per image of the exam in an image table, optionally a JPEG of it.

    A column given as "" is not written; exam_id_column, sop_uid_column and path_column are required.
    """

    table: str = "RIS_REPORT_IMAGE"
    exam_id_column: str = "EXAM_ID"
    sop_uid_column: str = "SOP_INSTANCE_UID"
    #: 1, 2, 3 …: key images in the SR's order first, then the other images by series and instance number.
    order_column: str = "IMAGE_NO"
    series_number_column: str = "SERIES_NO"
    instance_number_column: str = "INSTANCE_NO"
    #: The JPEG's URL (url_prefix) or absolute path; the DICOM file's absolute path when there is no JPEG.
    path_column: str = "IMAGE_PATH"
    caption_column: str = "CAPTION"
    #: JPEG, DICOM (the path is the DICOM file) or NOT_RECEIVED (the SR names an image not received yet).
    state_column: str = "IMAGE_STATE"
    #: The SR that references the image ("" for an image no SR names).
    source_column: str = "SOURCE_UID"
    updated_column: str = "UPDATED_AT"
    #: "all": every image received for the exam plus the SRs' key images; "referenced": the key images only.
    include: Literal["all", "referenced"] = "all"
    #: Folder for JPEG renditions, <folder>/<exam key>/<SOP Instance UID>.jpg ("" = no JPEG).
    jpeg_folder: FilePath = FilePath("")
    #: Prefix making the JPEG's name a URL, e.g. "http://ris-web/ai-images/" ("" = the file's absolute path).
    url_prefix: str = ""
    jpeg_quality: int = 90
    #: The frame of a multi-frame image that is rendered (1 = the first) when the SR names none.
    frame: int = 1


@dataclass(frozen=True)
class ReportConfig:
    """Where measurements go in the RIS report, and when the report may be written."""

    targets: tuple[str, ...] = ("rows", "text")
    table: str = "RIS_REPORT"
    exam_id_column: str = "EXAM_ID"
    status_column: str = "REPORT_STATUS"
    writable_statuses: tuple[str, ...] = ("DRAFT",)
    create_if_missing: bool = True
    new_status: str = "DRAFT"
    updated_column: str = "UPDATED_AT"
    pending_check_interval: Duration = Duration(30)
    units: Mapping[str, str] = field(default_factory=empty_mapping)
    decimals: Mapping[str, int] = field(default_factory=empty_mapping)
    rows: ReportRowsConfig = field(default_factory=ReportRowsConfig)
    columns: ReportColumnsConfig = field(default_factory=ReportColumnsConfig)
    procedure: ReportProcedureConfig = field(default_factory=ReportProcedureConfig)
    text: ReportTextConfig = field(default_factory=ReportTextConfig)
    images: ReportImagesConfig = field(default_factory=ReportImagesConfig)

    def validate(self) -> None:
        """Cross-key checks of [report]; each names the key at fault."""
        for i, name in enumerate(self.targets):
            if name not in REPORT_TARGETS:
                raise ConfigError(f"report.targets[{i}]", f"expected one of {', '.join(REPORT_TARGETS)}, got {name!r}")
        if "procedure" in self.targets and not self.procedure.name:
            raise ConfigError("report.procedure.name", "required when report.targets contains \"procedure\"")
        if "columns" in self.targets and not self.columns.columns:
            raise ConfigError("report.columns.columns", "required when report.targets contains \"columns\"")
        if "text" in self.targets and self.text.begin_marker == self.text.end_marker:
            raise ConfigError("report.text.end_marker", "must differ from report.text.begin_marker")
        if "images" in self.targets:
            for name in ("table", "exam_id_column", "sop_uid_column", "path_column"):
                if not getattr(self.images, name):
                    raise ConfigError(f"report.images.{name}", "required when report.targets contains \"images\"")
            if not 1 <= self.images.jpeg_quality <= 95:
                raise ConfigError("report.images.jpeg_quality", f"expected 1 to 95, got {self.images.jpeg_quality}")
            if self.images.frame < 1:
                raise ConfigError("report.images.frame", f"expected 1 or more, got {self.images.frame}")
        for key, places in self.decimals.items():
            if not 0 <= places <= 6:
                raise ConfigError(f"report.decimals.{key}", f"expected 0 to 6 decimals, got {places}")
        # report.units values are checked against the SR engine's unit table by startup.check_config.
        if self.pending_check_interval < 1:
            raise ConfigError("report.pending_check_interval", "expected at least 1s")
