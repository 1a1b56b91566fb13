"""What a service host does around ``run``, kept free of Windows imports so that it is tested everywhere:
load the configuration, forward warnings and errors to the system's event log, run until asked to stop.

The stop request of the Windows service control manager sets the same event that SIGTERM sets under
systemd, so both take the same graceful path: components stop in reverse order and the worker finishes
its batch or hands unstarted tasks back.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Protocol

from ris_ai_module.errors import RaiError

log = logging.getLogger(__name__)


class EventSink(Protocol):
    """The three calls of pywin32's ``servicemanager`` that write to the Windows Application event log."""

    def LogInfoMsg(self, msg: str) -> None: ...  # noqa: N802  (pywin32's names)

    def LogWarningMsg(self, msg: str) -> None: ...  # noqa: N802

    def LogErrorMsg(self, msg: str) -> None: ...  # noqa: N802


class EventLogHandler(logging.Handler):
    """Log records at WARNING and above into the event log (the rotating file keeps everything)."""

    def __init__(self, sink: EventSink, level: int = logging.WARNING) -> None:
        super().__init__(level)
        self.sink = sink
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            if record.levelno >= logging.ERROR:
                self.sink.LogErrorMsg(text)
            elif record.levelno >= logging.WARNING:
                self.sink.LogWarningMsg(text)
            else:
                self.sink.LogInfoMsg(text)
        except Exception:
            self.handleError(record)


def serve(config_path: str, stop: threading.Event, sink: EventSink | None = None,
          ready: threading.Event | None = None) -> int:
    """Run the module until ``stop`` is set; 0 on a clean stop, 2 on a configuration or database error,
    1 on anything else (each told to the event log, where a Windows administrator looks first)."""
    from ris_ai_module.runtime import run
    from ris_ai_module.settings import load_config

    handler = EventLogHandler(sink) if sink is not None else None
    root = logging.getLogger()
    if handler is not None:
        root.addHandler(handler)
    try:
        path = Path(config_path)
        if not config_path or not path.is_file():
            raise RaiError(f"service configuration file not found: {config_path!r} "
                           "(reinstall with `ris-ai-module --config FILE service install`)")
        # A service starts in C:\Windows\System32: work from the configuration's folder instead.
        os.chdir(path.resolve().parent)
        return run(load_config(path), ready=ready, stop=stop)
    except RaiError as exc:
        log.error("ris-ai-module cannot start: %s", exc)
        return 2
    except Exception as exc:
        log.exception("ris-ai-module stopped on an unexpected error: %s: %s", exc.__class__.__name__, exc)
        return 1
    finally:
        if handler is not None:
            root.removeHandler(handler)

