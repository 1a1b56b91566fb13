"""UID validation: the one gate between a peer's UIDs and a file path under ``storage.root``."""

from __future__ import annotations

import re

#: PS3.5 §9.1: components of digits, no leading zero (except "0" itself), separated by dots, at most 64 chars.
_UID = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$")


def is_valid_uid(value: object) -> bool:
    """True for a conformant UID. Such a UID holds only digits and dots, so it can never leave a folder."""
    return isinstance(value, str) and len(value) <= 64 and bool(_UID.match(value))


def uid_problem(name: str, value: object) -> str | None:
    """None when ``value`` is a valid UID, else a short reason naming the attribute (for an Error Comment)."""
    if value is None or value == "":
        return f"{name} missing"
    if not is_valid_uid(value):
        return f"{name} is not a valid UID"
    return None
