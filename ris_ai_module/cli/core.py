"""Core subcommands: configuration, database set-up, the demo, ``run``, and the task queue by hand."""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

from ris_ai_module.cli.session import config_file, need_config, open_context
from ris_ai_module.tasks.model import OutcomeKind, TaskStatus

Sub = "argparse._SubParsersAction[argparse.ArgumentParser]"


def cmd_config_check(args: argparse.Namespace) -> int:
    from ris_ai_module.db.engine import check_url
    from ris_ai_module.housekeeping import retention_summary

    cfg = need_config(args)
    url = check_url(cfg.database.url)  # dialect known, driver installed
    print(f"OK: {config_file(args)}")
    print(f"  database: {url.get_backend_name()}+{url.get_driver_name()}   exam detection: {cfg.ris.detect}   "
          f"push: {cfg.push.url or '-'}")
    print(f"  {retention_summary(cfg)}")
    if cfg.http.enabled:
        from ris_ai_module.web.soap_support import soap_summary

        print(f"  {soap_summary()}")
    if not getattr(args, "db", False):
        return 0
    from ris_ai_module.cli.db_check import check_database
    from ris_ai_module.db.engine import make_engine

    engine = make_engine(cfg.database)
    try:
        lines = check_database(engine, cfg)
    finally:
        engine.dispose()
    for line in lines:
        print(line)
    return 0 if all(line.ok for line in lines) else 1


def cmd_config_example(args: argparse.Namespace) -> int:
    sys.stdout.write(resources.files("ris_ai_module.config").joinpath("example.toml").read_text(encoding="utf-8"))
    return 0


def cmd_init_db(args: argparse.Namespace) -> int:
    from ris_ai_module.db import migrate

    engine = open_context(args).engine
    migrate.upgrade(engine)
    print(f"RAI_* tables at revision {migrate.current(engine)}")
    return 0


def check_demo_args(args: argparse.Namespace) -> None:
    """Every init-demo argument checked before anything is written (a half-written demo helps nobody)."""
    from urllib.parse import urlsplit

    from ris_ai_module.errors import InvalidInput

    for option, port in (("--dicom-port", args.dicom_port), ("--http-port", args.http_port)):
        if not 1 <= port <= 65535:
            raise InvalidInput(option, f"{port} is not a TCP port (1-65535)")
    if args.dicom_port == args.http_port:
        raise InvalidInput("--http-port", f"{args.http_port} is also the --dicom-port: give two different ports")
    url = urlsplit(args.ai_url)
    try:
        url.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise InvalidInput("--ai-url", f"{args.ai_url!r}: {exc}") from exc
    if url.scheme not in ("http", "https") or not url.hostname:
        raise InvalidInput("--ai-url", f"{args.ai_url!r} is not an http:// or https:// URL with a host")


def cmd_init_demo(args: argparse.Namespace) -> int:
    from ris_ai_module.archive.demo import demo_section as archive_section
    from ris_ai_module.demo import write_demo
    from ris_ai_module.fhir.demo import demo_section as fhir_section
    from ris_ai_module.results.demo import demo_sections

    check_demo_args(args)
    try:
        sections = demo_sections(outbox=args.outbox or "", hl7=args.hl7 or "") + fhir_section(args.fhir or "")
        sections += archive_section(args.archive or "", commitment=bool(getattr(args, "archive_commitment", False)))
        path = write_demo(Path(args.dir), args.dicom_port, args.http_port, args.ai_url, force=args.force,
                          extra_sections=sections)
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"demo written: {path}\nstart it with: ris-ai-module --config {path} run")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from ris_ai_module.runtime import run

    return run(need_config(args), config_file=config_file(args))


def cmd_push(args: argparse.Namespace) -> int:
    """Push one exam now: a new task (new idempotency key: a deliberate re-delivery), run in this process."""
    import getpass

    from ris_ai_module.hooks import NO_HOOKS
    from ris_ai_module.push.handler import ExamPushHandler, request_push
    from ris_ai_module.tasks import queue

    ctx = open_context(args)
    with ctx.engine.begin() as conn:
        task_id = request_push(conn, args.exam_key, by=f"cli:{getpass.getuser()}")
    if args.queue_only:
        print(f"task {task_id} queued")
        return 0
    claimed = queue.claim(ctx.engine, ctx.owner, float(ctx.config.worker.lease), 1, task_ids=[task_id])
    if not claimed:
        print(f"task {task_id} queued; a running worker took it first")
        return 0
    handler = ExamPushHandler(ctx.engine, ctx.config.push, ctx.hooks or NO_HOOKS)
    outcome = handler.handle(claimed[0])
    queue.record_outcomes(ctx.engine, ctx.owner, [queue.Finished(claimed[0], outcome, claimed[0].created_at)],
                          lambda _kind: handler.retry_policy)
    print(f"task {task_id}: {outcome.kind.value}" + (f" HTTP {outcome.http_status}" if outcome.http_status else "")
          + (f" - {outcome.error}" if outcome.error else ""))
    return 0 if outcome.kind is OutcomeKind.DONE else 1


