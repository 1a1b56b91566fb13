"""Query parameters, parsed strictly: a bad value is a 400 naming the parameter."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta

from ris_ai_module.errors import InvalidInput


class Query:
    """A request's query parameters as text. Bottle hands them over as the URL's bytes decoded as latin-1 (WSGI):
    read with ``.get()``, a Chinese account name in ``/api/audit?actor=`` never matched, and a value's length was
    counted in bytes (a 10-character ``kind`` of 4-byte characters was "more than 20"). Invalid UTF-8 is a 400
    naming the parameter, not a value taken as absent."""

    def __init__(self, raw: Mapping[str, str]) -> None:
        self._raw = raw

    def get(self, name: str) -> str | None:
        value = self._raw.get(name)
        if value is None:
            return None
        try:
            return value.encode("latin-1").decode("utf-8")
        except UnicodeError:
            raise InvalidInput(name, "not valid UTF-8") from None


def text(value: str | None, field: str, max_len: int = 64) -> str | None:
    if value is None or not value.strip():
        return None
    if len(value) > max_len:
        raise InvalidInput(field, f"at most {max_len} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):  # PostgreSQL refuses NUL in any string
        raise InvalidInput(field, "control characters (such as NUL) are not allowed")
    return value.strip()


#: Dates a search may name (every database the module supports stores these; beyond, "to" + 1 day overflows).
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2199, 12, 31)


def day(value: str | None, field: str, end: bool = False) -> datetime | None:
    """``YYYY-MM-DD``; as an end of range it means "up to the end of that day"."""
    if not value:
        return None
    try:
        d = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(field, f"expected a date YYYY-MM-DD, got {value!r}") from None
    if not FIRST_DAY <= d <= LAST_DAY:
        raise InvalidInput(field, f"expected a date from {FIRST_DAY} to {LAST_DAY}, got {value!r}")
    start = datetime(d.year, d.month, d.day)
    return start + timedelta(days=1) if end else start


def integer(value: str | None, field: str, default: int, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput(field, f"expected a whole number, got {value!r}") from None
    if not low <= number <= high:
        raise InvalidInput(field, f"expected {low} to {high}, got {number}")
    return number


def flag(value: str | None, field: str) -> bool:
    """A true/false query parameter (``true``/``false``, ``1``/``0``, ``yes``/``no``); absent is false."""
    if value is None or value == "":
        return False
    text = value.strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise InvalidInput(field, f"expected true or false, got {value!r}")
