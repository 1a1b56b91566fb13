"""SR_APPLY: one stored SR -> every measurement in RAI_MEASUREMENT -> the exam's RIS report.

The SR is parsed outside any transaction (it is the slow part); then one transaction replaces the SR's
RAI_MEASUREMENT rows, writes the report through the targets and records RAI_REPORT_STATE, so a reader
never sees measurements without the report state that goes with them. An object not linked to an exam
is only indexed: ``link`` enqueues SR_APPLY again once it is linked.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, desc, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.tables import dicom_object, measurement, report_state
from ris_ai_module.errors import ConfigError, InvalidInput, NotFound
from ris_ai_module.report import sr_sources, supersede, writer
from ris_ai_module.report.current import NEEDS_REVIEW, queue_deliveries
from ris_ai_module.report.display import ReportItem, report_items
from ris_ai_module.report.findings_kind import DocumentInfo
from ris_ai_module.report.images import exam_images
from ris_ai_module.report.images_apply import apply_images
from ris_ai_module.report.item_context import finding_columns
from ris_ai_module.services import Services, hooks_of
from ris_ai_module.sr.model import Measurement, ParsedSR
from ris_ai_module.sr.parse import parse_sr_file
from ris_ai_module.sr.provenance import Provenance, read_provenance
from ris_ai_module.tasks.deliveries import APPLIED as APPLIED_EVENT
from ris_ai_module.tasks.model import Attempt, Outcome, Task

log = logging.getLogger(__name__)

SR_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.88."


def apply_task(task: Task, ctx: Services) -> Outcome:
    """DONE when applied, pending or unlinked; FAILED when the SR cannot be read."""
    sop_uid = str(task.payload.get("sop_instance_uid") or "")
    exam_key = str(task.payload.get("exam_key") or "")
    if not sop_uid and not exam_key:
        return Outcome.failed("payload has no sop_instance_uid")
    try:
        # an image of the exam arrived or moved (target images): its rows alone, or the exam as a whole
        try:
            only_images = apply_images(ctx, exam_key) if not sop_uid and task.payload.get("images") else None
        except (IntegrityError, OperationalError) as exc:
            if isinstance(exc, OperationalError) and _is_config_problem(exc):
                return Outcome.failed(f"report.images: {_short(exc)}")
            # another image task of the exam wrote first (a key conflict, or a deadlock on the first rows): again
            return Outcome.retry(f"exam {exam_key}: image rows written meanwhile by another apply ({_short(exc)}); "
                                 "refreshing again")
        if only_images is not None:
            state, detail = only_images
        else:
            state, detail = apply_sr(ctx, sop_uid) if sop_uid else apply_exam(ctx, exam_key)
    except (NotFound, InvalidInput, ConfigError) as exc:
        return Outcome.failed(str(exc))
    log.info("SR %s: %s (%s)", sop_uid or f"of exam {exam_key}", state, detail,
             extra={"action": "sr_applied", "task_id": task.task_id})
    if not sop_uid and task.payload.get("images"):  # the trace says whether the rows were written, and why not
        return Outcome.done(Attempt(status_text=state, response=detail))
    return Outcome.done()


def storage_root(ctx: Services) -> Path:
    return Path(ctx.config.storage.root)


def apply_sr(ctx: Services, sop_uid: str) -> tuple[str, str]:
    """Apply one stored SR; returns (state, detail). Raises NotFound / InvalidInput for a bad object.

    A linked SR is applied as part of its exam: the report gets the exam's current values from all its SRs
    (:mod:`supersede`), so a second SR neither erases the first one's other keys nor loses to an older one.
    The hospital's ``after_apply`` hook hears of every result after its commit (see hooks.py).
    """
    state, detail = _apply_sr(ctx, sop_uid)
    hooks = hooks_of(ctx)
    if hooks.has("after_apply") and state not in ("UNLINKED", NEEDS_REVIEW):
        with ctx.engine.connect() as conn:
            exam_key = conn.execute(select(dicom_object.c.exam_key)
                                    .where(dicom_object.c.sop_instance_uid == sop_uid)).scalar()
        hooks.after_apply(exam_key or "", sop_uid, state, detail)
    return state, detail


def hook_items(items: Sequence[ReportItem]) -> dict[str, dict[str, Any]]:
    """Measurements as a hook sees them: key -> value, unit, names, display text (plain data, a copy)."""
    return {i.key: {"value": i.value, "unit": i.unit, "name_zh": i.name_zh, "name_en": i.name_en,
                    "display": i.display, "source_uid": i.source_uid} for i in items}


def _apply_sr(ctx: Services, sop_uid: str) -> tuple[str, str]:
    with ctx.engine.connect() as conn:
        obj = conn.execute(select(dicom_object).where(dicom_object.c.sop_instance_uid == sop_uid)).first()
    if obj is None:
        raise NotFound(f"object {sop_uid} is not in RAI_OBJECT")
    if obj.exam_key is None:
        read = read_sr(ctx, obj)
        with ctx.engine.begin() as conn:
            store_measurements(conn, sop_uid, None, read.parsed.measurements)
            sr_sources.save(conn, None, read.provenance)
        n = len(read.parsed.measurements)
        if obj.review_state == NEEDS_REVIEW:  # held by the link rules or the patient check, not merely unlinked
            found = f" (found exam {obj.review_exam_key})" if obj.review_exam_key else ""
            return NEEDS_REVIEW, (f"held for review{found}: {obj.review_reason or 'no reason recorded'}; "
                                  f"{n} measurements stored, nothing written until an operator decides")
        return "UNLINKED", f"{n} measurements stored; waiting for `link`"
    return apply_exam(ctx, obj.exam_key, trigger=sop_uid, first=read_sr(ctx, obj))


@dataclass(frozen=True)
class ReadSR:
    """One SR read for an apply: its measurements and its provenance."""

    sop_uid: str
    received_at: datetime
    parsed: ParsedSR
    provenance: Provenance

    def source(self) -> supersede.Source:
        p = self.provenance
        return supersede.Source(self.sop_uid, _as_dt(self.received_at), p.device_key, p.content_at, p.instance_at,
                                tuple(p.predecessors))


def read_sr(ctx: Services, obj: Any) -> ReadSR:
    """Parse a stored SR's file (InvalidInput when the file is missing or not DICOM), remembering the last
    reads: an exam's other SRs are read again at each apply, and a file does not change under its name."""
    path = storage_root(ctx) / obj.file_path
    purged = getattr(obj, "purged_at", None)
    if purged is not None:
        raise InvalidInput("file_path", f"the file of {obj.sop_instance_uid} was deleted by storage retention at "
                                        f"{purged:%Y-%m-%d %H:%M} UTC (storage.keep_for): send it again from the AI "
                                        "host (or the archive) to apply it")
    if not path.is_file():
        raise InvalidInput("file_path", f"the file of {obj.sop_instance_uid} is missing: {path}")
    overlay = ctx.config.sr.catalog_overlay or ""
    try:
        st, ost = path.stat(), (Path(overlay).stat().st_mtime_ns if overlay else 0)
    except OSError:
        st, ost = None, 0
    cache_key = (str(path), st.st_mtime_ns, st.st_size, overlay, ost, obj.sender_ae) if st else None
    if cache_key is not None and cache_key in _READ_CACHE:
        hit = _READ_CACHE[cache_key]
        return ReadSR(obj.sop_instance_uid, obj.received_at, hit.parsed, hit.provenance)
    read = _read_sr(ctx, obj, path)
    if cache_key is not None:
        if len(_READ_CACHE) >= _READ_CACHE_SIZE:
            _READ_CACHE.pop(next(iter(_READ_CACHE)))
        _READ_CACHE[cache_key] = read
    return read


