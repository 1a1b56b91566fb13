"""Report subcommands: where each exam's report stands, and applying an exam's newest SR by hand."""

from __future__ import annotations

import argparse

from ris_ai_module.cli.session import open_context


def cmd_reports(args: argparse.Namespace) -> int:
    from ris_ai_module.cli.output import as_json, table
    from ris_ai_module.report.states import list_states

    engine = open_context(args).engine
    try:
        with engine.connect() as conn:
            rows = list_states(conn, state="PENDING" if args.pending else args.state, exam_key=args.exam,
                               limit=args.limit)
    finally:
        engine.dispose()
    if args.json:
        print(as_json(rows))
    else:
        print(table(rows, ["exam_key", "state", "updated_at", "sop_instance_uid", "detail"]))
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    """Re-apply the newest SR of an exam now, in this process (same path as the worker's SR_APPLY)."""
    from ris_ai_module.errors import NotFound
    from ris_ai_module.report.apply import apply_sr, newest_sr

    ctx = open_context(args)
    try:
        with ctx.engine.connect() as conn:
            sop = newest_sr(conn, args.exam_key)
        if sop is None and "images" in ctx.config.report.targets:  # images alone: their rows (report/images_apply)
            from ris_ai_module.report.images_apply import IMAGES, apply_images

            answer = apply_images(ctx, args.exam_key)
            if answer is None:  # values of an SR that left the exam are still there: the exam as a whole
                from ris_ai_module.report.apply import apply_exam

                answer = apply_exam(ctx, args.exam_key)
            state, detail = answer
            print(f"{args.exam_key}: {state} ({detail})")
            return 0 if state in ("APPLIED", "PENDING", IMAGES) else 1
        if sop is None:
            raise NotFound(f"exam {args.exam_key} has no SR in RAI_OBJECT")
        state, detail = apply_sr(ctx, sop)
    finally:
        ctx.engine.dispose()
    print(f"{args.exam_key}: {state} ({detail})")
    return 0 if state in ("APPLIED", "PENDING") else 1


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("reports", help="report write state per exam; --pending: not yet writable / 报告写入状态")
    p.add_argument("--pending", action="store_true", help="only reports waiting to become writable (e.g. signed)")
    p.add_argument("--state", choices=["APPLIED", "PENDING", "HELD", "FAILED", "IMAGES"],
                   help="only this state (IMAGES: image rows written, no SR applied yet)")
    p.add_argument("--exam", metavar="EXAM_KEY", help="only this exam")
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--json", action="store_true", help="JSON instead of a table")
    p.set_defaults(func=cmd_reports)
    p = sub.add_parser("apply", help="write the newest SR of an exam into its report now / 重新写入报告")
    p.add_argument("exam_key", metavar="EXAM_KEY")
    p.set_defaults(func=cmd_apply)
