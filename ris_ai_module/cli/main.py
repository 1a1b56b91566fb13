"""Command line entry point: ``ris-ai-module``.

Each area of the system registers its own subcommands from a module in this package
(``register(subparsers)``); every subcommand function takes the parsed args and returns an exit code.
RaiError is turned into a one-line message and exit status 2 here, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from ris_ai_module import __version__
from ris_ai_module.errors import ConfigError, RaiError
from ris_ai_module.optional import resolve

#: Modules under ris_ai_module.cli that add subcommands, in help order.
COMMAND_MODULES = ("core", "sr_commands", "dicom_commands", "report_commands", "health_commands", "web_commands",
                   "service_commands", "sim_commands", "acceptance_commands")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ris-ai-module",
        description="RIS <-> ultrasound AI host connector / RIS 与超声 AI 主机的对接模块",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--config", "-c", metavar="FILE", help="configuration file (TOML)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        register = resolve(f"ris_ai_module.cli.{name}:register")
        if register is not None:
            register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except RaiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
