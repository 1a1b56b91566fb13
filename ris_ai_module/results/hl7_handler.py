"""Task handler for HL7_ORU: the exam's current result as an ORU^R01 over MLLP; the ACK decides.

AA (or CA) completes the task; AE/AR, an unreadable answer, no answer in ``[hl7].timeout`` or a refused
connection are retried by ``[hl7.retry]``. Every attempt keeps the peer's answer in its trace (``task ID``).
MSH-10 is ``RAI<task id>.<attempt>``: each attempt is its own message, and the ACK must name it.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from ris_ai_module.log import phi_id
from ris_ai_module.results.delivery import result_to_send
from ris_ai_module.results.hl7_message import build_oru, encode, parse_ack, result_status
from ris_ai_module.results.mllp import MllpError, exchange
from ris_ai_module.tasks.model import Attempt, Outcome, Task, TaskKind
from ris_ai_module.tasks.retry import RetryPolicy

if TYPE_CHECKING:
    from ris_ai_module.settings import Config

log = logging.getLogger(__name__)


class Hl7OruHandler:
    """HL7_ORU: DONE on AA (or nothing to send); RETRY on AE/AR, timeouts and network errors."""

    kind = TaskKind.HL7_ORU

    def __init__(self, engine: Engine, config: Config) -> None:
        self.engine = engine
        self.config = config
        self.cfg = config.hl7
        self.retry_policy = RetryPolicy.from_config(self.cfg.retry)
        self.target = f"mllp://{self.cfg.host}:{self.cfg.port}"

    def handle(self, task: Task) -> Outcome:
        if not self.cfg.host:
            return Outcome.failed("hl7.host is not configured", Attempt(target="(hl7 off)"))
        rs = result_to_send(self.engine, self.config, task, self.target)
        if isinstance(rs, Outcome):
            return rs
        control_id = f"RAI{task.task_id}.{task.attempts}"
        message = encode(build_oru(rs, self.cfg, control_id, datetime.now()), self.cfg.charset)
        started = time.monotonic()
        try:
            raw = exchange(self.cfg.host, self.cfg.port, message, float(self.cfg.timeout))
        except MllpError as exc:
            return Outcome.retry(str(exc), Attempt(target=self.target, status_text="no ACK", latency_ms=_ms(started)))
        latency = _ms(started)
        text = raw.decode(self.cfg.charset, errors="replace")
        shown = text.replace("\r", "\n").strip()
        try:
            ack = parse_ack(text)
        except ValueError as exc:
            return Outcome.retry(f"unreadable answer: {exc}", Attempt(target=self.target, status_text="no ACK",
                                                                      latency_ms=latency, response=shown))
        attempt = Attempt(target=self.target, status_text=f"{ack.code} {ack.text}".strip()[:200], latency_ms=latency,
                          response=shown)
        log.info("exam %s (patient %s) ORU^R01 %s %s: %s", task.exam_key, phi_id(rs.exam.patient_id),
                 result_status(rs), control_id, ack.code, extra={"action": "hl7_sent", "task_id": task.task_id})
        if ack.control_id and ack.control_id != control_id:
            return Outcome.retry(f"the ACK names message {ack.control_id}, not {control_id}", attempt)
        if ack.accepted:
            return Outcome.done(attempt)
        return Outcome.retry(f"{ack.code}: {ack.text or 'no text'}", attempt)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
