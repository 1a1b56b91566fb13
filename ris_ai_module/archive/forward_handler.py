"""Task handler for ARCHIVE_FORWARD: one stored object sent to the archive by C-STORE.

DONE on success or a warning status; RETRY while the archive is unreachable, rejects the association
(a permanent rejection too: it is usually a configuration being fixed) or answers out of resources; FAILED
on a refusal that a retry would not change (the status kept in the attempt trace, ``retry`` resends). An
object held for review when the task runs is not sent (first rule): it is queued again when released.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from ris_ai_module.archive.commitment import enqueue_request
from ris_ai_module.archive.store_scu import send_file
from ris_ai_module.dicom import index
from ris_ai_module.dicom.forwarding import may_forward
from ris_ai_module.dicom.storage import StorageArea
from ris_ai_module.tasks.model import Attempt, Outcome, Task, TaskKind
from ris_ai_module.tasks.retry import RetryPolicy

if TYPE_CHECKING:
    from ris_ai_module.settings import Config

log = logging.getLogger(__name__)


class ArchiveForwardHandler:
    """ARCHIVE_FORWARD: the object named by ``payload.sop_instance_uid`` to ``[archive]``."""

    kind = TaskKind.ARCHIVE_FORWARD

    def __init__(self, engine: Engine, config: Config) -> None:
        self.engine = engine
        self.cfg = config.archive
        self.calling = config.archive.calling_ae_title or config.dicom.ae_title
        self.area = StorageArea(config.storage.root)
        self.retry_policy = RetryPolicy.from_config(self.cfg.retry)

    def handle(self, task: Task) -> Outcome:
        target = self.cfg.target
        sop = str(task.payload.get("sop_instance_uid") or "")
        with self.engine.connect() as conn:
            obj = index.get_object(conn, sop) if sop else None
        if obj is None:
            return Outcome.failed(f"object {sop or '(none)'} is not in RAI_OBJECT", Attempt(target=target))
        if not may_forward(obj.exam_key, obj.review_state):
            return Outcome.failed("held for review or unlinked: not forwarded (queued again when released)",
                                  Attempt(target=target, status_text="held"))
        if obj.purged_at is not None:
            return Outcome.failed(f"the file of {sop} was deleted by storage retention at {obj.purged_at:%Y-%m-%d %H:%M} "
                                  "UTC (storage.keep_for): nothing to forward", Attempt(target=target, status_text="purged"))
        path = self.area.path_of(obj.file_path)
        if not path.is_file():
            return Outcome.failed(f"the stored file {obj.file_path} is missing", Attempt(target=target))
        started = time.monotonic()
        res = send_file(path, obj.sop_class_uid, obj.transfer_syntax, host=self.cfg.host, port=self.cfg.port,
                        called=self.cfg.ae_title, calling=self.calling, timeout=float(self.cfg.timeout))
        attempt = Attempt(target=target, status_text=res.status_text, latency_ms=int((time.monotonic() - started) * 1000),
                          response=res.detail)
        if res.ok:
            log.info("%s forwarded to %s (%s)", sop, target, res.status_text,
                     extra={"action": "archive_forwarded", "task_id": task.task_id})
            if self.cfg.commitment.enabled:  # then ask the archive to commit to it (STGCMT_REQUEST)
                with self.engine.begin() as conn:
                    enqueue_request(conn, self.cfg, sop, obj.exam_key)
            return Outcome.done(attempt)
        error = f"{target}: {res.status_text} {res.detail}"
        return Outcome.retry(error, attempt) if res.retry else Outcome.failed(error, attempt)
