"""What every result delivery does before it sends: read the exam's result now, and decide whether this task
still has something to send (the first rule, then the version)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from ris_ai_module.errors import NotFound
from ris_ai_module.results.resultset import ResultSet, read_result_set
from ris_ai_module.tasks.model import Attempt, Outcome, Task

if TYPE_CHECKING:
    from ris_ai_module.settings import Config


def result_to_send(engine: Engine, config: Config, task: Task, target: str) -> ResultSet | Outcome:
    """The exam's result set, or the Outcome that ends the task without sending.

    Nothing held is sent: a report that is no longer APPLIED (held by the hook, pending, failed) ends the task
    DONE with the reason in its trace. A task of an older version ends DONE too: the newer version's task
    (queued in the same transaction that made it) sends the result as it is now.
    """
    if not task.exam_key:
        return Outcome.failed("task has no exam_key")
    with engine.connect() as conn:
        try:
            rs = read_result_set(conn, config, task.exam_key)
        except NotFound as exc:
            return Outcome.failed(str(exc), Attempt(target=target))
    if rs.deliverable is not None:
        return Outcome.done(Attempt(target=target, status_text=f"not sent: {rs.deliverable}"[:200]))
    wanted = task.payload.get("version")
    if wanted and wanted != rs.version:
        return Outcome.done(Attempt(target=target, status_text=f"not sent: version {str(wanted)[:12]} was "
                                                               f"replaced by {str(rs.version)[:12]}"))
    return rs
