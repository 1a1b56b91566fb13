"""Query parameters, parsed strictly: a bad value is a 400 naming the parameter."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from ris_ai_module.errors import InvalidInput


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
