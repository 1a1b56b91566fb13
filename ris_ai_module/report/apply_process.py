"""SR_APPLY in a helper process while ``run`` is up, so that it does not hold the SCP's GIL.

An SR_APPLY is CPU work in Python: parsing the SR (4–5 ms for a 50 KB SR with 190 measurements) and the
SQLAlchemy statements of its transaction (~3 ms). On a worker thread it competes for the GIL with the DICOM
associations receiving the next objects: in bench/ingest.py the SR set ran at 36/s with SR_APPLY on against
84/s with it off. In a helper process it runs on the other core.

What moves is only where :func:`ris_ai_module.report.apply.apply_task` runs: the same code, the same single
transaction, on the same database (its own connection, as each worker thread has its own). The worker still
claims the task and records its outcome. The helper's log records are sent back with each answer and logged
by this process, so the log file has one writer.

Robust by falling back: when the helper is not running (tests, CLI commands), dies, or does not answer within
``ANSWER_TIMEOUT``, the task runs in-process. A helper that died after its commit but before answering means
the SR is applied a second time, which SR_APPLY allows (the same SR applied twice gives the same rows).
"""

from __future__ import annotations

import copyreg
import io
import logging
import os
import pickle
import subprocess
import sys
import threading
import traceback
import types
from multiprocessing.connection import Connection
from typing import Any

from ris_ai_module.context import AppContext
from ris_ai_module.tasks.model import Outcome, Task

log = logging.getLogger(__name__)

#: Seconds to wait for an answer before giving up on the helper (it is then replaced).
ANSWER_TIMEOUT = 120.0
START_TIMEOUT = 60.0
MAX_RESTARTS = 3


def run(task: Task) -> Outcome | None:
    """The task's outcome from the helper; None when there is no helper or it failed (run it in-process)."""
    helper = _helper
    return helper.run(task) if helper is not None else None


# ------------------------------------------------------------------------------------------- parent side
def _mappingproxy(values: dict[str, Any]) -> types.MappingProxyType[str, Any]:
    return types.MappingProxyType(values)


def _dump_config(config: Any) -> bytes:
    """Config holds read-only mappings, which pickle does not handle by itself."""
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = copyreg.dispatch_table.copy()
    pickler.dispatch_table[types.MappingProxyType] = lambda m: (_mappingproxy, (dict(m),))
    pickler.dump(config)
    return buf.getvalue()


class Helper:
    """One helper process, a pipe each way, one task at a time (a lock)."""

    def __init__(self, config: Any) -> None:
        self._config = _dump_config(config)
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._restarts_left = MAX_RESTARTS

    def start(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        try:
            # A fresh interpreter (not a fork of this threaded process), started directly: no resource
            # tracker or fork server, so the only extra process is the helper itself.
            process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(to_child_r), str(from_child_w)],
                pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL, close_fds=True,
            )
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        conn = _Pipe(from_child_r, to_child_w)
        try:
            conn.send_bytes(self._config)
            if not conn.poll(START_TIMEOUT) or conn.recv() != "ready":
                raise RuntimeError("the SR_APPLY helper did not start")
        except BaseException:
            conn.close()
            process.kill()
            process.wait()
            raise
        self._process, self._conn = process, conn

    def run(self, task: Task) -> Outcome | None:
        with self._lock:
            if self._conn is None:
                return None
            try:
                self._conn.send(task)
                if not self._conn.poll(ANSWER_TIMEOUT):
                    raise TimeoutError(f"no answer within {ANSWER_TIMEOUT:.0f} s")
                outcome, records = self._conn.recv()
            except (EOFError, OSError, TimeoutError, pickle.PickleError) as exc:
                log.warning("SR_APPLY helper failed (%s); running task %s in-process", exc, task.task_id,
                            extra={"action": "sr_apply_helper_fallback"})
                self._replace()
                return None
        for record in records:
            logging.getLogger(record.name).handle(record)
        return outcome  # type: ignore[no-any-return]

    def _replace(self) -> None:
        self._close()
        if self._restarts_left <= 0:
            log.error("SR_APPLY helper given up; SRs are applied in-process", extra={"action": "sr_apply_helper_down"})
            return
        self._restarts_left -= 1
        try:
            self.start()
        except Exception as exc:
            log.error("SR_APPLY helper not restarted (%s); SRs are applied in-process", exc,
                      extra={"action": "sr_apply_helper_down"})

    def _close(self) -> None:
        conn, process, self._conn, self._process = self._conn, self._process, None, None
        if conn is not None:
            conn.close()  # the helper sees end-of-file and exits
        if process is not None:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop(self) -> None:
        with self._lock:
            self._close()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None


class _Pipe(Connection):
    """multiprocessing's Connection over two one-way pipe descriptors (read from one, write to the other)."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        super().__init__(read_fd, readable=True, writable=False)
        self._writer = Connection(write_fd, readable=False, writable=True)

    def _send_bytes(self, buf: Any) -> None:
        self._writer._send_bytes(buf)  # type: ignore[attr-defined]

    def close(self) -> None:
        self._writer.close()
        super().close()

    def _check_writable(self) -> None:
        return None


_helper: Helper | None = None


class ApplyProcess:
    """A component for ``run``: starts the helper before the worker, stops it after the worker."""

    name = "sr-apply-helper"

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def start(self) -> None:
        global _helper
        try:
            helper = Helper(self.ctx.config)
            helper.start()
        except Exception as exc:  # never keep `run` from starting: SR_APPLY runs in-process then
            log.error("SR_APPLY helper not started (%s); SRs are applied in-process", exc,
                      extra={"action": "sr_apply_helper_down"})
            return
        _helper = helper

    def stop(self, timeout: float = 30.0) -> None:
        global _helper
        helper, _helper = _helper, None
        if helper is not None:
            helper.stop()


def make_component(ctx: AppContext) -> ApplyProcess | None:
    """The helper when the worker runs (SR_APPLY is its only user)."""
    return ApplyProcess(ctx) if ctx.config.worker.enabled else None


# -------------------------------------------------------------------------------------------- child side
class _Collect(logging.Handler):
    """Keeps this task's log records, made picklable (message formatted, traceback as text)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        record.msg = record.getMessage()
        record.args = None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        self.records.append(record)


def serve(read_fd: int, write_fd: int) -> None:
    """The helper's loop: the config first, then Task in, (Outcome, log records) out; ends at end-of-file."""
    from ris_ai_module import log as log_setup
    from ris_ai_module.context import make_context
    from ris_ai_module.report.apply import apply_task

    conn = _Pipe(read_fd, write_fd)
    config = pickle.loads(conn.recv_bytes())
    log_setup._mask = config.logging.mask_phi  # what setup_logging sets, without opening the log file
    collect = _Collect()
    root = logging.getLogger()
    root.handlers[:] = [collect]
    root.setLevel(config.logging.level)
    ctx = make_context(config)
    conn.send("ready")
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        collect.records = []
        try:
            outcome = apply_task(task, ctx)
        except Exception as exc:  # as Worker._run: a RETRY with its text, the traceback to the log
            logging.getLogger("ris_ai_module.tasks.worker").error(
                "task %s (%s) raised:\n%s", task.task_id, task.kind, traceback.format_exc(),
                extra={"action": "task_exception", "task_id": task.task_id})
            outcome = Outcome.retry(f"{type(exc).__name__}: {exc}"[:500])
        try:
            conn.send((outcome, collect.records))
        except (OSError, pickle.PickleError):
            return


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]))
