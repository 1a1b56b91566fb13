"""Command line entry point: ``ris-ai-module``.

Each area of the system registers its own subcommands from a module in this package
(``register(subparsers)``); every subcommand function takes the parsed args and returns an exit code.
``cli.session.run_command`` is the one error boundary: a one-line message and an exit status per kind of
failure (2 input/config, 3 database, 4 operating system, 5 tables/view missing, 6 port in use, 7 no
terminal for a prompt; see cli/session.py), never a traceback.
"""

from __future__ import annotations

import argparse
import importlib

from ris_ai_module import __version__
from ris_ai_module.cli.pipe import EXIT_PIPE, silence_stdout, stdout_gone
from ris_ai_module.cli.session import run_command

#: Modules under ris_ai_module.cli that add subcommands, in help order.
COMMAND_MODULES = ("core", "sr_commands", "dicom_commands", "report_commands", "health_commands", "web_commands",
                   "service_commands", "sim_commands", "acceptance_commands", "trust_commands")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ris-ai-module",
        description="RIS <-> ultrasound AI host connector / RIS 与超声 AI 主机的对接模块",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--config", "-c", metavar="FILE", help="configuration file (TOML)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"ris_ai_module.cli.{name}").register(sub)  # a missing module is a bug: raise
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:  # --help or usage text into a closed pipe; a command's own output: run_command
        if not stdout_gone():
            raise
        silence_stdout()
        return EXIT_PIPE


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return run_command(args.func, args)


if __name__ == "__main__":
    raise SystemExit(main())
