"""Outbound deliveries of an exam's result: which task kinds follow an SR apply or a signing, enqueued once
per version of the result.

The report side calls :meth:`DeliveryRegistry.enqueue` in the transaction that records the new report state,
with the event (``applied``, ``signed``) and the result's version (a fingerprint of what would be sent, see
``report/current.py``). Per registered kind that is switched on in the configuration it enqueues one task whose
idempotency key is derived from (kind, exam, version): applying the same SR again finds that task and adds
nothing; a newer SR (or the signing) is a new version and a new task, and the older version's tasks that have
not run yet are cancelled (each delivery sends the exam's result as it is when it runs). The registrations
themselves are data, one line per kind, in ``ris_ai_module/deliveries.py`` (the composition root's list).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.tables import task
from ris_ai_module.tasks import queue
from ris_ai_module.tasks.model import TaskKind, TaskStatus

log = logging.getLogger(__name__)

APPLIED = "applied"
SIGNED = "signed"
EVENTS = frozenset({APPLIED, SIGNED})

#: Namespace of the derived idempotency keys (uuid5 of "KIND|exam|version").
_NAMESPACE = uuid.UUID("6f1f4d0e-7c35-5b8e-9d1e-2b7a3c9e4a10")


@dataclass(frozen=True)
class Delivery:
    """One delivery kind: its task kind, whether this configuration switches it on, the events it follows."""

    kind: TaskKind
    #: config -> on? (e.g. ``lambda c: bool(c.outbox.folder)``); a kind configured off is never enqueued.
    enabled: Callable[[Any], bool]
    events: frozenset[str] = EVENTS


def delivery_key(kind: TaskKind | str, exam_key: str, version: str) -> str:
    """The idempotency key of one kind's delivery of one version of an exam's result."""
    return str(uuid.uuid5(_NAMESPACE, f"{TaskKind(kind).value}|{exam_key}|{version}"))


class DeliveryRegistry:
    """The delivery kinds of this module; one ``Delivery`` per kind (a second one for a kind is refused)."""

    def __init__(self, deliveries: Iterable[Delivery] = ()) -> None:
        self._by_kind: dict[str, Delivery] = {}
        for d in deliveries:
            self.register(d)

    def register(self, delivery: Delivery) -> None:
        kind = TaskKind(delivery.kind).value
        if kind in self._by_kind:
            raise ValueError(f"delivery kind {kind} is registered twice")
        unknown = set(delivery.events) - EVENTS
        if unknown:
            raise ValueError(f"delivery {kind}: unknown events {sorted(unknown)} (one of {sorted(EVENTS)})")
        self._by_kind[kind] = delivery

    def __iter__(self) -> Iterator[Delivery]:
        return iter(self._by_kind.values())

    def __len__(self) -> int:
        return len(self._by_kind)

    def kinds(self, config: Any, event: str | None = None) -> list[str]:
        """The kinds switched on in ``config`` (and following ``event``, when given)."""
        return [k for k, d in self._by_kind.items()
                if (event is None or event in d.events) and d.enabled(config)]

    def enqueue(self, conn: Connection, config: Any, exam_key: str, event: str, version: str) -> list[int]:
        """One task per kind on for ``event``, unless this version's task exists; returns the new task ids.

        Call it only for a result that may be sent (state APPLIED, nothing held): it does not look.
        """
        if event not in EVENTS:
            raise ValueError(f"unknown delivery event {event!r}")
        new: list[int] = []
        for kind in self.kinds(config, event):
            key = delivery_key(kind, exam_key, version)
            if conn.execute(select(task.c.task_id).where(task.c.task_uuid == key)).first() is not None:
                continue  # this version is queued or delivered already (a re-apply of the same SR)
            now = utcnow()
            conn.execute(update(task).where(task.c.kind == kind, task.c.exam_key == exam_key,
                                            task.c.status == TaskStatus.SCHEDULED.value)
                         .values(status=TaskStatus.CANCELED.value, finished_at=now, updated_at=now,
                                 last_error=f"replaced by version {version[:12]} ({event})"))
            new.append(queue.enqueue(conn, kind, exam_key=exam_key, task_uuid=key,
                                     payload={"version": version, "event": event}))
        if new:
            log.info("exam %s %s: %d deliveries queued", exam_key, event, len(new),
                     extra={"action": "deliveries_queued"})
        return new


NO_DELIVERIES = DeliveryRegistry()
