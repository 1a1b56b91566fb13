"""The whole typed configuration: the registry of sections (issue 10).

Each part owns its section's dataclass beside its code (``push/section.py``, ``dicom/section.py``, ...);
``config/`` keeps the ground sections (``config/schema.py``: database, module, ris, worker, logging, sr,
hooks), the shared types and the generic TOML loader, and imports no part. A new section registers here with
one field line in ``Config`` (and, if it has one, one ``validate()`` call), and documents every key in
``config/example.toml`` (a test checks it). The composition roots (cli, runtime, api, demo) and the tests
import ``Config`` and the loaders from here; a lower part names ``Config`` only under ``TYPE_CHECKING`` or
receives its own section.
"""

from __future__ import annotations

import os
import typing
from dataclasses import dataclass, field
from typing import Any

from ris_ai_module.audit_section import AuditConfig
from ris_ai_module.config.load import build_config, load_file
from ris_ai_module.config.schema import GroundConfig
from ris_ai_module.dicom.archive_section import ArchiveConfig
from ris_ai_module.dicom.inbox_section import InboxConfig
from ris_ai_module.dicom.review_section import ReviewConfig
from ris_ai_module.dicom.section import DicomConfig, StorageConfig
from ris_ai_module.errors import ConfigError
from ris_ai_module.fhir.section import FhirConfig
from ris_ai_module.health.section import AlertsConfig, HealthConfig, validate_health
from ris_ai_module.push.section import PushConfig
from ris_ai_module.report.section import ReportConfig
from ris_ai_module.results.hl7_section import Hl7Config
from ris_ai_module.results.outbox_section import OutboxConfig
from ris_ai_module.web.section import HttpConfig


@dataclass(frozen=True)
class Config(GroundConfig):
    """The whole configuration: the ground sections and one field per part's section."""

    push: PushConfig = field(default_factory=PushConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    health: HealthConfig = field(default_factory=HealthConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    dicom: DicomConfig = field(default_factory=DicomConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    inbox: InboxConfig = field(default_factory=InboxConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    review: ReviewConfig = field(default_factory=ReviewConfig)
    outbox: OutboxConfig = field(default_factory=OutboxConfig)
    hl7: Hl7Config = field(default_factory=Hl7Config)
    fhir: FhirConfig = field(default_factory=FhirConfig)
    archive: ArchiveConfig = field(default_factory=ArchiveConfig)

    def validate(self) -> None:
        """The ground checks, each section's own, and the checks that span sections; each names the key."""
        super().validate()
        for kind, accounts in (("users", self.http.users), ("tokens", self.http.tokens)):
            for i, account in enumerate(accounts):
                if account.campuses and not self.ris.campus_column:
                    raise ConfigError(f"http.{kind}[{i}].campuses",
                                      "needs ris.campus_column (the view column that names the campus)")
        for i, peer in enumerate(self.dicom.peers):
            if peer.campus and not self.ris.campus_column:
                raise ConfigError(f"dicom.peers[{i}].campus", "needs ris.campus_column (the view column that names the campus)")
        self.push.validate_push(self.worker.enabled, self.view_columns())
        self.report.validate()
        self.inbox.validate()
        validate_health(self.health, self.alerts, self.dicom)
        self.dicom.validate()
        self.storage.validate()
        self.http.validate()
        self.audit.validate()
        self.review.validate()
        self.outbox.validate()
        self.hl7.validate()
        self.fhir.validate()
        self.archive.validate()


def load_config(path: str | os.PathLike[str], environ: typing.Mapping[str, str] | None = None) -> Config:
    """Read and validate a configuration file; relative paths in it are resolved against its folder."""
    return load_file(Config, path, environ)


def config_from_dict(raw: dict[str, Any], environ: typing.Mapping[str, str] | None = None) -> Config:
    """A validated Config from a TOML-shaped dict (tests, the demo, the public API)."""
    return build_config(Config, raw, environ)
