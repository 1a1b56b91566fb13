"""Files that are either whole or absent: the one way the module writes a file another program reads
(outbox results, JPEG renditions) and makes a rename survive a power cut (received objects)."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_folder(folder: Path) -> None:
    """Make a rename durable. Windows cannot open folders; NTFS journals the rename itself."""
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(target: Path, data: bytes) -> None:
    """``data`` at ``target``: a temporary name beside it (a dot name, ``.tmp``: readers skip it), fsync,
    rename over ``target``, fsync of the folder. A failure leaves the old file, never half a new one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_folder(target.parent)
