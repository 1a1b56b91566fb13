"""Task handler for FHIR_REPORT: the exam's current result as a transaction Bundle to ``[fhir].base_url``."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from ris_ai_module.errors import InvalidInput
from ris_ai_module.fhir.bundle import build_bundle
from ris_ai_module.fhir.client import FhirClient
from ris_ai_module.results.delivery import result_to_send
from ris_ai_module.tasks.model import Attempt, Outcome, Task, TaskKind
from ris_ai_module.tasks.retry import RetryPolicy

if TYPE_CHECKING:
    from ris_ai_module.settings import Config

log = logging.getLogger(__name__)
_local = threading.local()


class FhirReportHandler:
    """FHIR_REPORT: DONE on 2xx (or nothing to send); FAILED on a 4xx (with its OperationOutcome) or a Bundle
    the R4B models refuse; RETRY on 5xx, 408/429 and network errors, by ``[fhir.retry]``."""

    kind = TaskKind.FHIR_REPORT

    def __init__(self, engine: Engine, config: Config) -> None:
        self.engine = engine
        self.config = config
        self.cfg = config.fhir
        self.retry_policy = RetryPolicy.from_config(self.cfg.retry)

    def _client(self) -> FhirClient:
        client = getattr(_local, "client", None)
        if client is None or client.cfg is not self.cfg:
            client = _local.client = FhirClient(self.cfg)
        return client

    def handle(self, task: Task) -> Outcome:
        rs = result_to_send(self.engine, self.config, task, self.cfg.base_url)
        if isinstance(rs, Outcome):
            return rs
        try:
            bundle = build_bundle(self.cfg, rs)
        except InvalidInput as exc:
            return Outcome.failed(str(exc), Attempt(target=self.cfg.base_url, status_text="not valid FHIR"))
        outcome = self._client().post(bundle)
        log.info("exam %s: FHIR bundle (%s, %d observations) %s", task.exam_key, rs.status, len(rs.items),
                 outcome.kind.value, extra={"action": "fhir_report", "task_id": task.task_id})
        return outcome
