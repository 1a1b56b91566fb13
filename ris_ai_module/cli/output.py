"""Plain-text tables for the CLI: people read them on a hospital server's console."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from typing import Any
from unicodedata import east_asian_width

from ris_ai_module.db.clock import display_zone, shown


def _width(text: str) -> int:
    return sum(2 if east_asian_width(ch) in "WF" else 1 for ch in text)


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).replace("\n", " ")


#: The zone the tables show module times in (``module.timezone``); set by cli/session.need_config.
_zone: list[tzinfo] = []


def use_zone(name: str) -> None:
    _zone[:] = [display_zone(name)]


def zone() -> tzinfo:
    """The zone the CLI shows module times in (``module.timezone`` once a configuration is loaded)."""
    return _zone[0] if _zone else display_zone()


def column_cell(column: str, value: Any) -> str:
    """A column named ``*_at`` holds a RAI_* timestamp (naive UTC): shown in the configured zone, labelled
    (db/clock.shown). Other times (the RIS's own, such as an exam date) are shown as the RIS keeps them."""
    if column.endswith("_at") and isinstance(value, datetime):
        return shown(value, zone())
    return cell(value)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """Columns padded by display width, so Chinese text lines up."""
    cells = [[column_cell(c, r.get(c)) for c in columns] for r in rows]
    widths = [max([_width(c)] + [_width(row[i]) for row in cells]) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v + " " * (w - _width(v)) for v, w in zip(values, widths, strict=True)).rstrip()

    return "\n".join([line(columns), line(["-" * w for w in widths])] + [line(r) for r in cells])


def as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=cell)
