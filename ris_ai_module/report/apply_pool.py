"""SR_APPLY in a process pool while ``run`` is up, so that it does not hold the SCP's GIL.

An SR_APPLY is CPU work in Python: parsing the SR (4–5 ms for a 50 KB SR with 190 measurements) and the
SQLAlchemy statements of its transaction (~3 ms). On a worker thread it competes for the GIL with the DICOM
associations receiving the next objects: in bench/ingest.py the SR set ran at 36/s with SR_APPLY on against
84/s with it off. In another process it runs on the other core.

The mechanism is the standard one: a :class:`concurrent.futures.ProcessPoolExecutor` of one process,
started with ``spawn`` (a fresh interpreter, never a fork of this threaded process), whose initializer
loads the configuration (from its file when there is one) and the hook modules named in it, and opens its
own engine. What moves is only where :func:`ris_ai_module.report.apply.apply_task` runs: the same code, the
same single transaction, on the same database. The worker still claims the task and records its outcome.
The child's log records come back with each answer and are logged here, so the log file has one writer.

A pool whose process died (``BrokenProcessPool``) or did not answer within ``ANSWER_TIMEOUT`` (killed) is
replaced and the task is tried once more in the new one; a helper that died after its commit means the SR
is applied a second time, which SR_APPLY allows (the same SR applied twice gives the same rows). When no
pool can be started, or it was replaced ``MAX_RESTARTS`` times, SR_APPLY runs in the calling thread.
"""

from __future__ import annotations

import copyreg
import io
import logging
import multiprocessing
import os
import pickle
import signal
import threading
import traceback
import types
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

from ris_ai_module.tasks.model import Outcome, Task

if TYPE_CHECKING:
    from ris_ai_module.settings import Config

log = logging.getLogger(__name__)

#: Seconds to wait for an answer before the pool's process is killed and the pool replaced.
ANSWER_TIMEOUT = 120.0
START_TIMEOUT = 60.0
MAX_RESTARTS = 3


def _mappingproxy(values: dict[str, Any]) -> types.MappingProxyType[str, Any]:
    return types.MappingProxyType(values)


def dump_config(config: Config) -> bytes:
    """Config holds read-only mappings, which pickle does not handle by itself (a per-pickler table)."""
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = copyreg.dispatch_table.copy()
    pickler.dispatch_table[types.MappingProxyType] = lambda m: (_mappingproxy, (dict(m),))
    pickler.dump(config)
    return buf.getvalue()


class ApplyPool:
    """A component of ``run``: started before the worker, stopped after it. Thread-safe ``run``."""

    name = "sr-apply-pool"

    def __init__(self, config: Config, config_file: str | None = None) -> None:
        self._config = config
        self._config_file = config_file
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._pid: int | None = None
        self._restarts_left = MAX_RESTARTS

    # ------------------------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        try:
            self._start()
        except Exception as exc:  # never keep `run` from starting: SR_APPLY runs in-thread then
            log.error("SR_APPLY pool not started (%s); SRs are applied in-thread", exc,
                      extra={"action": "sr_apply_pool_down"})

    def _start(self) -> None:
        # The schema class travels by reference (pickled by name): report never imports the composition root.
        source = (("file", (type(self._config), self._config_file)) if self._config_file
                  else ("pickle", dump_config(self._config)))
        executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=_init_child, initargs=(source,))
        try:
            self._pid = executor.submit(os.getpid).result(timeout=START_TIMEOUT)
        except BaseException:
            executor.shutdown(wait=False, cancel_futures=True)
            raise
        self._executor = executor

    def stop(self, timeout: float = 30.0) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        executor, self._executor, self._pid = self._executor, None, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    @property
    def pid(self) -> int | None:
        return self._pid

    # ------------------------------------------------------------------------------------------- use
    def run(self, task: Task) -> Outcome | None:
        """The task's outcome from the pool; None when there is no pool (run it in-thread)."""
        with self._lock:
            for attempt in (1, 2):
                if self._executor is None:
                    return None
                try:
                    outcome, records = self._executor.submit(_apply_in_child, task).result(timeout=ANSWER_TIMEOUT)
                except (BrokenProcessPool, FutureTimeout, OSError, pickle.PickleError) as exc:
                    why = f"no answer within {ANSWER_TIMEOUT:.0f} s" if isinstance(exc, FutureTimeout) else \
                        f"{type(exc).__name__}: {exc}"
                    log.warning("SR_APPLY pool failed on task %s (%s); replacing it%s", task.task_id, why,
                                " and trying the task again" if attempt == 1 else "",
                                extra={"action": "sr_apply_pool_replaced", "task_id": task.task_id})
                    self._replace(kill=isinstance(exc, FutureTimeout))
                    continue
                for record in records:
                    logging.getLogger(record.name).handle(record)
                return outcome  # type: ignore[no-any-return]
            return Outcome.retry("the SR_APPLY process failed twice on this task")

    def _replace(self, kill: bool) -> None:
        if kill and self._pid is not None:
            try:
                os.kill(self._pid, getattr(signal, "SIGKILL", signal.SIGTERM))
            except OSError:
                pass
        executor, self._executor, self._pid = self._executor, None, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
        if self._restarts_left <= 0:
            log.error("SR_APPLY pool given up; SRs are applied in-thread", extra={"action": "sr_apply_pool_down"})
            return
        self._restarts_left -= 1
        try:
            self._start()
        except Exception as exc:
            log.error("SR_APPLY pool not restarted (%s); SRs are applied in-thread", exc,
                      extra={"action": "sr_apply_pool_down"})


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


_child: dict[str, Any] = {}


def _init_child(source: tuple[str, Any]) -> None:
    """The pool's initializer: configuration by file name (or as sent), logging into a collector, engine."""
    from ris_ai_module import log as log_setup
    from ris_ai_module.context import make_context

    threading.Thread(target=_exit_with_parent, name="rai-parent-watch", daemon=True).start()
    kind, value = source
    if kind == "file":
        from ris_ai_module.config.load import load_file

        schema, path = value
        config = load_file(schema, path)
    else:
        config = pickle.loads(value)
    log_setup.set_masking(config.logging.mask_phi)
    collect = _Collect()
    root = logging.getLogger()
    root.handlers[:] = [collect]
    root.setLevel(config.logging.level)
    _child["collect"] = collect
    _child["ctx"] = make_context(config)


def _exit_with_parent() -> None:
    """A pool process outlives a killed parent otherwise (its queue holds both pipe ends): end with it."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        parent.join()
        os._exit(0)


def _apply_in_child(task: Task) -> tuple[Outcome, list[logging.LogRecord]]:
    from ris_ai_module.report.apply import apply_task

    collect: _Collect = _child["collect"]
    collect.records = []
    try:
        outcome = apply_task(task, _child["ctx"])
    except Exception as exc:  # as Worker.run_task: a RETRY with its text, the traceback to the log
        logging.getLogger("ris_ai_module.tasks.worker").error(
            "task %s (%s) raised:\n%s", task.task_id, task.kind, traceback.format_exc(),
            extra={"action": "task_exception", "task_id": task.task_id})
        outcome = Outcome.retry(f"{type(exc).__name__}: {exc}"[:500])
    return outcome, collect.records
