"""UID validation: the one gate between a peer's UIDs and a file path under ``storage.root``."""

from __future__ import annotations

from ris_ai_module.config.types import is_valid_uid

__all__ = ["is_valid_uid", "uid_problem"]


def uid_problem(name: str, value: object) -> str | None:
    """None when ``value`` is a valid UID, else a short reason naming the attribute (for an Error Comment)."""
    if value is None or value == "":
        return f"{name} missing"
    if not is_valid_uid(value):
        return f"{name} is not a valid UID"
    return None
