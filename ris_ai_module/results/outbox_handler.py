"""Task handler for OUTBOX: the exam's current result as files in ``[outbox].folder``."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from ris_ai_module.results.delivery import result_to_send
from ris_ai_module.results.outbox import write_outbox
from ris_ai_module.tasks.model import Attempt, Outcome, Task, TaskKind
from ris_ai_module.tasks.retry import RetryPolicy

if TYPE_CHECKING:
    from ris_ai_module.settings import Config

log = logging.getLogger(__name__)


class OutboxHandler:
    """OUTBOX: DONE when every file is in place (or nothing may be sent); RETRY while the folder is not writable."""

    kind = TaskKind.OUTBOX

    def __init__(self, engine: Engine, config: Config) -> None:
        self.engine = engine
        self.config = config
        self.cfg = config.outbox
        self.retry_policy = RetryPolicy.from_config(self.cfg.retry)

    def handle(self, task: Task) -> Outcome:
        folder = Path(self.cfg.folder)
        rs = result_to_send(self.engine, self.config, task, str(folder))
        if isinstance(rs, Outcome):
            return rs
        started = time.monotonic()
        try:
            if not folder.is_dir():
                raise FileNotFoundError(f"outbox.folder {folder} is not a folder")
            paths = write_outbox(rs, folder, self.cfg.formats,
                                 self.cfg.names_campus(self.config.ris.campus_column))
        except OSError as exc:
            text = f"{type(exc).__name__}: {exc}"
            return Outcome.retry(text, Attempt(target=str(folder), status_text="not writable",
                                               latency_ms=_ms(started), response=text))
        names = ", ".join(p.name for p in paths)
        log.info("exam %s: outbox %s written (%s)", task.exam_key, names, rs.status,
                 extra={"action": "outbox_written", "task_id": task.task_id})
        return Outcome.done(Attempt(target=str(folder), status_text=f"written ({rs.status})", latency_ms=_ms(started),
                                    response=names))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
