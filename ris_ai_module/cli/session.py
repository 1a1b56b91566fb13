"""How a subcommand gets its service context, and the CLI's one error boundary.

Every subcommand that needs the database calls :func:`open_context`; :func:`run_command` runs the
subcommand, disposes whatever it opened (also when it raised), and turns what went wrong into one line
on stderr and an exit status that tells a script what kind of failure it was. Never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from ris_ai_module.cli.pipe import EXIT_PIPE, silence_stdout, stdout_gone
from ris_ai_module.context import AppContext, make_context
from ris_ai_module.errors import ConfigError, DatabaseError, NoTerminal, PortInUse, RaiError, SchemaMissing
from ris_ai_module.settings import Config
from ris_ai_module.startup import load_checked

#: Exit statuses: 1 is a command's own "no" (a push the AI host refused, a failed check).
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INPUT = 2  # bad configuration, bad arguments, something named that does not exist
EXIT_DATABASE = 3  # the database could not be reached or refused a statement
EXIT_OS = 4  # a file, folder or permission problem on this machine (a path that does not exist)
EXIT_SCHEMA = 5  # the database answers but a module table or the RAI_V_EXAM view is missing
EXIT_PORT = 6  # a listening port (DICOM SCP, HTTP API) is taken by another program
EXIT_NO_TTY = 7  # a password prompt without a terminal (use the command's --stdin)
EXIT_INTERRUPTED = 130


def config_file(args: argparse.Namespace) -> str | None:
    """The configuration file named on the command line (the top-level option, or `config check FILE`)."""
    return getattr(args, "config_file", None) or getattr(args, "config", None)


def need_config(args: argparse.Namespace) -> Config:
    """The --config file, loaded strictly and checked by the parts (:func:`startup.check_config`); the CLI's
    tables then show module times in its ``module.timezone``."""
    from ris_ai_module.cli.output import use_zone

    cfg = load_checked(config_file(args))
    use_zone(cfg.module.timezone)
    return cfg


def open_context(args: argparse.Namespace) -> AppContext:
    """The command's context (config + engine); :func:`run_command` disposes it when the command ends."""
    ctx = make_context(need_config(args))
    opened: list[AppContext] = args.__dict__.setdefault("_opened", [])
    opened.append(ctx)
    return ctx


def _one_line(text: str) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[0][:500] if lines else ""


def _where(args: argparse.Namespace) -> str:
    """The database the command opened, password hidden: the "where" of a database message."""
    opened: list[AppContext] = args.__dict__.get("_opened", [])
    if not opened:
        return ""
    return f" (database {opened[0].engine.url.render_as_string(hide_password=True)})"


def missing_schema_message(exc: SQLAlchemyError, where: str) -> str | None:
    """What to do about a missing table or view, or None when the error is something else."""
    from ris_ai_module.db.dialects import missing_table

    name = missing_table(exc)
    if name is None:
        return None
    upper = name.upper()
    if upper == "RAI_V_EXAM":
        return (f"database error: the view RAI_V_EXAM is missing{where}: create it with the DBA script "
                f"sql/<dialect>/20_view_exam.sql (docs: README, installing on the RIS)")
    if upper.startswith("RAI_"):
        return f"database error: the module table {upper} is missing{where}: run `ris-ai-module init-db`"
    return f"database error: the table or view {name or '(not named)'} is missing{where}: {database_message(exc)}"


def database_message(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    if orig is not None:
        return f"{type(orig).__name__}: {_one_line(str(orig))}"
    return f"{type(exc).__name__}: {_one_line(str(exc))}"


#: Operator actions (they change state): command -> the argument naming its target. Each run is written to
#: RAI_AUDIT (ris_ai_module.audit), done or refused, with the operating-system account and host.
AUDITED_COMMANDS = {
    "push": "exam_key", "retry": "task_id", "link": "sop_uid", "import-sr": "file", "apply": "exam_key",
    "init-db": None,
}


def run_command(func: Callable[[argparse.Namespace], int | None], args: argparse.Namespace) -> int:
    """The boundary: the command's exit status, or one line on stderr and a status naming the failure."""
    error: str | None = None
    status = EXIT_FAILED
    try:
        status = int(func(args) or 0)
        sys.stdout.flush()  # inside the boundary: a reader gone before the last block is seen here
        return status
    except BrokenPipeError as exc:
        if stdout_gone():
            silence_stdout()
            status = EXIT_PIPE
            return status
        error = f"system error: {exc.strerror or type(exc).__name__}"
        status = EXIT_OS
    except ConfigError as exc:
        error = f"configuration error: {exc}"
        status = EXIT_INPUT
    except PortInUse as exc:
        error = f"system error: {exc}"
        status = EXIT_PORT
    except NoTerminal as exc:
        error = f"error: {exc}"
        status = EXIT_NO_TTY
    except DatabaseError as exc:
        error = f"database error: {_one_line(str(exc))}"
        status = EXIT_SCHEMA if isinstance(exc, SchemaMissing) else EXIT_DATABASE
    except RaiError as exc:
        error = f"error: {exc}"
        status = EXIT_INPUT
    except SQLAlchemyError as exc:
        where = _where(args)
        error = missing_schema_message(exc, where)
        status = EXIT_SCHEMA
        if error is None:
            error = f"database error: {database_message(exc)}{where}"
            status = EXIT_DATABASE
    except OSError as exc:
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        error = f"system error: {exc.strerror or _one_line(str(exc)) or type(exc).__name__}{where}"
        status = EXIT_OS
    except KeyboardInterrupt:
        status = EXIT_INTERRUPTED
        return status
    finally:
        opened: list[AppContext] = args.__dict__.pop("_opened", [])
        try:
            if opened:
                _audit(args, opened[0], status, error)
        finally:
            for ctx in opened:
                ctx.engine.dispose()
    print(error, file=sys.stderr)
    return status


def read_secret(prompt: str, option: str = "--stdin") -> str:
    """A password typed at the terminal; without one (a pipe, a script) say which option reads stdin instead."""
    import getpass

    if not sys.stdin.isatty():
        raise NoTerminal(f"no terminal to prompt for the {prompt.rstrip(': ')}: stdin is not a TTY "
                         f"(give it on stdin with {option})" if option else
                         f"no terminal to prompt for the {prompt.rstrip(': ')}: stdin is not a TTY")
    return getpass.getpass(prompt)


def _audit(args: argparse.Namespace, ctx: AppContext, status: int, error: str | None) -> None:
    """One RAI_AUDIT row for an operator action; an audit that cannot be written is said, not hidden."""
    command = getattr(args, "command", None)
    if command not in AUDITED_COMMANDS:
        return
    from ris_ai_module.audit import AuditEvent, cli_actor, insert

    target_arg = AUDITED_COMMANDS[command]
    target = None if target_arg is None else str(getattr(args, target_arg, "") or "") or None
    actor, source = cli_actor()
    event = AuditEvent(actor, source, f"cli_{command.replace('-', '_')}", target,
                       error or f"exit status {status}", ok=status == EXIT_OK)
    try:
        with ctx.engine.begin() as conn:
            insert(conn, [event])
    except SQLAlchemyError as exc:
        if status != EXIT_DATABASE:  # else the command's own one line already says the database failed
            print(f"warning: the audit row of this command was not written: {database_message(exc)}",
                  file=sys.stderr)
