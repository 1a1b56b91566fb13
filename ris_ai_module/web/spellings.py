"""How a Chinese name may be typed in pinyin: every reading of every character (polyphonic surnames
included), full syllables and initials. Used by the look-up (web/lookup.py) and the term table that
indexes it (web/name_index.py); a module of its own so that neither imports the other for it.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import product
from math import prod

from ris_ai_module.names import readings

#: Readings tried per name: every reading of every character while their product stays under this;
#: beyond it, every reading of the surname (first character) and the usual reading of the others.
_MAX_SPELLINGS = 32


#: One reading table for the look-up and the patient check (ris_ai_module/names.py, which the DICOM side uses).
_readings = readings


@lru_cache(maxsize=200_000)
def pinyin_keys(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """张三丰 -> (("zhangsanfeng",), ("zsf",)): the spellings a sonographer may type for a Chinese name.

    Every reading of a polyphonic character counts (曾 is "zeng" as a surname though "ceng" is the usual
    reading), computed per character and cached, so 100,000 names cost well under a second the first time.
    """
    spellings = name_spellings(name)
    if not spellings:
        return (), ()
    full = tuple(dict.fromkeys("".join(s) for s in spellings))
    initials = tuple(dict.fromkeys("".join(syllable[:1] for syllable in s) for s in spellings))
    return full, initials


def name_spellings(name: str) -> list[tuple[str, ...]]:
    """Every spelling of a name as a tuple of syllables (one per character that has a reading)."""
    per_char = [r for r in (_readings(c) for c in name) if r != ("",)]
    if not per_char:
        return []
    if prod(len(r) for r in per_char) > _MAX_SPELLINGS:
        per_char = [per_char[0], *((r[0],) for r in per_char[1:])]
    return list(product(*per_char))


