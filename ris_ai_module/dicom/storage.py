"""The durable object store: ``ROOT/<StudyUID>/<SeriesUID>/<SOPInstanceUID>.dcm``.

An object is written to ``ROOT/.tmp`` (same file system) while it arrives, hashed on the way, fsynced, and
renamed into place; the folder is fsynced after the rename. A file at its final path is therefore always
complete; a crash leaves at most a temp file in ``ROOT/.tmp``, removed at the next start.

Paths are built only from UIDs that passed :func:`ris_ai_module.dicom.uids.is_valid_uid` (digits and dots),
so no UID a peer sends can point outside ``ROOT``.
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ris_ai_module.dicom.uids import is_valid_uid
from ris_ai_module.durable import fsync_folder

log = logging.getLogger(__name__)

TEMP_FOLDER = ".tmp"
COPY_CHUNK = 1024 * 1024
#: The first bytes of each object are kept in memory, so that its header can be read without reading the file.
HEAD_BYTES = 64 * 1024
_counter = itertools.count()


class _NoFlush:
    """pynetdicom calls ``tmp.file.flush()`` after each PDU; our writes are unbuffered already."""

    def flush(self) -> None:
        return None


class TempObject:
    """A file being received: unbuffered writes straight to the OS, SHA-256 and size kept on the way.

    Quacks like the ``NamedTemporaryFile`` pynetdicom's chunked receive expects (``write``, ``file.flush``,
    ``name``, ``close``). A write error (disk full) does not raise into pynetdicom's reader thread, which would
    abort the association: the error is kept, the rest of the object is discarded, and the C-STORE handler
    answers with a failure status instead.
    """

    def __init__(self, folder: Path, suffix: str = ".dcm", registry: _OpenTemps | None = None) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{os.getpid()}-{threading.get_ident()}-{next(_counter)}-{time.monotonic_ns()}{suffix}"
        self.name = str(path)
        self.file = _NoFlush()
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o640)
        self._hash = hashlib.sha256()
        self.size = 0
        #: The first HEAD_BYTES bytes written (the same bytes as the file's start).
        self.head = bytearray()
        self.error: OSError | None = None
        self.owner = threading.current_thread()  # pynetdicom's DUL thread of the association
        self._registry = registry
        if registry is not None:
            registry.add(self)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self.error is None and self._fd is not None:
            try:
                view = memoryview(data)
                while view:
                    written = os.write(self._fd, view)
                    view = view[written:]
                self._hash.update(data)
                if self.size < HEAD_BYTES:
                    self.head += memoryview(data)[: HEAD_BYTES - self.size]
                self.size += len(data)
            except OSError as exc:
                self.error = exc
                log.error("receiving into %s failed: %s", self.name, exc, extra={"action": "store_write_failed"})
        return len(data)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    @property
    def out_of_space(self) -> bool:
        return self.error is not None and self.error.errno in (errno.ENOSPC, errno.EDQUOT)

    def finish(self) -> None:
        """Make the bytes durable (fsync) and close; a failure is kept in ``error``."""
        if self._fd is None:
            return
        try:
            if self.error is None:
                os.fsync(self._fd)
        except OSError as exc:
            self.error = exc
        finally:
            self.close()

    def close(self) -> None:
        if self._registry is not None:
            self._registry.remove(self)
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def discard(self) -> None:
        self.close()
        _unlink_quietly(Path(self.name))


class _OpenTemps:
    """Temp objects still being written, so that a connection that dies mid-object can have its file removed
    (pynetdicom never reaches the C-STORE handler then, and would leave the file and its descriptor open).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: set[TempObject] = set()

    def add(self, temp: TempObject) -> None:
        with self._lock:
            self._open.add(temp)

    def remove(self, temp: TempObject) -> None:
        with self._lock:
            self._open.discard(temp)

    def owned_by(self, owner: object) -> list[TempObject]:
        with self._lock:
            return [t for t in self._open if t.owner is owner]


@dataclass(frozen=True)
class SpaceState:
    """The storage volume against the free-space watermark: what the SCP, /api/status, /metrics and the
    health check all read (one computation, so they never disagree)."""

    free: int
    total: int
    #: The watermark in bytes: the higher of ``storage.watermark_free`` and ``watermark_percent`` of ``total``.
    watermark: int
    #: Why new associations are refused now; None while they are accepted.
    refusing: str | None

    @property
    def free_percent(self) -> float:
        return 100.0 * self.free / self.total if self.total else 0.0

    def as_dict(self) -> dict[str, object]:
        return {"free_bytes": self.free, "total_bytes": self.total, "free_percent": round(self.free_percent, 2),
                "watermark_bytes": self.watermark, "accepting_associations": self.refusing is None,
                "refusing_reason": self.refusing}


def space_state(free: int, total: int, watermark_free: int, watermark_percent: float, min_free: int = 0) -> SpaceState:
    """Pure: below the watermark (bytes, or percent of the volume; whichever is higher, and never below
    ``min_free``: an association admitted there could only have its C-STOREs refused) new associations are
    refused. A watermark of 0 bytes and 0 % is off."""
    by_percent = int(total * float(watermark_percent) / 100.0)
    watermark = max(int(watermark_free), by_percent)
    if watermark > 0:
        watermark = max(watermark, int(min_free))
    refusing = None
    if watermark > 0 and free < watermark:
        which = ("storage.watermark_free" if int(watermark_free) >= watermark else
                 "storage.watermark_percent" if by_percent >= watermark else "storage.min_free")
        refusing = (f"storage below the free-space watermark ({which}): {_mb(free)} free of {_mb(total)}, "
                    f"watermark {_mb(watermark)}")
    return SpaceState(free=int(free), total=int(total), watermark=watermark, refusing=refusing)


