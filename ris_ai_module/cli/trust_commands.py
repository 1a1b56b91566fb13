"""What reached a report and why: ``exam KEY``, ``unmapped``, ``reapply``, and ``parse-sr --preview``."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from ris_ai_module.cli.core import need_config
from ris_ai_module.errors import InvalidInput, NotFound


def _since(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput("--since", f"expected a date like 2026-11-27, got {text!r}") from None


def cmd_exam(args: argparse.Namespace) -> int:
    """One exam: report state, the SRs with provenance, every value with its source (current first)."""
    from ris_ai_module.cli.output import as_json, cell, table, zone
    from ris_ai_module.db.clock import shown
    from ris_ai_module.db.engine import make_engine
    from ris_ai_module.db.ris import get_exam
    from ris_ai_module.report.trace_view import exam_measurements, exam_sources
    from ris_ai_module.report.writer import get_state

    engine = make_engine(need_config(args).database)
    try:
        with engine.connect() as conn:
            exam = get_exam(conn, args.exam_key)
            if exam is None:
                raise NotFound(f"exam {args.exam_key} is not in RAI_V_EXAM")
            state = get_state(conn, args.exam_key)
            sources = exam_sources(conn, args.exam_key)
            measures = exam_measurements(conn, args.exam_key)
    finally:
        engine.dispose()
    if args.json:
        print(as_json({"exam": exam.__dict__, "report": state, "sources": sources, "measurements": measures}))
        return 0
    print(f"检查 Exam {exam.exam_key}  {exam.patient_name or ''}  {exam.patient_id or ''}  {exam.accession_no or ''}  "
          f"{cell(exam.exam_date)}  {exam.exam_items or ''}")
    print(f"报告 Report: {state['state'] + ' - ' + (state['detail'] or '') if state else '-'}")
    print("\nAI 结果来源 SRs (AI values awaiting the doctor's confirmation / AI 测量值，待医生确认)")
    # the SR's own content time as the device wrote it, else when the module received it (UTC, shown labelled)
    print(table([{**s, "sr": s["short_uid"], "time": s["content_at"] or shown(s["received_at"], zone()),
                  "device": " ".join(x for x in (s["manufacturer"], s["model"], s["device_serial"]) if x),
                  "algorithm": " ".join(x for x in (s["algorithm_name"], s["algorithm_version"]) if x),
                  "revises": ", ".join("…" + u[-12:] for u in s["predecessors"])} for s in sources],
                ["sr", "time", "device", "software_versions", "algorithm", "revises"]) if sources else "  (none)")
    names = {"current": "当前 current", "superseded": "已取代 superseded", "unmapped": "未映射 unmapped",
             "not reported": "未采用 not used"}
    rows = [{"item": m["key"] or f"{m['concept_scheme']}:{m['concept_code']}", "name": m["name"],
             "value": m["value_display"], "unit": m["unit_display"], "state": names[m["state"]]
             + (f" → {m['superseded_short']}" if m["superseded_short"] else ""),
             "source": f"{m['source_short']} {cell(m['source_time'])}",
             "context": "" if m["mapped"] else m["context_text"]} for m in measures
            if args.all or m["state"] != "not reported"]
    print("\n测量值 Measurements")
    print(table(rows, ["item", "name", "value", "unit", "state", "source", "context"]) if rows else "  (none)")
    return 0


def cmd_unmapped(args: argparse.Namespace) -> int:
    from ris_ai_module.cli.output import table
    from ris_ai_module.db.engine import make_engine
    from ris_ai_module.report.unmapped import overlay_csv, to_json_rows, unmapped_concepts

    engine = make_engine(need_config(args).database)
    try:
        with engine.connect() as conn:
            found = unmapped_concepts(conn, since=_since(args.since), limit=args.limit)
    finally:
        engine.dispose()
    if args.as_overlay:
        target = Path(args.as_overlay)
        if target.exists() and not args.force:
            raise InvalidInput("--as-overlay", f"{target} exists (add --force to overwrite)")
        target.write_text(overlay_csv(found), encoding="utf-8")
        print(f"{len(found)} draft row(s) written to {target}: fill in the key column, then set sr.catalog_overlay "
              "and run `ris-ai-module reapply`")
        return 0
    if args.json:
        print(to_json_rows(found))
        return 0
    rows = [{"concept": f"{u.scheme}:{u.code}", "meaning": u.meaning, "unit": u.unit, "seen": u.count,
             "exams": ", ".join(u.exams[:5]) + (" …" if len(u.exams) > 5 else ""),
             "examples": ", ".join(u.examples), "context": u.contexts[0] if u.contexts else ""} for u in found]
    print(table(rows, ["concept", "meaning", "unit", "seen", "exams", "examples", "context"])
          if rows else "no unmapped measurements")
    return 0


def cmd_reapply(args: argparse.Namespace) -> int:
    """Re-apply exams after a mapping change: writable reports are written again, signed ones only listed."""
    from sqlalchemy import select

    from ris_ai_module.context import make_context
    from ris_ai_module.db.ris import get_exam
    from ris_ai_module.db.tables import dicom_object
    from ris_ai_module.report.apply import SR_CLASS_PREFIX, apply_exam
    from ris_ai_module.report.writer import blocked_reason, report_status

    ctx = make_context(need_config(args))
    applied = held = failed = 0
    try:
        with ctx.engine.connect() as conn:
            if args.exam:
                if get_exam(conn, args.exam) is None:
                    raise NotFound(f"exam {args.exam} is not in RAI_V_EXAM")
                keys = [args.exam]
            else:
                o = dicom_object
                stmt = select(o.c.exam_key).distinct().where(o.c.exam_key.is_not(None),
                                                             o.c.sop_class_uid.like(SR_CLASS_PREFIX + "%"))
                since = _since(args.since)
                if since is not None:
                    stmt = stmt.where(o.c.received_at >= since)
                keys = sorted(str(k) for k in conn.execute(stmt).scalars())
            blocked = {k: blocked_reason(ctx.config.report, *report_status(conn, ctx.config.report, k)) for k in keys}
        for key in keys:
            if blocked[key]:
                print(f"{key}: not touched ({blocked[key]})")
                held += 1
                continue
            try:
                state, detail = apply_exam(ctx, key)
            except (InvalidInput, NotFound) as exc:
                print(f"{key}: FAILED ({exc})", file=sys.stderr)
                failed += 1
                continue
            print(f"{key}: {state} ({detail})")
            applied += state == "APPLIED"
    finally:
        ctx.engine.dispose()
    print(f"{applied} re-applied, {held} not writable (listed), {failed} failed")
    return 1 if failed else 0


def preview_files(args: argparse.Namespace) -> int:
    """``parse-sr FILE --preview``: the dry run of each file (needs --config)."""
    import json

    from ris_ai_module.context import make_context
    from ris_ai_module.report.preview import preview_file, to_text

    ctx = make_context(need_config(args))
    status = 0
    try:
        for name in args.files:
            path = Path(name)
            if not path.is_file():
                print(f"{name}: not a file", file=sys.stderr)
                status = 1
                continue
            try:
                answer = preview_file(ctx, path, exam_key=args.exam)
            except InvalidInput as exc:
                print(f"{name}: {exc.reason}", file=sys.stderr)
                status = 1
                continue
            print(json.dumps(answer, ensure_ascii=False, indent=2, default=str) if args.json else to_text(answer))
    finally:
        ctx.engine.dispose()
    return status


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("exam", help="one exam: SRs with provenance, every value with its source / 检查测量值追踪")
    p.add_argument("exam_key", metavar="EXAM_KEY")
    p.add_argument("--all", action="store_true", help="also measurements that were not reported")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_exam)

    p = sub.add_parser("unmapped", help="measurements the catalog does not know, to map once / 未映射测量项")
    p.add_argument("--since", metavar="DATE", help="only measurements read since DATE (YYYY-MM-DD)")
    p.add_argument("--limit", type=int, default=200)
    p.add_argument("--as-overlay", metavar="FILE", help="write them as draft rows of a hospital overlay CSV")
    p.add_argument("--force", action="store_true", help="with --as-overlay: overwrite FILE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_unmapped)

    p = sub.add_parser("reapply", help="after a mapping change: re-apply writable reports, list signed ones / 重新写入")
    p.add_argument("--since", metavar="DATE", help="exams with SRs received since DATE (YYYY-MM-DD)")
    p.add_argument("--exam", metavar="EXAM_KEY", help="only this exam")
    p.set_defaults(func=cmd_reapply)
