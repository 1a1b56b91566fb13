"""Target ``images`` (典型图像): the exam's images as rows of the RIS image table, and optionally a JPEG of each.

Which images (decided at each apply of the exam, from what is linked to it now):

* the key images of the exam's current SRs (IMAGE content items, :mod:`ris_ai_module.sr.images`), newest SR
  first, in document order, with the caption the SR gives; a revised SR's references leave with its values
  (a revision replaces its predecessor wholly), unrelated SRs' references are merged, as values are;
* with ``include = "all"``, every other image object linked to the exam, by series and instance number.

Only objects linked to this exam and not held for review count: an image of another exam, an unlinked one
or one held for review (NEEDS_REVIEW) never gets a row, a path or a JPEG here. A key image the SR names but
that has not been received (or was linked elsewhere) gets a row with state NOT_RECEIVED and no path: the
doctor sees that the AI chose an image that is not there; when it arrives, its C-STORE re-applies the exam
and the row gets its path.

Rows the module wrote (RAI_REPORT_STATE.written_keys["images"]: SOP Instance UID -> path written) are
replaced at each apply, so a re-sent object or a re-apply never duplicates one, and a row of an image that
left the exam (moved, a revision without it) goes, with its JPEG. A row the module did not write, or whose
path someone changed, is never touched.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import DateTime, Integer, String, column, delete, insert, or_, select, table
from sqlalchemy.engine import Connection

from ris_ai_module.db.dialects import identifier, qualified_name
from ris_ai_module.db.tables import dicom_object
from ris_ai_module.report.jpeg import NotRendered, render_jpeg
from ris_ai_module.report.section import ReportImagesConfig

log = logging.getLogger(__name__)

SR_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.88."
NEEDS_REVIEW = "NEEDS_REVIEW"
JPEG, DICOM, NOT_RECEIVED = "JPEG", "DICOM", "NOT_RECEIVED"


@dataclass(frozen=True)
class ImageEntry:
    """One row of the image table."""

    sop_instance_uid: str
    path: str | None
    state: str
    caption: str = ""
    source_uid: str | None = None
    series_number: int | None = None
    instance_number: int | None = None


@dataclass
class ImageSet:
    entries: list[ImageEntry]
    warnings: list[str]


def jpeg_name(exam_key: str, sop_uid: str) -> str:
    """``<exam key>/<SOP Instance UID>.jpg``; the exam key percent-encoded where a file name could not hold it."""
    folder = quote(exam_key, safe="-_.")
    if folder in ("", ".", ".."):
        folder = folder.replace(".", "%2E") or "_"
    return f"{folder}/{sop_uid}.jpg"


def exam_images(conn: Connection, cfg: ReportImagesConfig, storage_root: Path, exam_key: str,
                srs: Sequence[tuple[str, Any]]) -> ImageSet:
    """The exam's image rows now (``srs``: (SOP Instance UID, ParsedSR) of its current SRs, newest last);
    renders the JPEGs that are missing or older than their object."""
    o = dicom_object
    objects = {r.sop_instance_uid: r for r in conn.execute(
        select(o.c.sop_instance_uid, o.c.file_path, o.c.received_at).where(
            o.c.exam_key == exam_key, ~o.c.sop_class_uid.like(SR_CLASS_PREFIX + "%"),
            or_(o.c.review_state.is_(None), o.c.review_state != NEEDS_REVIEW)))}
    referenced: dict[str, tuple[str, str, int]] = {}  # SOP UID -> (caption, SR, frame), newest SR's order first
    for sr_uid, parsed in reversed(list(srs)):
        for ref in getattr(parsed, "images", ()) or ():
            frame = ref.frames[0] if ref.frames else cfg.frame  # the frame the SR names, of a multi-frame image
            if ref.sop_instance_uid not in referenced:
                referenced[ref.sop_instance_uid] = (ref.caption, sr_uid, frame)
            elif not referenced[ref.sop_instance_uid][0] and ref.caption:
                _, first_sr, first_frame = referenced[ref.sop_instance_uid]
                referenced[ref.sop_instance_uid] = (ref.caption, first_sr, first_frame)
    warnings: list[str] = []
    entries: list[ImageEntry] = []
    for sop, (caption, sr_uid, frame) in referenced.items():
        obj = objects.get(sop)
        if obj is None:
            entries.append(ImageEntry(sop, None, NOT_RECEIVED, caption, sr_uid))
        else:
            entries.append(_entry(cfg, storage_root, exam_key, obj, caption, sr_uid, warnings, frame))
    if cfg.include == "all":
        others = [_entry(cfg, storage_root, exam_key, obj, "", None, warnings, cfg.frame)
                  for sop, obj in objects.items() if sop not in referenced]
        others.sort(key=lambda e: (e.series_number is None, e.series_number or 0, e.instance_number is None,
                                   e.instance_number or 0, e.sop_instance_uid))
        entries += others
    return ImageSet(entries, warnings)


def _entry(cfg: ReportImagesConfig, root: Path, exam_key: str, obj: Any, caption: str, sr_uid: str | None,
           warnings: list[str], frame: int) -> ImageEntry:
    source = root / obj.file_path
    series, instance = _numbers(source)
    if cfg.jpeg_folder:
        name = jpeg_name(exam_key, obj.sop_instance_uid)
        target = Path(cfg.jpeg_folder) / name
        try:
            if not _fresh(target, source):
                render_jpeg(source, target, cfg.jpeg_quality, frame)
            path = cfg.url_prefix + name if cfg.url_prefix else str(target)
            return ImageEntry(obj.sop_instance_uid, path, JPEG, caption, sr_uid, series, instance)
        except (NotRendered, OSError) as exc:
            warnings.append(f"no JPEG of {obj.sop_instance_uid}: {exc}")
            log.warning("no JPEG of %s: %s", obj.sop_instance_uid, exc, extra={"action": "jpeg_not_rendered"})
    return ImageEntry(obj.sop_instance_uid, str(source), DICOM, caption, sr_uid, series, instance)


def _fresh(target: Path, source: Path) -> bool:
    """The JPEG exists and is not older than its object (whose file storage retention may have removed since)."""
    try:
        made = target.stat().st_mtime_ns
    except OSError:
        return False
    try:
        return made >= source.stat().st_mtime_ns
    except OSError:
        return True


def _numbers(path: Path) -> tuple[int | None, int | None]:
    """Series Number and Instance Number from the object's header (pixel data not read)."""
    from pydicom import dcmread

    try:
        ds = dcmread(path, stop_before_pixels=True, specific_tags=["SeriesNumber", "InstanceNumber"])
    except Exception:  # noqa: BLE001 - a header that cannot be read only costs the numbers
        return None, None
    return _int(ds.get("SeriesNumber")), _int(ds.get("InstanceNumber"))


