"""The handler contract of a task kind, and the registry the worker serves.

The queue knows states, leases and retries, never what a kind does. Each part (push, report, each
outbound interface) defines a handler object for its kind; the composition root (``runtime``) builds
them with what they need and registers them here. Nothing in ``tasks`` imports a task kind.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

from ris_ai_module.tasks.model import Outcome, Task, TaskKind
from ris_ai_module.tasks.retry import RetryPolicy

log = logging.getLogger(__name__)


@runtime_checkable
class TaskHandler(Protocol):
    """One task kind's work.

    ``handle`` runs one claimed task and returns its Outcome: DONE, RETRY (the queue schedules it again by
    ``retry_policy``, or after ``Outcome.retry_after``) or FAILED. An exception is taken as RETRY with its
    text, the traceback going to the log. It is called on a worker thread, several threads at once.
    """

    kind: TaskKind
    retry_policy: RetryPolicy

    def handle(self, task: Task) -> Outcome: ...


@runtime_checkable
class BatchPreparer(Protocol):
    """Optional: work done once for all tasks of this kind in a claimed batch, on the same thread, before
    their ``handle`` calls (e.g. reading every exam in one transaction). Its failure only leaves the work
    to ``handle``."""

    def prepare(self, batch: Sequence[Task]) -> None: ...


class HandlerRegistry:
    """Task kind -> its handler. A second handler for one kind is refused: exactly one answers."""

    def __init__(self, handlers: Sequence[TaskHandler] = ()) -> None:
        self._handlers: dict[str, TaskHandler] = {}
        for h in handlers:
            self.register(h)

    def register(self, handler: TaskHandler) -> None:
        if not isinstance(handler, TaskHandler):
            raise TypeError(f"{handler!r} is not a TaskHandler (kind, retry_policy, handle(task))")
        kind = TaskKind(handler.kind).value
        if kind in self._handlers:
            raise ValueError(f"task kind {kind} already has a handler: {self._handlers[kind]!r}")
        self._handlers[kind] = handler

    def get(self, kind: str) -> TaskHandler:
        return self._handlers[kind]

    def kinds(self) -> list[str]:
        return list(self._handlers)

    def retry_policy(self, kind: str) -> RetryPolicy:
        handler = self._handlers.get(kind)
        return handler.retry_policy if handler is not None else RetryPolicy()

    def preparers(self) -> Iterator[tuple[str, BatchPreparer]]:
        for kind, h in self._handlers.items():
            if isinstance(h, BatchPreparer):
                yield kind, h

    def __contains__(self, kind: object) -> bool:
        return kind in self._handlers

    def __len__(self) -> int:
        return len(self._handlers)
