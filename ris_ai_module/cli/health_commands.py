"""Health subcommands: ``health-report``, ``checks`` (recent results), ``check-now`` (every check once)."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, timedelta

from ris_ai_module.cli.session import need_config, open_context
from ris_ai_module.errors import InvalidInput


def _date(field: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(field, f"expected a date like 2026-11-27, got {text!r}") from None


def cmd_health_report(args: argparse.Namespace) -> int:
    """The IT report of [--since, --until] (local dates, --until inclusive); default: yesterday."""
    from ris_ai_module.db.clock import display_zone
    from ris_ai_module.health.render import render
    from ris_ai_module.health.report import gather, previous_day

    cfg = need_config(args)
    zone = display_zone(cfg.module.timezone)
    since = _date("--since", args.since) if args.since else None
    until = _date("--until", args.until) if args.until else None
    if since is None and until is None:
        since = until = previous_day(zone=zone)
    elif since is None:
        since = until
    elif until is None:
        until = datetime.now(zone).date()
    assert since is not None and until is not None
    if until < since:
        raise InvalidInput("--until", f"{until} is before --since {since}")
    from ris_ai_module.health.current import configured_targets

    engine = open_context(args).engine
    try:
        with engine.connect() as conn:
            data = gather(conn, since, until + timedelta(days=1), cfg.module.hospital_name, cfg.module.instance_name,
                          result_within=float(cfg.review.result_within), fail_threshold=cfg.alerts.fail_threshold,
                          targets=configured_targets(cfg), storage=cfg.storage, zone=zone, archive=cfg.archive)
    finally:
        engine.dispose()
    sys.stdout.write(render(data, args.format))
    return 0


def cmd_checks(args: argparse.Namespace) -> int:
    from ris_ai_module.cli.output import as_json, table
    from ris_ai_module.db.clock import display_zone, shown
    from ris_ai_module.health import store

    ctx = open_context(args)
    zone, engine = display_zone(ctx.config.module.timezone), ctx.engine
    try:
        with engine.connect() as conn:
            rows = store.recent(conn, target=args.target, limit=args.limit)
    finally:
        engine.dispose()
    for r in rows:
        r["checked_at"] = shown(r["checked_at"], zone)
        r["ok"] = "OK" if r["ok"] else "FAIL"
    if args.json:
        print(as_json(rows))
    else:
        print(table(rows, ["checked_at", "target", "kind", "ok", "latency_ms", "error", "detail"]))
    return 0


def cmd_check_now(args: argparse.Namespace) -> int:
    """Run every configured check once, record the results, print them; exit 1 when any failed."""
    from ris_ai_module.cli.output import table
    from ris_ai_module.health.runner import KINDS, run_round

    ctx = open_context(args)
    try:
        results = [r for kind in KINDS for r in run_round(ctx, kind)]
    finally:
        ctx.engine.dispose()
    rows = [{"target": r.target, "kind": r.kind, "ok": "OK" if r.ok else "FAIL",
             "latency_ms": None if r.latency_ms is None else f"{r.latency_ms:.1f}",
             "error / detail": r.error or r.detail} for r in results]
    print(table(rows, ["target", "kind", "ok", "latency_ms", "error / detail"]) if rows else "no checks configured")
    failed = [r for r in results if not r.ok]
    if failed:
        print(f"{len(failed)} of {len(results)} checks failed", file=sys.stderr)
        return 1
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("health-report", help="IT report for a period (default: yesterday) / 运维报告")
    p.add_argument("--since", metavar="DATE", help="first day, local (YYYY-MM-DD)")
    p.add_argument("--until", metavar="DATE", help="last day, local, inclusive (default: today when --since is given)")
    p.add_argument("--format", choices=["text", "html", "csv"], default="text")
    p.set_defaults(func=cmd_health_report)

    p = sub.add_parser("checks", help="recent health check results / 最近的健康检查结果")
    p.add_argument("--target", help="only this target (peer name, HTTP check name, queue:backlog, ...)")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_checks)

    p = sub.add_parser("check-now", help="run every health check once; non-zero exit if any failed / 立即检查")
    p.set_defaults(func=cmd_check_now)
