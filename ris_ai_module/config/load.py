"""TOML file -> frozen configuration dataclass, strictly; generic over the schema it is given.

The schema is a dataclass of section dataclasses with ``validate()`` and ``resolve_paths(base)`` (the
module's is ``ris_ai_module.settings.Config``; this package never imports the parts that own the sections).
Every key is checked against those dataclasses: an unknown key, a wrong type or a missing
required key stops start-up with a message naming the dotted key and what was expected. Nothing is
coerced silently. Any string key ``k`` may instead be given as ``k_env = "VAR"``: its value is then read
from the environment variable VAR at load time (for passwords and tokens that must not sit in a file).
"""

from __future__ import annotations

import collections.abc
import dataclasses
import os
import sys
import types
import typing
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar, Union, get_args, get_origin, get_type_hints

from ris_ai_module.config.types import ByteSize, Duration, FilePath
from ris_ai_module.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ENV_SUFFIX = "_env"


class Schema(Protocol):
    """What the loader needs of a whole-configuration dataclass."""

    def validate(self) -> None: ...

    def resolve_paths(self: _S, base: Path) -> _S: ...


_S = TypeVar("_S", bound=Schema)


def load_file(schema: type[_S], path: str | os.PathLike[str], environ: typing.Mapping[str, str] | None = None) -> _S:
    """Read and validate a configuration file; relative paths in it are resolved against its folder."""
    file = Path(path)
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("--config", f"file not found: {file}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError("--config", f"{file} is not UTF-8 text: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("--config", f"{file} is not valid TOML: {exc}") from None
    config = build_config(schema, raw, environ=os.environ if environ is None else environ)
    return config.resolve_paths(file.resolve().parent)


def build_config(schema: type[_S], raw: dict[str, Any], environ: typing.Mapping[str, str] | None = None) -> _S:
    """A validated ``schema`` instance from a TOML-shaped dict; errors name the dotted key."""
    config: _S = _build(schema, raw, "", os.environ if environ is None else environ)
    config.validate()
    return config


def _build(cls: type, raw: Any, prefix: str, environ: typing.Mapping[str, str]) -> Any:
    where = prefix.rstrip(".") or "(top level)"
    if not isinstance(raw, dict):
        raise ConfigError(where, f"expected a table, got {_describe(raw)}")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key.endswith(ENV_SUFFIX) and key[: -len(ENV_SUFFIX)] in fields:
            name = key[: -len(ENV_SUFFIX)]
            if hints[name] not in (str, FilePath):
                raise ConfigError(prefix + key, f"{prefix + name} cannot be read from the environment")
            if name in raw:
                raise ConfigError(prefix + key, f"give either {prefix + name} or {prefix + key}, not both")
            if not isinstance(value, str) or not value:
                raise ConfigError(prefix + key, "expected the name of an environment variable")
            if value not in environ:
                raise ConfigError(prefix + key, f"environment variable {value} is not set")
            values[name] = environ[value]
            continue
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(prefix + key, f"unknown key (known keys here: {known})")
        values[key] = _convert(hints[key], value, prefix + key, environ)
    for name, f in fields.items():
        if name not in values and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            if dataclasses.is_dataclass(hints[name]):
                _build(hints[name], {}, f"{prefix}{name}.", environ)  # names the first missing key inside
            raise ConfigError(prefix + name, "required key is missing")
    return cls(**values)


def _convert(hint: Any, value: Any, key: str, environ: typing.Mapping[str, str]) -> Any:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(hint) if a is not type(None)]
        return _convert(options[0], value, key, environ)
    if origin is Literal:
        allowed = get_args(hint)
        if value not in allowed:
            shown = ", ".join(str(a).lower() if isinstance(a, bool) else repr(a) for a in allowed)  # as TOML writes them
            raise ConfigError(key, f"expected one of {shown}, got {value!r}")
        return value
    if origin is tuple:
        item = get_args(hint)[0]
        if not isinstance(value, list):
            raise ConfigError(key, f"expected a list, got {_describe(value)}")
        return tuple(_convert(item, v, f"{key}[{i}]", environ) for i, v in enumerate(value))
    if origin in (dict, typing.Mapping, collections.abc.Mapping) or hint is dict:
        item = get_args(hint)[1] if get_args(hint) else Any
        if not isinstance(value, dict):
            raise ConfigError(key, f"expected a table, got {_describe(value)}")
        return types.MappingProxyType({k: _convert(item, v, f"{key}.{k}", environ) for k, v in value.items()})
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, key + ".", environ)
    if hint in (Duration, ByteSize):
        try:
            return hint.parse(value)
        except ValueError as exc:
            raise ConfigError(key, str(exc)) from None
    if hint is Any:
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(key, f"expected true or false, got {_describe(value)}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, f"expected a whole number, got {_describe(value)}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(key, f"expected a number, got {_describe(value)}")
        return float(value)
    if hint in (str, FilePath):
        if not isinstance(value, str):
            raise ConfigError(key, f"expected a {'path' if hint is FilePath else 'string'}, got {_describe(value)}")
        return hint(value)
    raise ConfigError(key, f"unsupported type in schema: {hint!r}")  # a schema bug, named anyway


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"
