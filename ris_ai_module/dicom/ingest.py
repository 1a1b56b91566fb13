"""One path for every object that comes in, by C-STORE or by manual import: validate, store, index, link.

The contract (issue 4, "acknowledge only what is durable"): the outcome is a success only when the file is
fsynced at its final path AND its RAI_OBJECT row (with the SR_APPLY task of a linked SR) is committed. Every
failure removes what it wrote and names the reason in a short comment. This module is a boundary: it turns
errors into DIMSE statuses, it does not raise for bad input or an unavailable database.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

from pydicom import dcmread
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.filereader import read_partial
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.ris import exams_of_patient
from ris_ai_module.dicom import index, statuses
from ris_ai_module.dicom.campus import ObjectCampus, object_campus
from ris_ai_module.dicom.forwarding import enqueue_forward
from ris_ai_module.dicom.index import ObjectRow
from ris_ai_module.dicom.linking import UNLINKED, Link, find_exam, parse_da
from ris_ai_module.dicom.patient_check import NEEDS_REVIEW, Verdict, check_campus, check_patient
from ris_ai_module.dicom.storage import StorageArea, TempObject, sha256_of
from ris_ai_module.dicom.structure import structure_problem
from ris_ai_module.dicom.uids import uid_problem
from ris_ai_module.hooks import Hooks
from ris_ai_module.log import phi_id
from ris_ai_module.services import Running, hooks_of

log = logging.getLogger(__name__)

#: The only attributes read on the association thread (the object is never decoded whole).
HEADER_TAGS = (
    "SpecificCharacterSet", "PatientName", "SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "PatientID", "AccessionNumber",
    "StudyDate", "InstitutionName",
)
#: The last of HEADER_TAGS in file order (SeriesInstanceUID): reading stops at the first element after it.
HEADER_END = 0x0020000E


@dataclass(frozen=True)
class Received:
    """An object that has arrived in a temp file, and who sent it."""

    temp: TempObject
    source: str  # DICOM or IMPORT
    sender_ae: str | None = None
    sender_address: str | None = None
    #: From the C-STORE command; the data set must agree with them.
    affected_sop_class: str | None = None
    affected_sop_instance: str | None = None
    #: The presentation context the C-STORE came on (abstract syntax = the SOP class it may carry).
    context_sop_class: str | None = None
    #: Manual import with --exam: link to this exam instead of searching.
    exam_key: str | None = None
    #: A manual upload by an account limited to these campuses: the object must reach (or be held for) an exam
    #: of one of them, else nothing is stored (``Outcome.other_campus``); empty: no limit.
    campuses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    status: int
    comment: str = ""
    sop_instance_uid: str | None = None
    duplicate: bool = False
    exam_key: str | None = None
    link_method: str | None = None
    task_id: int | None = None
    file_path: str | None = None
    #: Set when the patient check held the object for review (linked to no exam until an operator decides).
    review_reason: str | None = None
    review_exam_key: str | None = None
    #: The keyword of the attribute a refusal is about (Offending Element (0000,0901) of the C-STORE response).
    offending: str | None = None
    #: A limited account's upload that links to no exam of its campuses: refused, nothing stored.
    other_campus: bool = False

    @property
    def ok(self) -> bool:
        return self.status == statuses.SUCCESS

    def imported_text(self) -> str:
        """Where a stored object went, in the words of ``import-sr`` and the inbox (one place for both)."""
        if self.review_reason:
            return f"imported but held for review (exam {self.review_exam_key}): {self.review_reason}"
        where = f"exam {self.exam_key} ({self.link_method})" if self.exam_key else "no exam (unlinked)"
        return f"imported, linked to {where}"


def _fail(status: int, comment: str, sop: str | None = None) -> Outcome:
    return Outcome(status, statuses.comment(comment), sop)


def ingest(ctx: Running, area: StorageArea, received: Received) -> Outcome:
    """Validate, store durably, index and link one received object. Never raises for a peer's mistake."""
    temp = received.temp
    try:
        outcome = _ingest(ctx, area, received)
    except Exception:
        log.exception("storing an object failed", extra={"action": "store_failed"})
        outcome = _fail(statuses.STORE_FAILED, "internal error while storing")
    finally:
        temp.discard()  # a no-op when the file was renamed into place
    return outcome


