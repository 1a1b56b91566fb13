"""``[fhir]``: the FHIR R4 server an exam's result is posted to as a transaction Bundle (empty base_url: off)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ris_ai_module.config.types import Duration, FilePath, RetryConfig
from ris_ai_module.errors import ConfigError
from ris_ai_module.push.section import AuthConfig


@dataclass(frozen=True)
class FhirConfig:
    """Where the Bundle goes and how to authenticate (the same ``auth`` forms as ``[push]``)."""

    base_url: str = ""
    connect_timeout: Duration = Duration(5)
    read_timeout: Duration = Duration(30)
    verify_tls: bool = True
    ca_file: FilePath = FilePath("")
    auth: AuthConfig = field(default_factory=AuthConfig)
    #: Identifier system of the exam (DiagnosticReport.identifier) and of the patient (subject).
    exam_system: str = "urn:ris-ai-module:exam"
    patient_system: str = "urn:ris-ai-module:patient"
    retry: RetryConfig = field(default_factory=lambda: RetryConfig(initial=10, max_delay=600, max_attempts=50))

    def validate(self) -> None:
        if not self.base_url:
            return
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError("fhir.base_url", f"expected an http:// or https:// URL, got {self.base_url!r}")
        if self.auth.type == "bearer" and not self.auth.token:
            raise ConfigError("fhir.auth.token", "required when fhir.auth.type is \"bearer\"")
        if self.auth.type == "basic" and not self.auth.username:
            raise ConfigError("fhir.auth.username", "required when fhir.auth.type is \"basic\"")
        if self.auth.type == "header" and not self.auth.header_name:
            raise ConfigError("fhir.auth.header_name", "required when fhir.auth.type is \"header\"")
