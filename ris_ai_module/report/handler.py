"""Task handler for SR_APPLY: in the process pool under ``run`` (:mod:`apply_pool`), else in this thread."""

from __future__ import annotations

from ris_ai_module.report.apply import apply_task
from ris_ai_module.report.apply_pool import ApplyPool
from ris_ai_module.services import Services
from ris_ai_module.tasks.model import Outcome, Task, TaskKind
from ris_ai_module.tasks.retry import RetryPolicy

#: SR apply retries fast and briefly: what fails here is a database outage or a lock, not a far peer.
SR_APPLY_RETRY = RetryPolicy(initial=5, multiplier=2, max_delay=300, max_attempts=10)


class SrApplyHandler:
    """SR_APPLY: DONE when applied, pending or unlinked; FAILED when the SR cannot be read."""

    kind = TaskKind.SR_APPLY
    retry_policy = SR_APPLY_RETRY

    def __init__(self, services: Services, pool: ApplyPool | None = None) -> None:
        self.services = services
        self.pool = pool

    def handle(self, task: Task) -> Outcome:
        outcome = self.pool.run(task) if self.pool is not None else None
        return outcome if outcome is not None else apply_task(task, self.services)
