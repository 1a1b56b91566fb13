"""``parse-sr FILE... --format json|table``: read SR files and print their measurements."""

from __future__ import annotations

import argparse
import sys

from ris_ai_module.errors import InvalidInput


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("parse-sr", help="read SR files and print every measurement / 解析SR测量值")
    p.add_argument("files", nargs="+", metavar="FILE", help="DICOM SR file(s)")
    p.add_argument("--format", choices=("json", "table"), default="json", help="output format (default json)")
    p.add_argument("--overlay", metavar="CSV",
                   help="hospital catalog overlay (same format as a rules file); default: sr.catalog_overlay of --config")
    p.add_argument("--preview", action="store_true",
                   help="dry run against the configured RIS (--config): the exam, the patient check and exactly what "
                        "would be written; nothing is stored / 预览写入内容（不写入）")
    p.add_argument("--exam", metavar="EXAM_KEY", help="with --preview: as if imported with --exam")
    p.add_argument("--json", action="store_true", help="with --preview: JSON instead of text")
    p.set_defaults(func=parse_sr)


def parse_sr(args: argparse.Namespace) -> int:
    """Print every file that reads; exit 4 if a file could not be opened, else 1 if one is not DICOM at all."""
    if args.preview:
        from ris_ai_module.cli.trust_commands import preview_files

        return preview_files(args)
    from ris_ai_module.cli.session import EXIT_OS
    from ris_ai_module.sr.output import to_json, to_table
    from ris_ai_module.sr.parse import parse_sr_bytes

    overlay = args.overlay
    if overlay is None and args.config:
        from ris_ai_module.cli.session import need_config

        overlay = need_config(args).sr.catalog_overlay or None
    results, status = [], 0
    for path in args.files:
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:  # named once, exit 4 like every path problem (cli/session.py)
            print(f"{path}: {exc.strerror or exc}", file=sys.stderr)
            status = EXIT_OS
            continue
        try:
            results.append((path, parse_sr_bytes(data, overlay_file=overlay)))
        except InvalidInput as exc:
            print(f"{path}: {exc.reason}".replace("\n", " "), file=sys.stderr)
            status = status or 1
    if args.format == "json":
        if results:
            print(to_json([r for _, r in results]))
    else:
        print("\n\n".join(to_table(r, path) for path, r in results))
    return status