def _ingest(ctx: Running, area: StorageArea, rc: Received) -> Outcome:
    temp = rc.temp
    temp.finish()
    if temp.error is not None:
        if temp.out_of_space:
            return _fail(statuses.OUT_OF_RESOURCES, "out of disk space")
        return _fail(statuses.STORE_FAILED, f"write error: {temp.error.strerror or temp.error}")
    encoding = encoding_problem(temp) or completeness_problem(temp)
    if encoding is not None:
        return _refused(rc, statuses.CANNOT_UNDERSTAND, encoding, None)
    try:
        ds = read_header(temp)
        uids = {name: raw_uid(ds, name) for name in UID_TAGS}
    except Exception as exc:
        return _refused(rc, statuses.CANNOT_UNDERSTAND, f"unreadable data set: {exc.__class__.__name__}", None)
    sop_class = uids["SOPClassUID"] or ""
    sop = uids["SOPInstanceUID"] or ""
    problem = _check(ds, uids, rc, ctx.config.dicom.sop_classes)
    if problem is not None:
        status, text, keyword = problem
        return _refused(rc, status, text, sop or None, keyword)
    study = str(uids["StudyInstanceUID"])
    series = str(uids["SeriesInstanceUID"])
    relative = area.relative_path(study, series, sop)
    sha = temp.sha256 if temp.size else sha256_of(temp.name)
    size = Path(temp.name).stat().st_size

    policy = ctx.config.dicom.overwrite
    row = ObjectRow(
        sop_instance_uid=sop, sop_class_uid=sop_class, study_uid=study, series_uid=series,
        transfer_syntax=str(ds.file_meta.get("TransferSyntaxUID", "") or "") or None,
        patient_id=_text(ds.get("PatientID")), accession_no=_text(ds.get("AccessionNumber")),
        exam_key=None, link_method=None, source=rc.source, sender_ae=_text(rc.sender_ae),
        sender_address=_text(rc.sender_address), file_path=relative, file_size=size, sha256=sha,
        received_at=utcnow(), patient_name=_text(ds.get("PatientName")),
    )
    placed = False
    task_id: int | None = None
    forward_id: int | None = None
    existing: ObjectRow | None = None
    # One transaction from the duplicate check to the commit (one write-lock round on SQLite, not two).
    try:
        with ctx.engine.begin() as conn:
            existing = index.get_object(conn, sop)
            # a purged object (storage retention deleted its file) sent again is stored again: nothing is lost
            if existing is not None and rc.campuses and not _own_campus(ctx, conn, rc, existing):
                return _other_campus(sop)  # says nothing of the stored copy's exam
            if existing is not None and existing.purged_at is None and not _replaces(policy, existing, rc.sender_ae, sha):
                log.info("duplicate %s ignored (overwrite=%s)", sop, policy, extra={"action": "store_duplicate"})
                return Outcome(statuses.SUCCESS, "", sop, duplicate=True, exam_key=existing.exam_key,
                               link_method=existing.link_method, file_path=existing.file_path)
            if not area.has_room():
                return _fail(statuses.OUT_OF_RESOURCES, "storage below min_free", sop)
            link = _link(ctx, conn, rc, row, ds)
            if link.exam_key is None and not link.hold and hooks_of(ctx).has("pick_exam"):
                link = pick_by_hook(conn, hooks_of(ctx), row, ds)
            row = _with_link(row, link, _verdict(ctx, conn, link, row, rc, ds))
            if rc.campuses and not _own_campus(ctx, conn, rc, row):
                return _other_campus(sop)  # nothing written yet in this transaction
            if existing is None:
                index.insert_object(conn, row)
            else:
                index.replace_object(conn, row)
            if row.exam_key and index.is_sr(sop_class):  # never for an object held for review
                task_id = index.enqueue_apply(conn, row.exam_key, sop)
            elif not index.is_sr(sop_class) and _images_on(ctx):  # the report's key images (target images)
                for exam in dict.fromkeys(k for k in (row.exam_key, existing and existing.exam_key) if k):
                    task_id = index.enqueue_exam_apply(conn, exam)
            forward_id = enqueue_forward(conn, ctx.config.archive, sop, sop_class, row.exam_key, row.review_state)
            area.place(temp.name, relative)  # inside the transaction: no row without its file
            placed = True
    except SQLAlchemyError as exc:
        other = isinstance(exc, IntegrityError) and _stored_meanwhile(ctx, sop)
        if placed and existing is None and not other:
            area.remove(relative)
        if other:
            # Another association committed the same SOP Instance UID first: that copy stands.
            return Outcome(statuses.SUCCESS, "", sop, duplicate=True)
        return _db_failure(exc, sop)
    except OSError as exc:
        import errno

        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return _fail(statuses.OUT_OF_RESOURCES, "out of disk space", sop)
        return _fail(statuses.STORE_FAILED, f"cannot write the object: {exc.strerror or exc}", sop)
    if task_id is not None or forward_id is not None:
        ctx.wake.set()
    log.info("stored %s (%s, %d bytes) from %s, exam %s via %s, patient %s", sop, sop_class, size,
             rc.sender_ae or rc.source, row.exam_key or "-", row.link_method or "unlinked", phi_id(row.patient_id),
             extra={"action": "stored"})
    if row.review_state:
        log.warning("%s held for review (exam %s via %s): %s", sop, row.review_exam_key, row.review_method,
                    row.review_reason, extra={"action": "held_for_review"})
    return Outcome(statuses.SUCCESS, "", sop, duplicate=False, exam_key=row.exam_key, link_method=row.link_method,
                   task_id=task_id, file_path=relative, review_reason=row.review_reason,
                   review_exam_key=row.review_exam_key)


