"""Relative file paths in the configuration mean: relative to the configuration file's folder.

Every field typed ``FilePath`` (in any section, nested table or list of tables) is resolved here, so a
new section gets the rule by declaring its paths with that type.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import types
from functools import cache
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from ris_ai_module.config.types import FilePath


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _fix(value: str, base: Path) -> FilePath:
    return FilePath(str((base / value).resolve())) if value and not Path(value).is_absolute() else FilePath(value)


def _resolve(value: Any, hint: Any, base: Path) -> Any:
    if hint is FilePath:
        return _fix(value, base)
    if dataclasses.is_dataclass(value):
        return resolve_file_paths(value, base)
    if get_origin(hint) is tuple:
        (item,) = get_args(hint)[:1]
        return tuple(_resolve(v, item, base) for v in value)
    if get_origin(hint) in (dict, collections.abc.Mapping) and get_args(hint)[1:] == (FilePath,):
        return types.MappingProxyType({k: _fix(v, base) for k, v in value.items()})
    return value


def resolve_file_paths(obj: Any, base: Path) -> Any:
    """A copy of the dataclass ``obj`` with every FilePath made absolute against ``base``."""
    changes = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        new = _resolve(value, _hints(type(obj))[f.name], base)
        if new is not value:
            changes[f.name] = new
    return dataclasses.replace(obj, **changes) if changes else obj
