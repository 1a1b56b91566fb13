"""``acceptance --config FILE --exam KEY [--dry-run] [--out DIR] | --cleanup``: the on-site acceptance kit."""

from __future__ import annotations

import argparse
from pathlib import Path

from ris_ai_module.cli.core import need_config
from ris_ai_module.errors import ConfigError


def cmd_acceptance(args: argparse.Namespace) -> int:
    cfg = need_config(args)
    out = Path(args.out)
    if args.cleanup:
        from ris_ai_module.acceptance.cleanup import cleanup
        from ris_ai_module.db.engine import make_engine

        engine = make_engine(cfg.database)
        try:
            cleanup(engine, cfg, out)
        finally:
            engine.dispose()
        return 0
    if not args.exam:
        raise ConfigError("--exam", "the test exam's EXAM_KEY (a test patient the hospital registered for this)")
    from ris_ai_module.acceptance.record import write_record
    from ris_ai_module.acceptance.runner import Run, run_acceptance

    run = Run(cfg, str(args.config), args.exam, out, dry_run=args.dry_run, calling_aet=args.calling_aet or "",
              timeout=args.timeout, say=lambda line: print(line, flush=True))
    print(f"验收测试 acceptance {run.run_id}: test exam {args.exam}{' (dry run)' if args.dry_run else ''}", flush=True)
    try:
        status = run_acceptance(run)
    finally:
        html_path, md_path = write_record(run)
    print(f"记录 record: {html_path}  {md_path}")
    if status:
        print(f"FAILED: {', '.join(i.key for i in run.failed)}")
        print(f"清除测试数据 remove the test data: ris-ai-module --config {args.config} acceptance --cleanup --out {out}")
    else:
        print("ALL PASSED")
    return status


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("acceptance", help="on-site acceptance checklist with a signed record / 现场验收测试")
    p.add_argument("--exam", metavar="EXAM_KEY", help="the test exam (a clearly named test patient)")
    p.add_argument("--dry-run", action="store_true", help="write no RIS table (the report item is skipped)")
    p.add_argument("--out", default="acceptance", metavar="DIR", help="record and journal folder (default ./acceptance)")
    p.add_argument("--cleanup", action="store_true", help="remove what earlier runs in --out wrote, and exit")
    p.add_argument("--calling-aet", help="AE title the test C-STOREs use (default: the first [[dicom.peers]] AE)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per network step (default 30)")
    p.set_defaults(func=cmd_acceptance)
