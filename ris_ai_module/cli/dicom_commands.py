"""DICOM subcommands: objects, link, import-sr, echo."""

from __future__ import annotations

import argparse
import errno
import os
import sys
from datetime import tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ris_ai_module.cli.session import need_config, open_context
from ris_ai_module.db.tables import dicom_object
from ris_ai_module.errors import InvalidInput, NotFound


def cmd_objects(args: argparse.Namespace) -> int:
    from ris_ai_module.cli.output import as_json, table, zone
    from ris_ai_module.db.clock import shown
    from ris_ai_module.dicom import index
    from ris_ai_module.dicom.stgcmt import object_commitments

    ctx = open_context(args)
    try:
        with ctx.engine.connect() as conn:
            rows = index.list_objects(conn, unlinked=args.unlinked, study_uid=args.study, limit=args.limit,
                                      review=args.review)
            kept = _retention_reasons(conn, ctx.config, [r.sop_instance_uid for r in rows], zone())
            commit = object_commitments(conn, [r.sop_instance_uid for r in rows])
    finally:
        ctx.engine.dispose()
    tz = zone()
    data = [
        {"sop_instance_uid": r.sop_instance_uid, "class": _class_name(r.sop_class_uid), "exam_key": r.exam_key or "-",
         "link": r.link_method or ("review" if r.review_state == "NEEDS_REVIEW" else "unlinked"),
         "study_uid": r.study_uid, "sender": r.sender_ae or r.source, "size": r.file_size,
         "received_at": r.received_at, "patient_id": r.patient_id, "review_state": r.review_state,
         "review_exam": r.review_exam_key, "review_reason": r.review_reason,
         "retention": kept.get(r.sop_instance_uid, ""),
         "commitment": _commitment_text(commit.get(r.sop_instance_uid), tz),
         "commitment_state": (commit.get(r.sop_instance_uid) or {}).get("state", "-"),
         "commitment_at": shown((commit.get(r.sop_instance_uid) or {}).get("at"), tz) or None,
         "commitment_reason": (commit.get(r.sop_instance_uid) or {}).get("reason")}
        for r in rows
    ]
    columns = ["sop_instance_uid", "class", "exam_key", "link", "sender", "size", "received_at", "retention"]
    if any(d["commitment_state"] != "-" for d in data):  # the archive's Storage Commitment ([archive.commitment])
        columns.append("commitment")
    if args.review:
        columns = ["sop_instance_uid", "class", "review_exam", "patient_id", "received_at", "review_reason"]
    if args.json:
        print(as_json(data))
    else:
        print(table(data, columns) if data else ("no objects waiting for review" if args.review else "no objects"))
    return 0


def _retention_reasons(conn: Any, config: Any, sops: list[str], shown_in: Any) -> dict[str, str]:
    """Why storage retention keeps each object's file (not forwarded / not committed / SR not applied / report
    not signed / held / unlinked / kept until <time in module.timezone>), or when it deleted it."""
    from ris_ai_module.retention.purge import shown_explanation

    out = {}
    for sop in sops:
        row = conn.execute(select(dicom_object).where(dicom_object.c.sop_instance_uid == sop)).first()
        if row is not None:
            out[sop] = shown_explanation(conn, config, row, shown_in)["reason"]
    return out


def _commitment_text(c: dict[str, Any] | None, zone: tzinfo) -> str:
    """``committed 2026-12-02 18:00:00 +08:00``, ``requested …``, ``failed: 0x0213 resource limitation`` or -."""
    from ris_ai_module.db.clock import shown

    if not c or c["state"] == "-":
        return "-"
    if c["state"] == "failed":
        return f"failed: {c['reason']}"
    return f"{c['state']} {shown(c['at'], zone)}"


def cmd_link(args: argparse.Namespace) -> int:
    """Link an object to an exam by hand, confirm a held link (--force, --reason) or move it; audited.
    An SR is applied (SR_APPLY task) in the same transaction."""
    import getpass

    from ris_ai_module.dicom.review import decide_link, refuse_audit

    ctx = open_context(args)
    cfg = ctx.config
    actor, source = f"cli:{getpass.getuser()}", "cli"
    try:
        try:
            with ctx.engine.begin() as conn:
                decision = decide_link(conn, args.sop_uid, args.exam_key, actor=actor, source=source,
                                       policy=cfg.review.patient_check, other_ids_column=cfg.review.other_ids_column,
                                       force=args.force, reason=args.reason or "", archive=cfg.archive)
        except InvalidInput as exc:
            with ctx.engine.begin() as conn:
                refuse_audit(conn, actor, source, args.sop_uid, args.exam_key, exc.reason)
            raise
    finally:
        ctx.engine.dispose()
    tasks = ", ".join(str(t) for t in decision.task_ids)
    verb = {"link_force": "confirmed for", "link_move": "moved to"}.get(decision.action, "linked to")
    print(f"{args.sop_uid} {verb} exam {args.exam_key}" + (f"; SR_APPLY task(s) {tasks} queued" if tasks else ""))
    return 0


