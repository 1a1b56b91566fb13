"""The composition root's list of outbound delivery kinds: one line per kind.

After an SR has been applied (the report written, nothing held) and after the report has been signed, the
report side enqueues one task per kind listed here that the configuration switches on (see
``tasks/deliveries.py`` for the versioning and idempotency). A kind also needs its ``TaskHandler`` line in
``runtime.task_handlers``; its handler reads the exam's result with
``ris_ai_module.results.resultset.read_result_set`` when it runs.

Adding a delivery kind: a ``TaskKind`` line in ``tasks/model.py``, a line here, a line in ``task_handlers``::

    Delivery(TaskKind.FHIR_REPORT, lambda c: bool(c.fhir.base_url)),

The lines read the configuration only (no part is imported here), so the report side can use this list in
every process that applies an SR (the worker, its apply pool, the CLI) without importing the parts that send.
"""

from __future__ import annotations

from ris_ai_module.tasks.deliveries import Delivery, DeliveryRegistry
from ris_ai_module.tasks.model import TaskKind


def delivery_registry() -> DeliveryRegistry:
    """Every outbound delivery kind of this module (each decides from the config whether it is on)."""
    return DeliveryRegistry([
        Delivery(TaskKind.OUTBOX, lambda c: bool(c.outbox.folder)),
        Delivery(TaskKind.HL7_ORU, lambda c: bool(c.hl7.host)),
        Delivery(TaskKind.FHIR_REPORT, lambda c: bool(c.fhir.base_url)),
    ])


REGISTRY = delivery_registry()


def deliveries_of(services: object) -> DeliveryRegistry:
    """The registry of a host object (a test or an embedding host may carry its own), else the module's."""
    own = getattr(services, "deliveries", None)
    return own if isinstance(own, DeliveryRegistry) else REGISTRY


__all__ = ["Delivery", "DeliveryRegistry", "REGISTRY", "deliveries_of", "delivery_registry"]
