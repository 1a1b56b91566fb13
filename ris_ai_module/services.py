"""What a part of the module needs from its host to work: the database engine, the configuration, the hooks.

A structural type, so that parts below the composition root (``report``, ``dicom``, ``health``, ``web``)
name what they use without importing the service context: ``runtime``'s AppContext fits it, and so does
any host object of the public API (``ris_ai_module.api``) that carries an engine and a Config.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.engine import Engine

from ris_ai_module.config.schema import Config
from ris_ai_module.hooks import NO_HOOKS, Hooks


class Services(Protocol):
    @property
    def config(self) -> Config: ...

    @property
    def engine(self) -> Engine: ...

    @property
    def hooks(self) -> Hooks | None: ...


def hooks_of(services: object) -> Hooks:
    """The hooks of a host object, or none (a host built before hooks existed, a test's own object)."""
    return getattr(services, "hooks", None) or NO_HOOKS
