"""The module's one clock: naive UTC, as stored in every RAI_* timestamp column."""

from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)