def cmd_import_sr(args: argparse.Namespace) -> int:
    """The manual SR upload: the same ingest path as a C-STORE, source IMPORT."""
    from ris_ai_module.db.ris import get_exam
    from ris_ai_module.dicom.ingest import Received, ingest
    from ris_ai_module.dicom.storage import StorageArea

    cfg = need_config(args)
    path = Path(args.file)
    if not path.is_file():  # a path problem on this machine: exit 4 (cli/session.py), named once
        code = errno.EISDIR if path.is_dir() else errno.ENOENT
        raise OSError(code, os.strerror(code), str(path))
    _require_sr(path)
    ctx = open_context(args)
    try:
        if args.exam:
            with ctx.engine.connect() as conn:
                if get_exam(conn, args.exam) is None:
                    raise NotFound(f"exam {args.exam} is not in RAI_V_EXAM")
        area = StorageArea(cfg.storage.root, cfg.storage.min_free)
        area.prepare(clean_older_than=None)
        with open(path, "rb") as fh:
            temp = area.copy_in(fh)
        outcome = ingest(ctx, area, Received(temp=temp, source="IMPORT", sender_ae="CLI", exam_key=args.exam))
    finally:
        ctx.engine.dispose()
    if not outcome.ok:
        print(f"error: not imported (0x{outcome.status:04X}): {outcome.comment}", file=sys.stderr)
        return 1
    if outcome.duplicate:
        print(f"{outcome.sop_instance_uid} was already stored (exam {outcome.exam_key or '-'}); nothing changed")
        return 0
    if outcome.review_reason:
        print(f"{outcome.sop_instance_uid} {outcome.imported_text()}; see `objects --review`, decide with "
              "`link --force --reason` or move it")
        return 3
    print(f"{outcome.sop_instance_uid} {outcome.imported_text()}"
          + (f"; SR_APPLY task {outcome.task_id} queued" if outcome.task_id else ""))
    return 0


def cmd_echo(args: argparse.Namespace) -> int:
    from ris_ai_module.dicom.echo import echo

    if args.peer:
        cfg = need_config(args)
        peer = next((p for p in cfg.dicom.peers if p.name == args.peer), None)
        if peer is None:
            names = ", ".join(p.name for p in cfg.dicom.peers) or "none configured"
            raise NotFound(f"no [[dicom.peers]] named {args.peer!r} (peers: {names})")
        if not peer.host:
            raise InvalidInput(f"dicom.peers.{peer.name}.host", "empty: this peer is not echoed")
        host, port, called = peer.host, peer.port, peer.ae_title
        calling = args.calling_aet or cfg.dicom.ae_title
    else:
        if not (args.host and args.port and args.aet):
            raise InvalidInput("echo", "give PEER_NAME, or --host, --port and --aet")
        host, port, called = args.host, args.port, args.aet
        calling = args.calling_aet or "RIS_AI"
    result = echo(host, port, called, calling, timeout=args.timeout)
    if result.ok:
        print(f"C-ECHO {called}@{host}:{port}: ok, {result.latency_ms:.1f} ms")
        return 0
    print(f"C-ECHO {called}@{host}:{port} failed: {result.reason}", file=sys.stderr)
    return 1


def _require_sr(path: Path) -> None:
    """import-sr takes SR documents only (images come by C-STORE)."""
    from pydicom import dcmread

    from ris_ai_module.dicom.index import is_sr

    try:
        ds = dcmread(path, stop_before_pixels=True, specific_tags=["SOPClassUID"])
    except Exception as exc:
        raise InvalidInput("FILE", f"not a DICOM file: {exc.__class__.__name__}") from None
    if not is_sr(str(ds.get("SOPClassUID", ""))):
        raise InvalidInput("FILE", f"not an SR document (SOP class {ds.get('SOPClassUID', 'missing')})")


def _class_name(uid: str) -> str:
    from pydicom.uid import UID

    name = UID(uid).name
    return name if name != uid else uid


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("objects", help="received DICOM objects / 已接收的 DICOM 对象")
    p.add_argument("--unlinked", action="store_true", help="only objects not linked to an exam")
    p.add_argument("--review", action="store_true",
                   help="only objects held by the patient check, with the reason / 待审核（患者不符）")
    p.add_argument("--study", metavar="UID", help="only this StudyInstanceUID")
    p.add_argument("--limit", type=int, default=200)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_objects)

    p = sub.add_parser("link", help="link, confirm or move an object (an SR is then applied); audited / 手工关联检查")
    p.add_argument("sop_uid", metavar="SOP_UID")
    p.add_argument("exam_key", metavar="EXAM_KEY")
    p.add_argument("--force", action="store_true", help="link although the patient check fails (needs --reason)")
    p.add_argument("--reason", metavar="TEXT", help="why (kept in the audit log)")
    p.set_defaults(func=cmd_link)

    p = sub.add_parser("import-sr", help="import an SR file like a C-STORE (manual upload) / 手工导入 SR")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--exam", metavar="EXAM_KEY", help="link to this exam instead of searching")
    p.set_defaults(func=cmd_import_sr)

    p = sub.add_parser("echo", help="C-ECHO a DICOM peer; prints latency / C-ECHO 测试")
    p.add_argument("peer", nargs="?", metavar="PEER_NAME", help="a [[dicom.peers]] name")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--aet", help="the peer's AE title (called AE)")
    p.add_argument("--calling-aet", help="our AE title (default: dicom.ae_title, or RIS_AI)")
    p.add_argument("--timeout", type=float, default=10.0)
    p.set_defaults(func=cmd_echo)
