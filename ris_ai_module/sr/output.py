"""Rendering of parsed SRs: the JSON contract, and a table for people (Chinese names, values, units)."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence

from ris_ai_module.sr.model import Measurement, ParsedSR


def to_json(results: Sequence[ParsedSR]) -> str:
    """One object for one file, a list for several (the ``parse-sr --format json`` contract)."""
    data = [r.to_dict() for r in results]
    return json.dumps(data[0] if len(data) == 1 else data, ensure_ascii=False, indent=2)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _value(m: Measurement) -> str:
    if m.value_type != "NUM":  # a CODE/TEXT finding: its Chinese name, else the value as sent
        return m.value_zh or (f"({m.raw_value})" if m.raw_value is not None else "-")
    if m.value is not None:
        return f"{m.value:g}"
    return f"({m.raw_value})" if m.raw_value is not None else "-"


def to_table(result: ParsedSR, source: str = "") -> str:
    """A fixed-width table: selected values first marked with '*', then replicates and unmapped items."""
    head = f"{source}  {result.patient_name}  {result.accession_number}  TID {result.document_template or '?'}"
    rows = [("", "key", "名称", "name", "value", "unit", "context", "path")]
    for m in result.measurements:
        shown = (f"{k[12:]} {v}" if k.startswith("acquisition:") else v  # acquisition context: name and value
                 for k, v in m.context.items() if k not in ("selection_status", "derivation", "lesion_uid") and v)
        ctx = ", ".join(dict.fromkeys(shown))  # vessel repeats the finding site: show it once
        if m.hold:
            ctx = f"{ctx}; held: {m.hold}" if ctx else f"held: {m.hold}"
        rows.append(("*" if m.selected else "", m.key or "-", m.name_zh, m.name_en, _value(m), m.unit or m.raw_unit or "",
                     ctx, m.path))
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [head.strip()] + ["  ".join(_pad(c, w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines += [f"! {w}" for w in result.warnings]
    return "\n".join(lines)