#: The last SRs read (path, mtime, size, overlay) -> ReadSR; SRs are small (a few hundred KB of objects).
_READ_CACHE: dict[tuple[Any, ...], ReadSR] = {}
_READ_CACHE_SIZE = 256


def _read_sr(ctx: Services, obj: Any, path: Path) -> ReadSR:
    parsed = parse_sr_file(path, overlay_file=ctx.config.sr.catalog_overlay or None)
    unreadable = parsed.unreadable_reason()
    if unreadable is not None:  # never "APPLIED, 0 measurements": the task fails with the reason (issue 8)
        raise InvalidInput("sr", unreadable)
    prov = read_provenance(path)
    prov.sop_instance_uid = prov.sop_instance_uid or obj.sop_instance_uid
    if not prov.device_key and obj.sender_ae:
        prov.device_serial = f"AE {obj.sender_ae}"  # no device identity in the SR: one sender is one device
    return ReadSR(obj.sop_instance_uid, obj.received_at, parsed, prov)


def exam_srs(conn: Connection, exam_key: str) -> list[Any]:
    o = dicom_object
    return list(conn.execute(select(o).where(o.c.exam_key == exam_key, o.c.sop_class_uid.like(SR_CLASS_PREFIX + "%"))
                             .order_by(o.c.received_at, o.c.sop_instance_uid)))


