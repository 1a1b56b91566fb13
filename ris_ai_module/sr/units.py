"""UCUM unit conversion from a data table (``catalog/units.csv``).

Only units listed in the table are converted, and only between units of the same dimension: a value
is never rescaled because of its size. UCUM annotations are unity, as UCUM says (§ 2.1.6): ``{beats}/min``
and ``{H.B.}/min`` are ``/min``, and a bare annotation (``{ratio}``, ``{z-score}``, ``{fetuses}``) is
dimensionless ``1``; a dimensionless value is never converted to a length or any other dimension.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

_ANNOTATION = re.compile(r"\{[^}]*\}")


@dataclass(frozen=True, slots=True)
class Unit:
    """A UCUM unit code with its dimension and its factor to the dimension's base unit."""

    code: str
    dimension: str
    factor: float


@lru_cache(maxsize=1)
def unit_table() -> dict[str, Unit]:
    text = resources.files("ris_ai_module.sr").joinpath("catalog/units.csv").read_text(encoding="utf-8")
    return {
        row["ucum"]: Unit(row["ucum"], row["dimension"], float(row["factor"]))
        for row in csv.DictReader(text.splitlines())
    }


@lru_cache(maxsize=1024)
def lookup(code: str | None) -> Unit | None:
    """The Unit for a UCUM code, or None if the code is missing or not in the table."""
    if not code:
        return None
    table = unit_table()
    code = code.strip()
    if code in table:
        return table[code]
    stripped = _ANNOTATION.sub("", code)
    if stripped == code:
        return None
    if stripped in ("", "/", "."):
        return table["1"]
    if stripped.startswith("/"):  # "{H.B.}/min": the annotation stands for unity, so 1/min
        return table.get(stripped) or table.get("1" + stripped)
    if stripped.endswith((".", "/")):  # "mm.{x}" or "cm/{x}": the trailing unity term
        return table.get(stripped[:-1])
    return table.get(stripped)


def convertible(from_code: str | None, to_code: str) -> bool:
    src, dst = lookup(from_code), lookup(to_code)
    return src is not None and dst is not None and src.dimension == dst.dimension


def convert(value: float, from_code: str | None, to_code: str) -> tuple[float | None, str | None]:
    """Convert ``value`` from one UCUM unit to another; return (value, None) or (None, reason)."""
    src = lookup(from_code)
    if src is None:
        return None, f"unit {from_code!r} is missing or not a known UCUM unit" if from_code else "no unit"
    dst = lookup(to_code)
    if dst is None:
        return None, f"canonical unit {to_code!r} is not in the unit table"
    if src.dimension != dst.dimension:
        return None, f"unit {from_code!r} ({src.dimension}) cannot be converted to {to_code!r} ({dst.dimension})"
    if src.factor == dst.factor:
        return value, None
    return float(f"{value * src.factor / dst.factor:.12g}"), None