def _own_campus(ctx: Running, conn: Connection, rc: Received, row: ObjectRow) -> bool:
    """Whether the object is linked to, or held for, an exam of the uploading account's campuses."""
    from ris_ai_module.db.ris import optional_columns

    key = row.exam_key or row.review_exam_key
    column = ctx.config.ris.campus_column
    if not key or not column:
        return False
    return str(optional_columns(conn, key, [column]).get(column.lower()) or "").strip() in rc.campuses


def _other_campus(sop: str) -> Outcome:
    log.warning("upload of %s refused: it links to no exam of the account's campuses", sop,
                extra={"action": "store_refused"})
    return Outcome(statuses.DATASET_MISMATCH, "links to no exam of this account's campuses", sop, other_campus=True)


def _images_on(ctx: Running) -> bool:
    """Is the report target ``images`` configured (then a linked image re-applies its exam)?"""
    report = getattr(ctx.config, "report", None)
    return "images" in (getattr(report, "targets", None) or ())


def _refused(rc: Received, status: int, text: str, sop: str | None, offending: str | None = None) -> Outcome:
    log.warning("object refused (0x%04X %s) from %s", status, text, rc.sender_ae, extra={"action": "store_refused"})
    return replace(_fail(status, text, sop), offending=offending)


#: The UIDs that name the object and its place on disk, read strictly (raw_uid).
UID_TAGS = ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")


def raw_uid(ds: Dataset, keyword: str) -> str | None:
    """A UI value exactly as sent, less the one trailing NUL that pads it to even length (PS3.5 §6.2, §9.1).
    pydicom would also strip spaces; a UID with a space is not a UID, so it is kept and fails validation."""
    tag = tag_for_keyword(keyword)
    if tag is None or tag not in ds:
        return None
    elem = ds.get_item(tag)
    value = elem.value
    if isinstance(value, (bytes, bytearray)):
        text = bytes(value).decode("ascii", "replace")
        return text[:-1] if text.endswith("\0") else text
    return None if value is None else str(value)


