"""SR parsing in a helper process while ``run`` is up, so that SR_APPLY does not hold the SCP's GIL.

Parsing an SR is pure-Python CPU work (4–5 ms for a 50 KB SR with 190 measurements). Run on a worker
thread it competes for the GIL with the DICOM associations receiving the next objects: in bench/ingest.py
the SR set ran at 36/s with SR_APPLY on against 84/s with it off. In a separate process it runs on the
other core. Only the parse moves: the database work, and therefore every transaction and guarantee of
SR_APPLY, stays in the main process.

Robust by falling back: when the helper is not running (tests, CLI commands), dies, or fails on a file,
the SR is parsed in-process, which gives the same result or raises the real error.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ris_ai_module.context import AppContext
from ris_ai_module.sr.model import ParsedSR
from ris_ai_module.sr.parse import parse_sr_file

log = logging.getLogger(__name__)

_lock = threading.Lock()
_executor: ProcessPoolExecutor | None = None


def parse(path: str | os.PathLike[str], overlay_file: str | os.PathLike[str] | None = None) -> ParsedSR:
    """Parse one SR file: in the helper process when it runs, else (or on any trouble there) in-process."""
    executor = _executor
    if executor is not None:
        try:
            parsed = executor.submit(_parse_or_none, os.fspath(path),
                                     None if overlay_file is None else os.fspath(overlay_file)).result()
            if parsed is not None:
                return parsed
        except (BrokenProcessPool, RuntimeError, OSError) as exc:  # helper died or is shutting down
            log.warning("SR parser process unavailable (%s); parsing in-process", exc.__class__.__name__,
                        extra={"action": "sr_parser_fallback"})
            _restart(executor)
    return parse_sr_file(path, overlay_file=overlay_file)


def _parse_or_none(path: str, overlay_file: str | None) -> ParsedSR | None:
    """In the helper: None on any error, so that the caller re-parses in-process and gets the real exception."""
    try:
        return parse_sr_file(path, overlay_file=overlay_file)
    except Exception:
        return None


def _warm_up() -> int:
    """Import the parser in the helper before the first SR arrives (keeps the first apply fast)."""
    return os.getpid()


def _start(workers: int) -> ProcessPoolExecutor:
    # spawn: the main process has threads (pynetdicom, SQLite); forking it could copy a held lock.
    executor = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    executor.submit(_warm_up).result(timeout=60)
    return executor


def _restart(broken: ProcessPoolExecutor) -> None:
    global _executor
    with _lock:
        if _executor is not broken:
            return
        _executor = None
        broken.shutdown(wait=False, cancel_futures=True)
        try:
            _executor = _start(_workers)
        except Exception as exc:
            log.error("SR parser process could not be restarted (%s); SRs are parsed in-process", exc,
                      extra={"action": "sr_parser_down"})


_workers = 1


class ParserProcess:
    """A component for ``run``: starts the helper before the worker, stops it after the worker."""

    name = "sr-parser"

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def start(self) -> None:
        global _executor, _workers
        with _lock:
            _workers = self.workers
            try:
                _executor = _start(self.workers)
            except Exception as exc:  # never keep `run` from starting: SR_APPLY parses in-process then
                log.error("SR parser process not started (%s); SRs are parsed in-process", exc,
                          extra={"action": "sr_parser_down"})

    def stop(self, timeout: float = 30.0) -> None:
        global _executor
        with _lock:
            executor, _executor = _executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


def make_component(ctx: AppContext) -> Any:
    """The helper when the worker runs (it is its only user); one process per spare core, at most one per
    worker thread (2 cores, 2 threads: one helper)."""
    if not ctx.config.worker.enabled:
        return None
    spare = max(1, (os.cpu_count() or 2) - 1)
    return ParserProcess(max(1, min(ctx.config.worker.threads, spare)))
