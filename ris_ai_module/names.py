"""Patient names compared the way a Chinese hospital writes them: one module for the DICOM side and the web.

A name reaches us as a DICOM PN (``Zhang^San=张^三=``: alphabetic, ideographic and phonetic groups, ``^``
between family and given name), as RIS text (``张三``, ``ZHANG SAN``, full-width ``ＺＨＡＮＧ　ＳＡＮ``), or
typed into the search box as pinyin. ``names_agree`` answers the patient check's question: do two names
*contradict* each other? Only comparable forms are compared (Han with Han, Latin with Latin, Han through its
pinyin readings with Latin); a missing or incomparable name contradicts nothing. ``pinyin_keys`` gives the
spellings the web's search matches. Imports nothing of ours: every layer may use it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import product
from math import prod

#: Readings tried per name: every reading of every character while their product stays under this;
#: beyond it, every reading of the surname (first character) and the usual reading of the others.
MAX_SPELLINGS = 32

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
_LATIN = re.compile(r"[a-z]")


@lru_cache(maxsize=50_000)  # names use a few thousand distinct characters
def readings(char: str) -> tuple[str, ...]:
    """Every toneless reading of one character: 曾 -> ("ceng", "zeng"), 吕 -> ("lv", "lu"); a letter or
    digit stands for itself; punctuation and spaces for nothing."""
    from pypinyin import Style, pinyin

    found = pinyin(char, style=Style.NORMAL, heteronym=True, errors="ignore")
    out = [r.lower() for r in found[0]] if found else []
    out += [r.replace("v", "u") for r in out if "v" in r]  # 吕: typed "lv" or "lu"
    if not out:
        out = [char.lower()] if char.isalnum() else [""]
    return tuple(dict.fromkeys(out))


@lru_cache(maxsize=200_000)
def pinyin_keys(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """张三丰 -> (("zhangsanfeng",), ("zsf",)): the spellings a sonographer may type for a Chinese name.

    Every reading of a polyphonic character counts (曾 is "zeng" as a surname though "ceng" is the usual
    reading), computed per character and cached.
    """
    per_char = [r for r in (readings(c) for c in name) if r != ("",)]
    if not per_char:
        return (), ()
    if prod(len(r) for r in per_char) > MAX_SPELLINGS:
        per_char = [per_char[0], *((r[0],) for r in per_char[1:])]
    spellings = list(product(*per_char))
    full = tuple(dict.fromkeys("".join(s) for s in spellings))
    initials = tuple(dict.fromkeys("".join(syllable[:1] for syllable in s) for s in spellings))
    return full, initials


def fold(text: str) -> str:
    """Full-width to half-width (NFKC), accents and tone marks off (ü -> u), lower case."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return text.lower()


@dataclass(frozen=True)
class NameForms:
    """The comparable forms of one name: Han characters in order, and Latin spellings (letters only)."""

    han: frozenset[str]
    latin: frozenset[str]

    @property
    def empty(self) -> bool:
        return not self.han and not self.latin


def _latin_spellings(component_groups: list[list[str]]) -> set[str]:
    """Letters only; family-given and given-family order (``SAN^ZHANG`` / ``San Zhang`` is still 张三)."""
    out: set[str] = set()
    for parts in component_groups:
        words = [re.sub(r"[^a-z]", "", p) for p in parts]
        words = [w for w in words if w]
        if not words:
            continue
        out.add("".join(words))
        out.add("".join(reversed(words)))
    return out


def name_forms(name: str | None) -> NameForms:
    """Split a PN or plain-text name into its Han and Latin forms (``=`` groups, ``^`` components, spaces)."""
    if not name:
        return NameForms(frozenset(), frozenset())
    text = fold(str(name))
    han: set[str] = set()
    latin_groups: list[list[str]] = []
    for group in text.split("="):
        chars = "".join(_HAN.findall(group))
        if chars:
            han.add(chars)
        elif _LATIN.search(group):
            parts = [p for p in re.split(r"[\^\s,，·.\-']+", group) if p]
            if "^" in group:  # DICOM components: family^given^middle^prefix^suffix; prefix/suffix are not the name
                components = group.split("^")
                parts = [p for c in components[:3] for p in re.split(r"[\s\-'.]+", c) if p]
            latin_groups.append(parts)
    return NameForms(frozenset(han), frozenset(_latin_spellings(latin_groups)))


def _han_spellings(han: str) -> set[str]:
    full, _initials = pinyin_keys(han)
    spellings = set(full)
    spellings |= {s.replace("v", "u") for s in spellings}
    if len(han) >= 2:  # given name first (西式): 三张 -> sanzhang, compound surnames aside
        given_first = pinyin_keys(han[1:] + han[0])[0]
        spellings |= set(given_first) | {s.replace("v", "u") for s in given_first}
    return spellings


def names_agree(a: str | None, b: str | None) -> tuple[bool, str]:
    """(True, how) when the names do not contradict each other; (False, why) when they do.

    Comparable pairs: Han with Han (equal characters), Latin with Latin (equal letters, either order), Han
    with Latin (one pinyin reading of the Han name spells the Latin one). Nothing comparable agrees.
    """
    fa, fb = name_forms(a), name_forms(b)
    if fa.empty or fb.empty:
        return True, "a name is missing: not compared"
    if fa.han and fb.han:
        if fa.han & fb.han:
            return True, "same Chinese name"
        return False, f"Chinese names differ ({'/'.join(sorted(fa.han))} vs {'/'.join(sorted(fb.han))})"
    if fa.latin and fb.latin:
        if fa.latin & fb.latin:
            return True, "same Latin name"
        if not (fa.han or fb.han):
            return False, "Latin names differ"
    for han_side, latin_side in ((fa, fb), (fb, fa)):
        if han_side.han and latin_side.latin:
            spellings = set().union(*(_han_spellings(h) for h in han_side.han))
            if spellings & {s.replace("v", "u") for s in latin_side.latin} or spellings & latin_side.latin:
                return True, "pinyin of the Chinese name matches"
            return False, "the Latin name is not a pinyin reading of the Chinese name"
    return True, "not comparable"


def same_patient_id(a: str | None, b: str | None) -> bool:
    """IDs compare as text after trimming and full-width folding (``Ｐ００１`` is ``P001``); case is ignored.
    Leading zeros count: 0012 and 12 can be two patients."""
    if a is None or b is None:
        return False
    fa, fb = unicodedata.normalize("NFKC", a).strip().upper(), unicodedata.normalize("NFKC", b).strip().upper()
    return bool(fa) and fa == fb