#: Transfer syntaxes whose data set bytes are deflated (their first element cannot be looked at directly).
DEFLATED = ("1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.8.1")
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
#: Every VR of PS3.5 Table 6.2-1: in explicit VR encodings, bytes 4-5 of each element are one of these.
VRS = frozenset(b"AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR "
                b"US UT UV".split())


def encoding_problem(temp: TempObject) -> str | None:
    """Whether the data set's first element is encoded as its transfer syntax says (None when it is).

    pydicom, reading explicit VR bytes that are really implicit (or the reverse), switches encodings with a
    warning and reads on; the object would be stored as something it is not. Random bytes usually pass
    pydicom's partial read as a few nonsense elements. Both are "cannot understand" (0xC000) here.
    """
    head = bytes(temp.head)
    if len(head) < 144 or head[128:132] != b"DICM":
        return None  # not a Part 10 file as pynetdicom writes it (manual import): pydicom's own checks apply
    try:
        group_length = int.from_bytes(head[140:144], "little")
        meta_end = 144 + group_length
        meta = dcmread(BytesIO(head[:meta_end])).file_meta
        syntax = str(meta.get("TransferSyntaxUID", "") or "")
    except Exception:
        return "unreadable file meta information"
    if not syntax or syntax in DEFLATED:
        return None
    first = head[meta_end:meta_end + 8]
    if len(first) < 8:
        return None if temp.size <= meta_end else "data set too short"
    order = "big" if syntax == EXPLICIT_BE else "little"
    group = int.from_bytes(first[0:2], order)
    looks_explicit = first[4:6] in VRS
    if group < 0x0008:
        return f"data set starts with group {group:04X}: not a data set"
    if syntax == IMPLICIT_LE:
        if looks_explicit:
            return "explicit VR data on an implicit VR transfer syntax"
        length = int.from_bytes(first[4:8], "little")
        if length != 0xFFFFFFFF and length > temp.size - meta_end - 8:
            return "first element longer than the data set: not implicit VR"
        return None
    if not looks_explicit:
        return "data set is not explicit VR as its transfer syntax says"
    return None


def completeness_problem(temp: TempObject) -> str | None:
    """Whether the whole data set arrived: every element as long as it says, every undefined-length sequence,
    item and pixel data closed by its delimiter (:mod:`dicom.structure`). None when it is whole, or when the
    file is not a Part 10 file as pynetdicom writes it (manual import: pydicom's own checks apply)."""
    head = bytes(temp.head)
    if len(head) < 144 or head[128:132] != b"DICM":
        return None
    try:
        meta_end = 144 + int.from_bytes(head[140:144], "little")
        syntax = str(dcmread(BytesIO(head[:meta_end])).file_meta.get("TransferSyntaxUID", "") or "")
        with open(temp.name, "rb") as fh:
            size = fh.seek(0, 2)
            problem = structure_problem(fh, meta_end, size, syntax)
    except OSError as exc:
        return f"cannot read the received data set: {exc.strerror or exc}"
    except Exception:
        return "unreadable file meta information"
    return None if problem is None else f"incomplete data set: {problem}"


def read_header(temp: TempObject) -> Dataset:
    """HEADER_TAGS, from the bytes kept in memory while the object arrived when they hold them all, else from
    the file. Stops at the first element after HEADER_END: nothing after the header is decoded."""
    head = bytes(temp.head)
    if head:
        try:
            ds, complete = _read_until_end(BytesIO(head))
            if complete or len(head) >= temp.size:
                return ds
        except Exception:
            if len(head) >= temp.size:
                raise  # the whole object was in memory: the file would fail the same way
    with open(temp.name, "rb") as fh:
        return _read_until_end(fh)[0]


