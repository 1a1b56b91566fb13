"""Parts of the system named by import path, so that a part absent from a slimmed install is skipped.

Used by the task registry, the components of ``run`` and the demo writer; a module that exists but fails
to import is a bug and still raises.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


def import_optional(module_name: str) -> ModuleType | None:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return None


def resolve(target: str) -> Any | None:
    """``"package.module:attribute"`` -> the attribute, or None when the module is not installed."""
    module_name, attribute = target.split(":")
    module = import_optional(module_name)
    return None if module is None else getattr(module, attribute)
