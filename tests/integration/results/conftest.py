"""The report rig (tests/integration/report/conftest.py) with the outbound interfaces' config sections."""

from __future__ import annotations

from typing import Any

from ris_ai_module.context import AppContext
from ris_ai_module.report.handler import SrApplyHandler
from ris_ai_module.settings import config_from_dict
from ris_ai_module.tasks.model import OutcomeKind, Task
from tests.integration.report.conftest import RIS_MEASURE, RIS_REPORT, Rig, rig  # noqa: F401 - fixture


def ctx_with(the_rig: Rig, **sections: Any) -> AppContext:
    """The rig's context with more config sections (``outbox={...}``, ``hl7={...}``)."""
    raw = {"database": {"url": "sqlite://"}, "worker": {"enabled": False}, "storage": {"root": str(the_rig.storage)},
           "report": the_rig.report, **sections}
    return AppContext(config=config_from_dict(raw), engine=the_rig.engine, owner="test:1")


def apply(ctx: AppContext, sop: str) -> None:
    t = Task(task_id=1, task_uuid="u", kind="SR_APPLY", status="IN_PROCESS", exam_key=None, attempts=1,
             lease_owner="test:1", payload={"sop_instance_uid": sop})
    out = SrApplyHandler(ctx).handle(t)
    assert out.kind is OutcomeKind.DONE, out.error