def _mb(n: int) -> str:
    return f"{n / 1024**2:.0f} MB" if n < 10 * 1024**3 else f"{n / 1024**3:.1f} GB"


class StorageArea:
    """One storage root with its temp folder, free-space floor (C-STORE) and watermark (associations)."""

    def __init__(self, root: str | os.PathLike[str], min_free: int = 0, watermark_free: int = 0,
                 watermark_percent: float = 0.0) -> None:
        self.root = Path(root)
        self.temp_folder = self.root / TEMP_FOLDER
        self.min_free = int(min_free)
        self.watermark_free = int(watermark_free)
        self.watermark_percent = float(watermark_percent)
        self._open = _OpenTemps()

    @classmethod
    def from_config(cls, storage: Any) -> StorageArea:
        """The area ``[storage]`` describes (root, min_free, watermark)."""
        return cls(storage.root, storage.min_free, storage.watermark_free, storage.watermark_percent)

    def prepare(self, clean_older_than: float | None = 0.0) -> None:
        """Create the folders; remove temp files left by a crash (older than ``clean_older_than`` seconds)."""
        self.temp_folder.mkdir(parents=True, exist_ok=True)
        if clean_older_than is None:
            return
        limit = time.time() - clean_older_than
        for leftover in self.temp_folder.iterdir():
            try:
                if leftover.is_file() and leftover.stat().st_mtime <= limit:
                    leftover.unlink()
                    log.info("removed leftover temp file %s", leftover.name, extra={"action": "temp_cleaned"})
            except OSError:
                pass

    def new_temp(self, *_args: Any, **_kwargs: Any) -> TempObject:
        """A new temp object; the signature accepts ``NamedTemporaryFile``'s arguments (and ignores them)."""
        return TempObject(self.temp_folder, registry=self._open)

    def discard_unfinished(self, owner: object) -> int:
        """Remove the temp files a closed association was still writing; returns how many."""
        stale = self._open.owned_by(owner)
        for temp in stale:
            temp.discard()
        return len(stale)

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.root).free

    def has_room(self) -> bool:
        return self.free_bytes() >= self.min_free

    def space(self) -> SpaceState:
        """The volume now against the watermark (statvfs; cheap enough for every A-ASSOCIATE-RQ). A root that
        cannot be read counts as refusing: nothing could be stored there anyway."""
        try:
            usage = shutil.disk_usage(self.root)
        except OSError as exc:
            return SpaceState(0, 0, self.watermark_free, f"cannot read the storage root {self.root}: {exc.strerror or exc}")
        return space_state(usage.free, usage.total, self.watermark_free, self.watermark_percent, self.min_free)

    @staticmethod
    def relative_path(study_uid: str, series_uid: str, sop_instance_uid: str) -> str:
        """The stored path, relative to the root, with forward slashes (the same on Windows)."""
        for uid in (study_uid, series_uid, sop_instance_uid):
            if not is_valid_uid(uid):
                raise ValueError(f"not a valid UID: {uid!r}")
        return f"{study_uid}/{series_uid}/{sop_instance_uid}.dcm"

    def path_of(self, relative: str) -> Path:
        return self.root.joinpath(*relative.split("/"))

    def place(self, temp_path: str | os.PathLike[str], relative: str) -> Path:
        """Rename a durable temp file into place (atomic replace), fsyncing every folder that changed."""
        final = self.path_of(relative)
        created = _make_folders(final.parent, self.root)
        source = Path(temp_path)
        if not _same_device(source.parent, final.parent):
            source = _copy_durably(source, self.temp_folder)  # pynetdicom's own temp folder elsewhere
        os.replace(source, final)
        fsync_folder(final.parent)
        for folder in created:
            fsync_folder(folder.parent)
        return final

    def remove(self, relative: str) -> None:
        _unlink_quietly(self.path_of(relative))

    def copy_in(self, source: IO[bytes]) -> TempObject:
        """Stream a readable binary file into a new temp object (the manual import path)."""
        temp = self.new_temp()
        try:
            while chunk := source.read(COPY_CHUNK):
                temp.write(chunk)
            temp.finish()
        except BaseException:
            temp.discard()
            raise
        return temp


def sha256_of(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(COPY_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _make_folders(folder: Path, root: Path) -> list[Path]:
    """mkdir -p, returning the folders created (outermost first) so that their parents can be fsynced."""
    missing: list[Path] = []
    current = folder
    while not current.exists() and current != root:
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        try:
            path.mkdir()
        except FileExistsError:
            pass
    return list(reversed(missing))


def _same_device(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_dev == b.stat().st_dev
    except OSError:
        return False


def _copy_durably(source: Path, folder: Path) -> Path:
    target = folder / f"copy-{os.getpid()}-{next(_counter)}.dcm"
    with open(source, "rb") as src, open(target, "wb") as dst:
        shutil.copyfileobj(src, dst, COPY_CHUNK)
        dst.flush()
        os.fsync(dst.fileno())
    return target


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
