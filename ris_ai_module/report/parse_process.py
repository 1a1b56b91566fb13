"""SR parsing in a helper process while ``run`` is up, so that SR_APPLY does not hold the SCP's GIL.

Parsing an SR is pure-Python CPU work (4–5 ms for a 50 KB SR with 190 measurements). Run on a worker
thread it competes for the GIL with the DICOM associations receiving the next objects: in bench/ingest.py
the SR set ran at 36/s with SR_APPLY on against 84/s with it off. In a separate process it runs on the
other core. Only the parse moves: the database work, and therefore every transaction and guarantee of
SR_APPLY, stays in the main process.

One helper process, one pipe, one request at a time (a lock): no executor thread, no queue feeder (with
``ProcessPoolExecutor`` the submit path itself stalled on its wake-up pipe, ~1 ms per SR). Robust by
falling back: when the helper is not running (tests, CLI commands), dies, hangs past ``ANSWER_TIMEOUT``
or fails on a file, the SR is parsed in-process, which gives the same result or raises the real error.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from multiprocessing.connection import Connection
from typing import Any

from ris_ai_module.context import AppContext
from ris_ai_module.sr.model import ParsedSR
from ris_ai_module.sr.parse import parse_sr_file

log = logging.getLogger(__name__)

#: Seconds to wait for the helper's answer before giving up on it (it is then restarted).
ANSWER_TIMEOUT = 120.0
START_TIMEOUT = 60.0


def parse(path: str | os.PathLike[str], overlay_file: str | os.PathLike[str] | None = None) -> ParsedSR:
    """Parse one SR file: in the helper process when it runs, else (or on any trouble there) in-process."""
    helper = _helper
    if helper is not None:
        parsed = helper.parse(os.fspath(path), None if overlay_file is None else os.fspath(overlay_file))
        if parsed is not None:
            return parsed
    return parse_sr_file(path, overlay_file=overlay_file)


def _serve(conn: Connection) -> None:
    """The helper's loop: (path, overlay) in, ParsedSR or None out; ends when the parent closes the pipe."""
    conn.send("ready")
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        path, overlay = request
        try:
            result: ParsedSR | None = parse_sr_file(path, overlay_file=overlay)
        except Exception:
            result = None  # the caller re-parses in-process and gets the real exception
        conn.send(result)


class Helper:
    """One helper process and its pipe; restarted once after a failure, then in-process from there on."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: Any = None
        self._conn: Connection | None = None
        self._restarts_left = 3

    def start(self) -> None:
        # spawn: the main process has threads (pynetdicom, SQLite); forking it could copy a held lock.
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(target=_serve, args=(child,), name="rai-sr-parser", daemon=True)
        process.start()
        child.close()
        if not parent.poll(START_TIMEOUT) or parent.recv() != "ready":
            process.kill()
            raise RuntimeError("the SR parser process did not start")
        self._process, self._conn = process, parent

    def parse(self, path: str, overlay: str | None) -> ParsedSR | None:
        with self._lock:
            if self._conn is None:
                return None
            try:
                self._conn.send((path, overlay))
                if not self._conn.poll(ANSWER_TIMEOUT):
                    raise TimeoutError(f"no answer within {ANSWER_TIMEOUT:.0f} s")
                return self._conn.recv()  # type: ignore[no-any-return]
            except (EOFError, OSError, TimeoutError) as exc:
                log.warning("SR parser process failed (%s); parsing in-process", exc,
                            extra={"action": "sr_parser_fallback"})
                self._replace()
                return None

    def _replace(self) -> None:
        self._close()
        if self._restarts_left <= 0:
            log.error("SR parser process given up; SRs are parsed in-process", extra={"action": "sr_parser_down"})
            return
        self._restarts_left -= 1
        try:
            self.start()
        except Exception as exc:
            log.error("SR parser process not restarted (%s); SRs are parsed in-process", exc,
                      extra={"action": "sr_parser_down"})

    def _close(self) -> None:
        conn, process, self._conn, self._process = self._conn, self._process, None, None
        if conn is not None:
            try:
                conn.send(None)
            except OSError:
                pass
            conn.close()
        if process is not None:
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join(5)

    def stop(self) -> None:
        with self._lock:
            self._close()


_helper: Helper | None = None


class ParserProcess:
    """A component for ``run``: starts the helper before the worker, stops it after the worker."""

    name = "sr-parser"

    def start(self) -> None:
        global _helper
        helper = Helper()
        try:
            helper.start()
        except Exception as exc:  # never keep `run` from starting: SR_APPLY parses in-process then
            log.error("SR parser process not started (%s); SRs are parsed in-process", exc,
                      extra={"action": "sr_parser_down"})
            return
        _helper = helper

    def stop(self, timeout: float = 30.0) -> None:
        global _helper
        helper, _helper = _helper, None
        if helper is not None:
            helper.stop()


def make_component(ctx: AppContext) -> ParserProcess | None:
    """The helper when the worker runs (SR_APPLY is its only user)."""
    return ParserProcess() if ctx.config.worker.enabled else None