def _read_until_end(fh: BinaryIO) -> tuple[Dataset, bool]:
    """(the header data set, whether an element after HEADER_END was reached)."""
    reached = False

    def stop(tag: int, _vr: object, _length: int) -> bool:
        nonlocal reached
        reached = reached or tag > HEADER_END
        return reached

    ds = read_partial(fh, stop_when=stop, specific_tags=[tag_for_keyword(k) for k in HEADER_TAGS])
    return ds, reached


def _stored_meanwhile(ctx: Running, sop: str) -> bool:
    """After a constraint error: is it the SOP Instance UID's row, committed by someone else? (Else: failure.)"""
    try:
        with ctx.engine.connect() as conn:
            return index.get_object(conn, sop) is not None
    except SQLAlchemyError:
        return False


def _check(ds: Dataset, uids: dict[str, str | None], rc: Received, accepted: tuple[str, ...]) -> tuple[int, str, str] | None:
    """The first reason to refuse this data set, as (status, comment, the attribute at fault: Offending Element
    (0000,0901), PS3.4 Table B.2-1); None when it is acceptable."""
    sop_class = uids["SOPClassUID"]
    sop = uids["SOPInstanceUID"]
    for name, value in (("SOPClassUID", sop_class), ("SOPInstanceUID", sop)):
        if not value:
            return statuses.DATASET_MISMATCH, f"{name} missing", name
    for name in ("SOPClassUID", "SOPInstanceUID"):
        problem = uid_problem(name, uids[name])
        if problem:
            return statuses.INVALID_UID, problem, name
    if rc.context_sop_class and sop_class != rc.context_sop_class:
        return statuses.DATASET_MISMATCH, "SOP class differs from the presentation context's", "SOPClassUID"
    if rc.affected_sop_class and sop_class != rc.affected_sop_class:
        return statuses.DATASET_MISMATCH, "SOPClassUID differs from the C-STORE request", "SOPClassUID"
    if rc.affected_sop_instance and sop != rc.affected_sop_instance:
        return statuses.DATASET_MISMATCH, "SOPInstanceUID differs from the C-STORE request", "SOPInstanceUID"
    if str(sop_class) not in accepted:
        return statuses.SOP_CLASS_NOT_SUPPORTED, f"SOP class {sop_class} not accepted", "SOPClassUID"
    for name in ("StudyInstanceUID", "SeriesInstanceUID"):
        if not uids[name]:
            return statuses.DATASET_MISMATCH, f"{name} missing", name
        problem = uid_problem(name, uids[name])
        if problem:
            return statuses.INVALID_UID, problem, name
    return None


def _replaces(policy: str, existing: ObjectRow, sender_ae: str | None, sha: str) -> bool:
    """dcm4chee's overwrite policies: NEVER keeps the first; ALWAYS / SAME_SOURCE replace a different content."""
    if policy == "NEVER" or existing.sha256 == sha:
        return False
    if policy == "SAME_SOURCE":
        return (existing.sender_ae or "") == (sender_ae or "").strip()
    return True


def _link(ctx: Running, conn: object, rc: Received, row: ObjectRow, ds: Dataset) -> Link:
    if rc.exam_key:
        return Link(rc.exam_key, "MANUAL")
    try:
        where = _campus_of(ctx, rc, ds)
        if where.conflict:
            return Link(None, None, where.why)
        return find_exam(conn, row.study_uid, row.accession_no, row.patient_id,  # type: ignore[arg-type]
                         parse_da(ds.get("StudyDate")), ctx.config.ris.campus_column, where.campus)
    except SQLAlchemyError:
        raise
    except Exception:  # a malformed value must not cost the object: keep it unlinked
        log.exception("linking %s failed", row.sop_instance_uid)
        return UNLINKED


