"""The module's one clock: naive UTC, as stored in every RAI_* timestamp column; and how a time is shown to a
person (CLI, status page, daily report, alerts): in the one configured zone (``module.timezone``, default the
machine's), always labelled with its UTC offset, so that nobody has to guess whether a time is UTC."""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def display_zone(name: str = "") -> tzinfo:
    """The zone times are shown in: ``module.timezone`` (checked at load), or the machine's when empty."""
    if name:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    local = datetime.now().astimezone().tzinfo
    return local if local is not None else timezone.utc


def to_zone(value: datetime, zone: tzinfo) -> datetime:
    """A module timestamp (naive = UTC, as stored) or an aware one, as an aware time in ``zone``."""
    aware = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value
    return aware.astimezone(zone)


def label(value: datetime) -> str:
    """The label of an aware time: its UTC offset, ``+08:00``."""
    offset = value.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def shown(value: datetime | str | None, zone: tzinfo, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """The one way a module time is written for a person: ``2026-12-02 18:00:00 +08:00``. ``value`` is a
    RAI_* timestamp (naive UTC; ISO text as SQLite may return it) or an aware time; None is ""."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    local = to_zone(value, zone)
    return f"{local.strftime(fmt)} {label(local)}"
