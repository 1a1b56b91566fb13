"""``[inbox]``: the file interface's way in — DICOM files dropped in a folder are imported like a C-STORE."""

from __future__ import annotations

from dataclasses import dataclass

from ris_ai_module.config.types import ByteSize, Duration, FilePath
from ris_ai_module.errors import ConfigError


@dataclass(frozen=True)
class InboxConfig:
    """A drop folder (empty: off). A file is taken once its size and time stayed the same for ``settle``,
    so one still being copied in is never read half-written."""

    folder: FilePath = FilePath("")
    interval: Duration = Duration(5)
    settle: Duration = Duration(5)
    #: Larger files are moved to failed/ unread (a drop folder is not for 1 GB multi-frames).
    max_bytes: ByteSize = ByteSize(512 * 1024 * 1024)

    def validate(self) -> None:
        if self.folder and float(self.interval) <= 0:
            raise ConfigError("inbox.interval", "expected more than 0s")
        if self.folder and float(self.settle) < 1:
            raise ConfigError("inbox.settle", "expected at least 1s (a copy in progress must be seen to stop)")