def _nothing_to_write(conn: Connection, exam_key: str) -> str | None:
    """Why an exam without any SR gets nothing written, or None when its report holds values of the module (an
    SR that left the exam: the apply removes them). Without this, ``reapply --exam`` or an SR moved to another
    exam before anything was written created an empty report row in the RIS, the state APPLIED with 0 values,
    and a delivery of an empty result. A state left by an SR no longer linked here (HELD, FAILED, PENDING) is
    cleared: the exam has no result of the module to describe. APPLIED with no value stays: it is the version
    that withdrew the values of an SR that left, and its deliveries may still be due."""
    state = writer.get_state(conn, exam_key)
    if any(writer.previous_keys(state).values()):
        return None
    detail = "no SR linked to this exam and no value of the module in its report: nothing written"
    if state is not None and state.get("state") != writer.APPLIED:
        conn.execute(delete(report_state).where(report_state.c.exam_key == exam_key))
        detail += f"; the state {state.get('state')} left by SR {state.get('sop_instance_uid') or '-'} is cleared"
    return detail


def apply_exam(ctx: Services, exam_key: str, trigger: str | None = None, first: ReadSR | None = None) -> tuple[str, str]:
    """Write the exam's current values (all its SRs) into its report in one transaction.

    The triggering SR's RAI_MEASUREMENT rows are rewritten; the other SRs' rows only get their marks
    (report key, superseded by) updated where they changed — so an exam with many SRs costs one parse and a
    few updates per apply, not a rewrite of everything. Without a trigger (``reapply``, a moved SR) every SR's
    rows are rewritten: the mapping may have changed."""
    reads: dict[str, ReadSR] = {first.sop_uid: first} if first else {}
    with ctx.engine.connect() as conn:
        objs = exam_srs(conn, exam_key)
    _refuse_purged(objs)
    _read_missing(ctx, objs, reads)
    cfg = ctx.config.report
    try:
        with ctx.engine.begin() as conn:
            exists, status = writer.report_status(conn, cfg, exam_key, lock=True)
            objs = exam_srs(conn, exam_key)  # again, under the report lock: an SR stored meanwhile counts
            if not objs:
                nothing = _nothing_to_write(conn, exam_key)
                if nothing is not None:
                    return writer.SKIPPED, nothing
            _refuse_purged(objs)
            _read_missing(ctx, objs, reads)
            current = [reads[o.sop_instance_uid] for o in objs if o.sop_instance_uid in reads]
            items_by_sr = {r.sop_uid: report_items(cfg, r.parsed.measurements, r.sop_uid) for r in current}
            res = supersede.resolve([r.source() for r in current], items_by_sr)
            stored = _stored_sops(conn, exam_key) if trigger else set()
            for r in current:
                if trigger is None or r.sop_uid == trigger or r.sop_uid not in stored:
                    store_measurements(conn, r.sop_uid, exam_key, r.parsed.measurements, items_by_sr[r.sop_uid], res)
                    sr_sources.save(conn, exam_key, r.provenance)
                else:
                    _update_marks(conn, r, items_by_sr[r.sop_uid], res)
            state = writer.get_state(conn, exam_key)
            newest = supersede.newest([r.source() for r in current], res)
            source_uid = newest or trigger or ""
            hooks = hooks_of(ctx)
            held = hooks.may_write_report(exam_key, hook_items(res.items))  # None: may be written
            if held is not None and writer.blocked_reason(cfg, exists, status) is None:
                writer.save_state(conn, exam_key, source_uid or None, writer.HELD, held)
                return writer.HELD, held
            render = ((lambda by_key, text: hooks.render_findings(hook_items(list(by_key.values())), text))
                      if hooks.has("render_findings") else None)
            trigger_read = reads.get(trigger or "") or (current[-1] if current else None)
            images = None
            if "images" in cfg.targets and writer.blocked_reason(cfg, exists, status) is None:
                # only now, for a report about to be written: no JPEG of a held or pending result
                images = exam_images(conn, cfg.images, storage_root(ctx), exam_key,
                                     [(r.sop_uid, r.parsed) for r in current if r.sop_uid not in res.revised_by])
            result = writer.write_report(
                conn, cfg, exam_key, res.items, source_uid, writer.previous_keys(state), exists, status, render,
                document=DocumentInfo.of(trigger_read.parsed) if trigger_read else None,
                provenance={r.sop_uid: r.provenance.model_label for r in current}, images=images,
            )
            written = result.written if result.state == writer.APPLIED else None
            if len(current) > 1:
                result.detail += f" (current values of {len(current)} SRs)"
            writer.save_state(conn, exam_key, source_uid or None, result.state, result.detail, written)
            if result.state == writer.APPLIED:  # outbound deliveries of this result (never of a held one)
                queue_deliveries(ctx, conn, exam_key, APPLIED_EVENT)
            return result.state, result.detail
    except (DBAPIError, ConfigError) as exc:
        if isinstance(exc, IntegrityError) or isinstance(exc, OperationalError) and not _is_config_problem(exc):
            raise  # the worker retries: a database outage, a deadlock, two applies creating one report row
        _record_failure(ctx, exam_key, trigger, exc)
        raise InvalidInput("report", _short(exc)) from exc


