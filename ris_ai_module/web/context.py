"""What a route module gets from the application: the service context, the caller, the audit trail.

A structural type, so that route modules depend on this small contract and not on ``app`` (which
imports them to install their routes): no import cycle between the app and its routes.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol


class RouteContext(Protocol):
    @property
    def ctx(self) -> Any: ...

    def user(self, role: str = "viewer") -> Any: ...

    def audited(self, actor: str, action: str, target: str | None) -> AbstractContextManager[Any]: ...
