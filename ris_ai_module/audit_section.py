"""[audit]: how long RAI_AUDIT keeps its rows and how quickly batched rows reach the database."""

from __future__ import annotations

from dataclasses import dataclass

from ris_ai_module.config.types import Duration
from ris_ai_module.errors import ConfigError

#: 网络安全法 第二十一条: network logs are kept for no less than six months. The database's purge
#: procedure (created by the migration) refuses to delete anything younger, whatever it is asked.
MIN_RETENTION_DAYS = 180


@dataclass(frozen=True)
class AuditConfig:
    """RAI_AUDIT: who searched, opened, changed or tried to log in, kept ``retention`` (180d at least)."""

    retention: Duration = Duration(MIN_RETENTION_DAYS * 86400)
    #: Reads are written in batches: a row is in the database at most this long after the request.
    flush_interval: Duration = Duration(0.5)
    #: RAI_ASSOC_REJECT (associations the SCP turned away, 等保 audit too): rows older than this are purged by the
    #: housekeeping leader, so a flood of wrong-AE associations cannot grow the table without limit.
    reject_retention: Duration = Duration(MIN_RETENTION_DAYS * 86400)

    def validate(self) -> None:
        if self.retention < MIN_RETENTION_DAYS * 86400:
            raise ConfigError("audit.retention", f"expected at least {MIN_RETENTION_DAYS}d (the law asks for six months)")
        if self.reject_retention < MIN_RETENTION_DAYS * 86400:
            raise ConfigError("audit.reject_retention",
                              f"expected at least {MIN_RETENTION_DAYS}d (the law asks for six months)")
        if not 0.05 <= self.flush_interval <= 1.0:
            raise ConfigError("audit.flush_interval", "expected between 50ms and 1s (audit rows are durable within a second)")
