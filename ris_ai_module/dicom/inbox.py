"""The drop folder (``[inbox]``): DICOM files another system (or a person) puts in a folder are imported
by the same path as a C-STORE — stored durably, indexed, linked, an SR queued for SR_APPLY — and then
moved to ``done/`` or to ``failed/`` with a ``<name>.reason.txt`` beside them.

* A file is taken only once it is *settled*: its size and modification time were the same at two scans
  at least ``settle`` apart and it is older than that. A file being copied in is left alone.
* Names starting with ``.`` or ending ``.tmp``/``.part`` (the usual "still writing" names) are skipped.
* Moving never overwrites: a name already in done/ or failed/ gets ``.1``, ``.2`` … before its suffix,
  by a hard link that fails if the name exists (then the original is removed), never by a rename over it.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from ris_ai_module.dicom.inbox_section import InboxConfig
from ris_ai_module.dicom.ingest import Received, ingest
from ris_ai_module.dicom.storage import StorageArea
from ris_ai_module.services import Running

log = logging.getLogger(__name__)

DONE = "done"
FAILED = "failed"
_SKIP_SUFFIXES = (".tmp", ".part", ".partial", ".reason.txt")


@dataclass
class Inbox:
    """One scan per call of :meth:`scan`; remembers what it saw so that settling spans two scans."""

    ctx: Running
    cfg: InboxConfig
    seen: dict[str, tuple[int, int]] = field(default_factory=dict)
    _area: StorageArea | None = field(default=None, init=False, repr=False)

    @property
    def folder(self) -> Path:
        return Path(self.cfg.folder)

    def prepare(self) -> None:
        for sub in (DONE, FAILED):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)

    def _storage(self) -> StorageArea:
        """The storage area, made ready once (not once per file)."""
        if self._area is None:
            self._area = StorageArea(self.ctx.config.storage.root, self.ctx.config.storage.min_free)
            self._area.prepare(clean_older_than=None)
        return self._area

    def scan(self, now: float | None = None) -> int:
        """Import every settled file; returns how many were imported (done or failed)."""
        self.prepare()
        now = time.time() if now is None else now
        handled = 0
        present = set()
        for entry in sorted(os.scandir(self.folder), key=lambda e: e.name):
            if not entry.is_file(follow_symlinks=False) or entry.name.startswith(".") \
                    or entry.name.lower().endswith(_SKIP_SUFFIXES):
                continue
            present.add(entry.name)
            st = entry.stat(follow_symlinks=False)
            mark = (st.st_size, st.st_mtime_ns)
            settled = self.seen.get(entry.name) == mark and now - st.st_mtime >= float(self.cfg.settle)
            self.seen[entry.name] = mark
            if settled:
                self._take(Path(entry.path), st.st_size)
                self.seen.pop(entry.name, None)
                handled += 1
        for gone in set(self.seen) - present:
            del self.seen[gone]
        return handled

    def _take(self, path: Path, size: int) -> None:
        if size > self.cfg.max_bytes:
            self._move(path, FAILED, f"larger than inbox.max_bytes ({size} > {int(self.cfg.max_bytes)} bytes); "
                                     "send it by C-STORE instead")
            return
        area = self._storage()
        try:
            with open(path, "rb") as fh:
                temp = area.copy_in(fh)
        except OSError as exc:
            log.warning("inbox: %s not read (%s); it stays for the next scan", path.name, exc,
                        extra={"action": "inbox_read_error"})
            return
        outcome = ingest(self.ctx, area, Received(temp=temp, source="IMPORT", sender_ae="INBOX"))
        if not outcome.ok:
            self._move(path, FAILED, f"not imported: DIMSE status 0x{outcome.status:04X}: {outcome.comment}")
            return
        note = "already stored, nothing changed" if outcome.duplicate else outcome.imported_text()
        log.info("inbox: %s %s (%s)", path.name, note, outcome.sop_instance_uid, extra={"action": "inbox_import"})
        self._move(path, DONE, None)

    def _move(self, path: Path, sub: str, reason: str | None) -> Path:
        target = _free_name(self.folder / sub, path.name)
        os.link(path, target)  # fails if the name exists: nothing is ever overwritten
        path.unlink()
        if reason is not None:
            reason_file = target.with_name(target.name + ".reason.txt")
            reason_file.write_text(reason + "\n", encoding="utf-8")
            log.warning("inbox: %s moved to %s/: %s", path.name, sub, reason, extra={"action": "inbox_failed"})
        return target


def _free_name(folder: Path, name: str) -> Path:
    """``folder/name``, or ``folder/stem.N.suffix`` for the first N not taken."""
    candidate = folder / name
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    n = 0
    while candidate.exists() or candidate.with_name(candidate.name + ".reason.txt").exists():
        n += 1
        candidate = folder / (f"{stem}.{n}.{suffix}" if suffix else f"{stem}.{n}")
    return candidate


def make_component(ctx: Running):  # noqa: ANN201 - a PeriodicComponent, or None when off
    """The inbox scanner of ``run``, when ``inbox.folder`` is set."""
    if not ctx.config.inbox.folder:
        return None
    from ris_ai_module.periodic import PeriodicComponent

    inbox = Inbox(ctx, ctx.config.inbox)
    inbox.prepare()
    return PeriodicComponent("inbox", inbox.scan, float(ctx.config.inbox.interval), ctx.stop, ctx.wake)
