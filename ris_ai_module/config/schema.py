"""The ground sections of the configuration ([database], [module], [ris], [worker], [logging], [sr], [hooks]).

Each part owns its own section's dataclass (``push/section.py``, ``dicom/section.py``, ...); the full typed
``Config`` is composed on top of ``GroundConfig`` in ``ris_ai_module/settings.py`` (one field line per
section: its registration). Dataclasses are where defaults live; ``example.toml`` beside this file documents
every key (a test checks it covers every field).

Lists are tuples and tables are read-only mappings so that a loaded Config cannot change under a
running component.
"""

from __future__ import annotations

import dataclasses
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

from ris_ai_module.config.paths import resolve_file_paths
from ris_ai_module.config.types import ByteSize, Duration, FilePath, empty_mapping
from ris_ai_module.config.view import CANONICAL_COLUMNS
from ris_ai_module.errors import ConfigError

_Config = TypeVar("_Config", bound="GroundConfig")


@dataclass(frozen=True)
class ModuleConfig:
    """Identity of this running instance (lease owner names, logs, reports)."""

    instance_name: str = field(default_factory=socket.gethostname)
    hospital_name: str = ""
    #: Campuses (values of ``ris.campus_column``) whose exams this instance works on; empty: all of them.
    campuses: tuple[str, ...] = ()
    #: The time zone every time shown to a person is given in (IANA name such as ``Asia/Shanghai``); empty: the
    #: machine's. The RAI_* tables keep UTC whatever this says (db/clock.py).
    timezone: str = ""


@dataclass(frozen=True)
class DatabaseConfig:
    """The RIS database that also holds the module's RAI_* tables."""

    url: str
    password: str = ""
    pool_size: int = 5
    connect_timeout: Duration = Duration(10)
    echo_sql: bool = False


@dataclass(frozen=True)
class RisConfig:
    """How exam starts are found in the RIS."""

    started_status: str = "STARTED"
    detect: Literal["trigger", "poll"] = "trigger"
    poll_interval: Duration = Duration(2)
    poll_lookback: Duration = Duration(3 * 86400)
    #: An optional column of RAI_V_EXAM naming the exam's campus (院区) in a hospital group; empty: none.
    campus_column: str = ""
    #: The campus of a received object from its InstitutionName (exact text -> campus), besides the sending
    #: peer's ``dicom.peers[].campus``; an object whose campus is unknown never links across campuses.
    campus_institutions: Mapping[str, str] = field(default_factory=empty_mapping)


@dataclass(frozen=True)
class WorkerConfig:
    """The task worker that drains RAI_TASK."""

    enabled: bool = True
    threads: int = 2
    batch_size: int = 20
    idle_wait: Duration = Duration(0.2)
    lease: Duration = Duration(120)
    purge_done_after: Duration = Duration(7 * 86400)
    purge_failed_after: Duration = Duration(90 * 86400)
    purge_interval: Duration = Duration(3600)
    pg_notify: bool = True


@dataclass(frozen=True)
class LoggingConfig:
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    file: FilePath = FilePath("")
    max_bytes: ByteSize = ByteSize(20 * 1024 * 1024)
    backup_count: int = 10
    mask_phi: bool = True


@dataclass(frozen=True)
class SrConfig:
    """The SR measurement engine: a hospital's own catalog rows, without touching code."""

    catalog_overlay: FilePath = FilePath("")


@dataclass(frozen=True)
class HooksConfig:
    """A hospital's extension hooks (see ris_ai_module/hooks.py and docs/api.md): a module importable by name."""

    module: str = ""
    timeout: Duration = Duration(2)
    max_failures: int = 5


@dataclass(frozen=True)
class GroundConfig:
    """The sections every part may read; ``ris_ai_module.settings.Config`` adds the parts' own sections."""

    database: DatabaseConfig
    module: ModuleConfig = field(default_factory=ModuleConfig)
    ris: RisConfig = field(default_factory=RisConfig)
    worker: WorkerConfig = field(default_factory=WorkerConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    sr: SrConfig = field(default_factory=SrConfig)
    hooks: HooksConfig = field(default_factory=HooksConfig)

    def view_columns(self) -> tuple[str, ...]:
        """RAI_V_EXAM's columns as configured: the canonical ones and the optional ones named in config."""
        return CANONICAL_COLUMNS + ((self.ris.campus_column,) if self.ris.campus_column else ())

    def validate(self) -> None:
        """Checks of the ground sections that span keys; each names the key at fault."""
        if not self.database.url.strip():
            raise ConfigError("database.url", "must not be empty")
        if "://" not in self.database.url:
            raise ConfigError("database.url", f"expected an SQLAlchemy URL like postgresql+psycopg://user@host/db, got {self.database.url!r}")
        if self.ris.campus_column and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$#]{0,29}", self.ris.campus_column):
            raise ConfigError("ris.campus_column", f"not a column name: {self.ris.campus_column!r}")
        if self.module.campuses and not self.ris.campus_column:
            raise ConfigError("module.campuses", "needs ris.campus_column (the view column that names the campus)")
        if self.ris.campus_institutions and not self.ris.campus_column:
            raise ConfigError("ris.campus_institutions", "needs ris.campus_column (the view column that names the campus)")
        if self.module.timezone:
            from ris_ai_module.config.types import check_timezone

            check_timezone("module.timezone", self.module.timezone)
        if self.worker.threads < 1:
            raise ConfigError("worker.threads", "expected at least 1")
        if self.worker.batch_size < 1:
            raise ConfigError("worker.batch_size", "expected at least 1")
        if self.worker.lease < 5:
            raise ConfigError("worker.lease", "expected at least 5s")
        if self.hooks.max_failures < 1:
            raise ConfigError("hooks.max_failures", "expected at least 1")
        if not 0 < self.hooks.timeout <= 60:
            raise ConfigError("hooks.timeout", f"expected more than 0 and at most 60s, got {float(self.hooks.timeout):g}s")

    def resolve_paths(self: _Config, base: Path) -> _Config:
        """Relative file paths in the file mean: relative to the file's folder (every FilePath field)."""
        resolved = resolve_file_paths(self, base)
        url = resolved.database.url
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and url != "sqlite:///:memory:":
            url = "sqlite:///" + str((base / url[len("sqlite:///"):]).resolve())
        return dataclasses.replace(resolved, database=dataclasses.replace(resolved.database, url=url))