def _stored_sops(conn: Connection, exam_key: str) -> set[str]:
    m = measurement
    return set(conn.execute(select(m.c.sop_instance_uid).distinct().where(m.c.exam_key == exam_key)).scalars())


def _update_marks(conn: Connection, r: ReadSR, items: Sequence[ReportItem], res: supersede.Resolution) -> None:
    """Set report_key / superseded_by of an SR's stored rows where they differ from the resolution."""
    m = measurement
    keys = _report_keys(r.parsed.measurements, items)
    want = {}
    for i, meas in enumerate(r.parsed.measurements):
        key = keys.get(i)
        want[_cut(meas.path, 100)] = (_cut(key, 64), res.superseded_by(r.sop_uid, key))
    rows = conn.execute(select(m.c.measurement_id, m.c.item_path, m.c.report_key, m.c.superseded_by)
                        .where(m.c.sop_instance_uid == r.sop_uid)).all()
    for row in rows:
        target = want.get(row.item_path)
        if target is not None and (row.report_key, row.superseded_by) != target:
            conn.execute(update(m).where(m.c.measurement_id == row.measurement_id)
                         .values(report_key=target[0], superseded_by=target[1]))


def _refuse_purged(objs: Sequence[Any]) -> None:
    """An exam with an SR whose file storage retention deleted is not written: without that SR's values the
    report would lose them (the first rule). The SR must be sent again first."""
    for obj in objs:
        purged = getattr(obj, "purged_at", None)
        if purged is not None:
            raise InvalidInput("file_path", f"SR {obj.sop_instance_uid} of exam {obj.exam_key} was deleted by storage "
                                            f"retention at {_as_dt(purged):%Y-%m-%d %H:%M} UTC (storage.keep_for): "
                                            "send it again from the AI host (or the archive) before the exam is applied")


def _read_missing(ctx: Services, objs: Sequence[Any], reads: dict[str, ReadSR]) -> None:
    """Read the SRs not read yet; one that cannot be read is left out (its own apply failed and says why)."""
    for obj in objs:
        if obj.sop_instance_uid in reads:
            continue
        try:
            reads[obj.sop_instance_uid] = read_sr(ctx, obj)
        except (InvalidInput, NotFound) as exc:
            log.warning("SR %s of exam %s left out: %s", obj.sop_instance_uid, obj.exam_key, exc)