def cmd_tasks(args: argparse.Namespace) -> int:
    from ris_ai_module.cli.output import as_json, table
    from ris_ai_module.tasks import queue

    engine = open_context(args).engine
    with engine.connect() as conn:
        rows = queue.list_tasks(conn, status=args.status, kind=args.kind, exam_key=args.exam, limit=args.limit)
    if args.json:
        print(as_json(rows))
    else:
        print(table(rows, ["task_id", "kind", "status", "exam_key", "attempts", "next_run_at", "updated_at", "last_error"]))
    return 0


def cmd_task(args: argparse.Namespace) -> int:
    from ris_ai_module.cli.output import as_json, column_cell, table
    from ris_ai_module.tasks import queue

    engine = open_context(args).engine
    with engine.connect() as conn:
        row = queue.get_task(conn, args.task_id)
        attempts = queue.attempts_of(conn, args.task_id)
    if args.json:
        print(as_json({"task": row, "attempts": attempts}))
        return 0
    for key, value in row.items():  # *_at in module.timezone, labelled (cli/output.column_cell)
        print(f"{key:18} {column_cell(key, value)}")
    print()
    print(table(attempts, ["attempt_no", "started_at", "outcome", "status_text", "latency_ms", "target", "worker",
                           "error"]))
    for a in attempts:  # what the AI host answered, bounded: the reason a push failed is usually in it
        body = (a.get("response_body") or "").strip()
        if body:
            shown = " ".join(body.split())
            print(f"\nattempt {a['attempt_no']} reply ({a.get('status_text') or a.get('http_status') or '-'}): "
                  f"{shown[:REPLY_SHOWN]}{' …' if len(shown) > REPLY_SHOWN else ''}")
    return 0


#: Characters of an AI host's reply shown per attempt by `task ID` (the whole stored body: --json).
REPLY_SHOWN = 1000


def cmd_retry(args: argparse.Namespace) -> int:
    from ris_ai_module.tasks import queue

    engine = open_context(args).engine
    with engine.begin() as conn:
        queue.requeue(conn, args.task_id)
    print(f"task {args.task_id} scheduled again")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("config", help="check or print the configuration / 检查配置")
    csub = p.add_subparsers(dest="config_command", metavar="check|example")
    c = csub.add_parser("check", help="validate a configuration file; non-zero exit on error")
    c.add_argument("config_file", nargs="?", metavar="FILE", help="the file (default: --config)")
    c.add_argument("--db", action="store_true",
                   help="also connect: module tables, RAI_V_EXAM's columns, detection mode / 连接数据库检查")
    c.set_defaults(func=cmd_config_check)
    c = csub.add_parser("example", help="print the documented example configuration")
    c.set_defaults(func=cmd_config_example)

    p = sub.add_parser("init-db", help="create or upgrade the RAI_* tables (Alembic) / 建表或升级")
    p.set_defaults(func=cmd_init_db)

    p = sub.add_parser("init-demo", help="write a working demo: config, SQLite demo RIS, storage / 生成演示环境")
    p.add_argument("dir")
    p.add_argument("--dicom-port", type=int, default=11112)
    p.add_argument("--http-port", type=int, default=8080)
    p.add_argument("--ai-url", default="http://127.0.0.1:8090/api/exams")
    p.add_argument("--force", action="store_true", help="overwrite an existing demo")
    p.add_argument("--outbox", metavar="DIR", help="write each exam's result as JSON/CSV/XML here / 结果文件目录")
    p.add_argument("--hl7", metavar="HOST:PORT", help="send ORU^R01 over MLLP to HOST:PORT / HL7 结果消息")
    p.add_argument("--fhir", metavar="URL", help="post each result as a FHIR R4 Bundle to URL / FHIR 结果")
    p.add_argument("--archive", metavar="AET@HOST:PORT", help="forward stored objects to this PACS archive / 转发归档")
    p.add_argument("--archive-commitment", action="store_true",
                   help="also ask that archive for Storage Commitment of each object / 请求归档存储确认")
    p.set_defaults(func=cmd_init_demo)

    p = sub.add_parser("run", help="run everything in one process until SIGINT/SIGTERM / 运行")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("push", help="push one exam to the AI host now / 手工推送检查")
    p.add_argument("exam_key")
    p.add_argument("--queue-only", action="store_true", help="only queue it for the running worker")
    p.set_defaults(func=cmd_push)

    p = sub.add_parser("tasks", help="list tasks / 任务列表")
    p.add_argument("--status", choices=[s.value for s in TaskStatus])
    p.add_argument("--kind")
    p.add_argument("--exam", help="EXAM_KEY")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tasks)

    p = sub.add_parser("task", help="one task with every attempt (trace) / 任务详情与每次尝试")
    p.add_argument("task_id", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_task)

    p = sub.add_parser("retry", help="schedule a FAILED task again / 重试失败任务")
    p.add_argument("task_id", type=int)
    p.set_defaults(func=cmd_retry)