def _int(value: object) -> int | None:
    try:
        return None if value in (None, "") else int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def write_image_rows(conn: Connection, cfg: ReportImagesConfig, exam_key: str, images: ImageSet,
                     previous: dict[str, str | None], now_local: Any) -> tuple[dict[str, str], set[str]]:
    """Replace the module's rows of the exam by ``images``; returns (SOP UID -> path written, SOP UIDs kept
    because the row is not the module's or was changed since)."""
    optional = {"order": (cfg.order_column, Integer), "series": (cfg.series_number_column, Integer),
                "instance": (cfg.instance_number_column, Integer), "caption": (cfg.caption_column, String),
                "state": (cfg.state_column, String), "source": (cfg.source_column, String),
                "updated": (cfg.updated_column, DateTime)}
    cols = {k: column(identifier(name), kind()) for k, (name, kind) in optional.items() if name}
    exam_col = column(identifier(cfg.exam_id_column), String())
    sop_col = column(identifier(cfg.sop_uid_column), String())
    path_col = column(identifier(cfg.path_column), String())
    schema, name = qualified_name(cfg.table)
    t = table(name, exam_col, sop_col, path_col, *cols.values(), schema=schema)
    exam, sop, path = (t.c[identifier(n)] for n in (cfg.exam_id_column, cfg.sop_uid_column, cfg.path_column))
    existing = {str(r[0]): (r[1] or "") for r in conn.execute(select(sop, path).where(exam == exam_key))}
    edited = {k for k, v in existing.items() if k in previous and previous[k] is not None and v != previous[k]}
    others = (set(existing) - set(previous)) | edited
    ours = sorted((set(existing) & set(previous)) - edited)
    if ours:
        conn.execute(delete(t).where(exam == exam_key, sop.in_(ours)))
    rows, written = [], {}
    for n, e in enumerate(images.entries, 1):
        if e.sop_instance_uid in others:
            continue
        values = {identifier(cfg.exam_id_column): exam_key, identifier(cfg.sop_uid_column): e.sop_instance_uid,
                  identifier(cfg.path_column): e.path}
        fill = {"order": n, "series": e.series_number, "instance": e.instance_number,
                "caption": e.caption[:200] or None, "state": e.state, "source": e.source_uid, "updated": now_local}
        values.update({identifier(optional[k][0]): v for k, v in fill.items() if k in cols})
        rows.append(values)
        written[e.sop_instance_uid] = e.path or ""
    if rows:
        conn.execute(insert(t), rows)
    if cfg.jpeg_folder:  # a JPEG no row of ours points to any more: the image left the exam (or its SR's list)
        with_jpeg = {e.sop_instance_uid for e in images.entries if e.state == JPEG}
        for gone in (set(previous) | set(written)) - with_jpeg - others:
            remove_jpeg(cfg, exam_key, gone)
    kept = {e.sop_instance_uid for e in images.entries if e.sop_instance_uid in others}
    return written, kept


def remove_jpeg(cfg: ReportImagesConfig, exam_key: str, sop_uid: str) -> None:
    """The JPEG of an image that left the exam's report (best effort: a file the RIS holds open stays)."""
    target = Path(cfg.jpeg_folder) / jpeg_name(exam_key, sop_uid)
    try:
        os.unlink(target)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("could not remove %s: %s", target, exc, extra={"action": "jpeg_not_removed"})