def store_measurements(
    conn: Connection, sop_uid: str, exam_key: str | None, found: Sequence[Measurement],
    items: Sequence[ReportItem] = (), resolution: supersede.Resolution | None = None,
) -> None:
    """Replace this SR's rows: all measurements, mapped or not, with context, so nothing is dropped; each
    with the key it has in the report and, when another SR's value is current, that SR."""
    conn.execute(delete(measurement).where(measurement.c.sop_instance_uid == sop_uid))
    now = utcnow()
    report_key = _report_keys(found, items)
    rows = []
    for i, m in enumerate(found):
        key = report_key.get(i)
        over = resolution.superseded_by(sop_uid, key) if resolution is not None else None
        rows.append({
            "sop_instance_uid": sop_uid, "exam_key": exam_key, "item_key": m.key,
            "name_zh": _cut(m.name_zh, 100), "name_en": _cut(m.name_en, 200), "num_value": m.value,
            "unit": _cut(m.unit, 32), "raw_value": _cut(m.raw_value, 64), "raw_unit": _cut(m.raw_unit, 32),
            "concept_scheme": _cut(m.concept.scheme, 16), "concept_code": _cut(m.concept.code, 32),
            "concept_meaning": _cut(m.concept.meaning, 200),
            "context": json.dumps(_context_json(m), ensure_ascii=False, default=str),
            "selected": 1 if m.selected else 0, "item_path": _cut(m.path, 100), "created_at": now,
            "report_key": _cut(key, 64), "superseded_by": over,
            **finding_columns(m),
        })
    if rows:
        conn.execute(insert(measurement), rows)


def _context_json(m: Measurement) -> dict[str, Any]:
    """What RAI_MEASUREMENT.CONTEXT keeps: context and modifiers, and (issue 8) why a value is held and
    which measurement a derived value belongs to, so the trace shows why a value was not reported."""
    out: dict[str, Any] = {"context": m.context, "modifiers": m.modifiers}
    if m.hold:
        out["hold"] = m.hold
    if m.derived_from is not None:
        out["derived_from"] = m.derived_from
    return out


def _report_keys(found: Sequence[Measurement], items: Sequence[ReportItem]) -> dict[int, str]:
    """Measurement index -> its report key. Each item comes from one selected measurement with the same key,
    value and unit (report_items may drop or rename some: a pairing by position would drift)."""
    free: dict[tuple[str, float, str], list[str]] = {}
    for item in items:
        free.setdefault((item.base_key, item.value, item.unit), []).append(item.key)
    out: dict[int, str] = {}
    for i, m in enumerate(found):
        if not (m.selected and m.key and m.value is not None and m.unit):
            continue
        keys = free.get((str(m.key), float(m.value), str(m.unit)))
        if keys:
            out[i] = keys.pop(0)
    return out


def newest_sr(conn: Connection, exam_key: str) -> str | None:
    """The most recently received SR of an exam (what ``apply EXAM_KEY`` re-applies)."""
    o = dicom_object
    stmt = (
        select(o.c.sop_instance_uid)
        .where(o.c.exam_key == exam_key, o.c.sop_class_uid.like(SR_CLASS_PREFIX + "%"))
        .order_by(desc(o.c.received_at), desc(o.c.sop_instance_uid))
        .limit(1)
    )
    return conn.execute(stmt).scalar()


def _as_dt(value: Any) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _record_failure(ctx: Services, exam_key: str, sop_uid: str | None, exc: Exception) -> None:
    try:
        with ctx.engine.begin() as conn:
            writer.save_state(conn, exam_key, sop_uid, writer.FAILED, _short(exc))
    except DBAPIError:
        log.warning("could not record the failed apply of %s", sop_uid)


#: MySQL/MariaDB errors raised as OperationalError that mean a wrong name in [report], not an outage:
#: unknown column, unknown table, unknown procedure, wrong argument count, syntax.
_MYSQL_CONFIG_ERRORS = frozenset({1054, 1146, 1305, 1318, 1064})


def _is_config_problem(exc: OperationalError) -> bool:
    """SQLite and MySQL report a missing table or column as OperationalError: a config error, not an outage."""
    args = getattr(exc.orig, "args", ())
    if args and isinstance(args[0], int) and args[0] in _MYSQL_CONFIG_ERRORS:
        return True
    text = str(exc.orig)
    return "no such table" in text or "no such column" in text or "has no column" in text


def _short(exc: Exception) -> str:
    if isinstance(exc, DBAPIError):
        return f"{type(exc.orig).__name__}: {str(exc.orig).strip().splitlines()[0][:400]}"
    return str(exc)[:400]


def _cut(value: str | None, n: int) -> str | None:
    return None if value is None else value[:n]
