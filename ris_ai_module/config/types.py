"""Value types used in the configuration schema, each parsed strictly from TOML."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ris_ai_module.errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_FACTORS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


class Duration(float):
    """Seconds, written in the file as ``"30s"``, ``"10m"``, ``"2h"``, ``"7d"``, ``"250ms"`` or a plain number of seconds."""

    @classmethod
    def parse(cls, value: object) -> Duration:
        if isinstance(value, bool):
            raise ValueError(f'expected a duration like "30s" or "10m", got {value!r}')
        if isinstance(value, (int, float)):
            if value < 0:
                raise ValueError(f"expected a duration >= 0, got {value!r}")
            return cls(float(value))
        if isinstance(value, str):
            match = _DURATION.match(value)
            if match:
                return cls(float(match.group(1)) * _FACTORS[match.group(2)])
        raise ValueError(f'expected a duration like "30s" or "10m", got {value!r}')


class ByteSize(int):
    """Bytes, written as ``"500MB"``, ``"2GB"``, ``"16KB"`` or a plain integer."""

    _UNITS = {"": 1, "B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}

    @classmethod
    def parse(cls, value: object) -> ByteSize:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return cls(value)
        if isinstance(value, str):
            match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?B?)\s*$", value.upper())
            if match:
                return cls(int(float(match.group(1)) * cls._UNITS[match.group(2)]))
        raise ValueError(f'expected a size like "500MB" or a number of bytes, got {value!r}')


#: PS3.5 §9.1: components of digits, no leading zero (except "0" itself), separated by dots, at most 64 chars.
_UID = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$")


def is_valid_uid(value: object) -> bool:
    """True for a conformant DICOM UID. Such a UID holds only digits and dots, so it can never leave a folder."""
    return isinstance(value, str) and len(value) <= 64 and bool(_UID.match(value))


class FilePath(str):
    """A file or folder path; a relative one is relative to the configuration file's folder."""


def empty_mapping() -> Mapping[str, str]:
    """Default of a table-valued key: read-only, so a loaded Config cannot change."""
    return MappingProxyType({})


@dataclass(frozen=True)
class RetryConfig:
    """A task kind's retry policy, shared by the sections that declare one (``[push.retry]``, ``[outbox.retry]``,
    ``[hl7.retry]``): exponential backoff, initial, doubled (multiplier) each attempt, capped at max_delay."""

    initial: Duration = Duration(30)
    multiplier: float = 2.0
    max_delay: Duration = Duration(600)
    max_attempts: int = 20


def check_timezone(key: str, name: str) -> None:
    """An IANA time zone name this machine knows (the ``tzdata`` package supplies them on Windows)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(key, f"unknown time zone {name!r} (expected an IANA name like \"Asia/Shanghai\" or "
                               f"\"UTC\"; empty: the machine's)") from exc
