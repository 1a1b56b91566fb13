"""What a part of the module needs from its host to work: the database engine, the configuration, the hooks;
and, for a running component, its lease owner name and the process's stop and wake events.

Structural types, so that parts below the composition root (``report``, ``dicom``, ``health``, ``web``)
name what they use without importing the service context (an import-linter contract keeps it so):
``runtime``'s AppContext fits both, and so does any host object of the public API (``ris_ai_module.api``)
that carries an engine and a Config (``Services``) plus owner, stop and wake (``Running``).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.engine import Engine

from ris_ai_module.hooks import NO_HOOKS, Hooks

if TYPE_CHECKING:
    from ris_ai_module.settings import Config


class Services(Protocol):
    @property
    def config(self) -> Config: ...

    @property
    def engine(self) -> Engine: ...

    @property
    def hooks(self) -> Hooks | None: ...


class Running(Services, Protocol):
    """A component that runs in the service: who it is (lease owner, ``host:pid``), when to stop, whom to wake."""

    @property
    def owner(self) -> str: ...

    @property
    def stop(self) -> threading.Event: ...

    @property
    def wake(self) -> threading.Event: ...


def hooks_of(services: object) -> Hooks:
    """The hooks of a host object, or none (a host built before hooks existed, a test's own object)."""
    return getattr(services, "hooks", None) or NO_HOOKS