def pick_by_hook(conn: Connection, hooks: Hooks, row: ObjectRow, ds: Dataset) -> Link:
    """Ask the hospital's ``pick_exam`` hook (candidates: the exams of the object's patient ID).

    Its choice is a link like any other: :func:`_verdict` puts it through the full patient check (and the
    campus check), so an exam of another patient holds the object for review with the reason.
    """
    candidates = exams_of_patient(conn, row.patient_id)
    obj = {"sop_instance_uid": row.sop_instance_uid, "study_uid": row.study_uid, "accession_no": row.accession_no,
           "patient_id": row.patient_id, "patient_name": _text(ds.get("PatientName")),
           "study_date": _text(ds.get("StudyDate")), "modality": _text(ds.get("Modality"))}
    chosen = hooks.pick_exam(obj, candidates)
    return UNLINKED if chosen is None else Link(chosen, "HOOK")


def _campus_of(ctx: Running, rc: Received, ds: Dataset) -> ObjectCampus:
    """The object's campus; for an upload by an account of one campus, when nothing else names it, that one
    (the link rules then look only at its exams, as for its own AI host's objects)."""
    found = object_campus(ctx.config, rc.sender_ae, rc.sender_address, _text(ds.get("InstitutionName")))
    if found.campus is None and not found.conflict and len(rc.campuses) == 1 and ctx.config.ris.campus_column:
        return ObjectCampus(rc.campuses[0], f"campus {rc.campuses[0]} of the uploading account")
    return found


def _verdict(ctx: Running, conn: object, link: Link, row: ObjectRow, rc: Received, ds: Dataset) -> Verdict | None:
    """The patient check of a found link (None when nothing was linked). A hook's pick is checked as strictly
    as a rule's, at least by Patient ID even with ``[review] patient_check = "off"`` (a site's code is not an
    operator), and a pick of another campus's exam fails too (a manual link is the operator's)."""
    if link.exam_key is None:
        return None
    review = ctx.config.review
    policy = review.patient_check
    if link.method == "HOOK":
        policy = "id-only" if policy == "off" else policy
        where = _campus_of(ctx, rc, ds)
        verdict = None
        if where.campus is not None:
            verdict = check_campus(conn, ctx.config.ris.campus_column, link.exam_key, where.campus)  # type: ignore[arg-type]
        if verdict is None or verdict.ok:
            verdict = check_patient(conn, policy, link.exam_key, row.patient_id,  # type: ignore[arg-type]
                                    row.patient_name, review.other_ids_column)
        if not verdict.ok:
            log.warning("pick_exam hook chose exam %s for %s, refused by the patient check: held for review (%s)",
                        link.exam_key, row.sop_instance_uid, verdict.reason, extra={"action": "hook_pick_refused"})
            return Verdict(False, f"pick_exam hook chose exam {link.exam_key}: {verdict.reason}")
        return verdict
    return check_patient(conn, policy, link.exam_key, row.patient_id,  # type: ignore[arg-type]
                         row.patient_name, review.other_ids_column)


def _with_link(row: ObjectRow, link: Link, verdict: Verdict | None = None) -> ObjectRow:
    """The row linked to the exam; or, when the patient check failed, linked to none and held for review."""
    from dataclasses import replace

    if link.hold:  # a match across campuses: held, linked to none, with the reason
        return replace(row, exam_key=None, link_method=None, review_state=NEEDS_REVIEW, review_reason=link.hold[:500])
    if verdict is not None and not verdict.ok:
        return replace(row, exam_key=None, link_method=None, review_state=NEEDS_REVIEW,
                       review_reason=verdict.reason[:500], review_exam_key=link.exam_key, review_method=link.method)
    return replace(row, exam_key=link.exam_key, link_method=link.method)


def _text(value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _db_failure(exc: Exception, sop: str) -> Outcome:
    log.error("index database unavailable, %s refused: %s", sop, exc.__class__.__name__,
              extra={"action": "store_db_failed"})
    return _fail(statuses.DATABASE_UNAVAILABLE, "index database unavailable; retry later", sop)
