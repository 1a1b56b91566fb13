"""Replicates: collapse identical duplicates, then mark exactly one selected value per (key, context).

Rules (issue 3, PS3.17 I.7 "Selected Value"): Selection Status first (User chosen > Mean value chosen,
Maximum, Minimum (CID 12301) > Most recent), else a Derivation = Mean value, else the last value in
document order. Only an item that has a number in the catalog's unit and is not held for review can be
selected (issue 8): an empty, unconvertible or conflicting item is kept, never reported, and a key whose
items are all empty has no selected value at all. Identical
duplicates (GE Vivid writes every NUM twice, once with Selection Status) become one measurement,
keeping the copy that carries the most information.
"""

from __future__ import annotations

from ris_ai_module.sr.model import Measurement


def _derivation(m: Measurement) -> str | None:
    derivation = m.modifiers.get("derivation")
    return (derivation.get("normalised") or derivation.get("code")) if isinstance(derivation, dict) else None


def _derivation_name(m: Measurement) -> str:
    derivation = m.modifiers.get("derivation")
    return str(derivation.get("meaning") or derivation.get("code")) if isinstance(derivation, dict) else ""


def _dedupe_key(m: Measurement) -> tuple:
    deriv = _derivation(m)
    try:
        number: object = float(m.raw_value) if m.raw_value is not None else None
    except ValueError:
        number = m.raw_value
    return (m.group, deriv, number, m.raw_unit)


def select_and_dedupe(measurements: list[Measurement], warnings: list[str]) -> list[Measurement]:
    """Return the measurements in document order with duplicates collapsed and ``selected`` set."""
    kept: list[Measurement] = []
    seen: dict[tuple, int] = {}
    collapsed = 0
    for m in measurements:
        dkey = _dedupe_key(m)
        at = seen.get(dkey)
        if at is None:
            seen[dkey] = len(kept)
            kept.append(m)
            continue
        collapsed += 1
        if m.selection_rank > kept[at].selection_rank:
            kept[at] = m
    if collapsed:
        warnings.append(f"{collapsed} identical duplicate NUM item(s) collapsed")
    groups: dict[tuple, list[Measurement]] = {}
    for m in kept:
        groups.setdefault(m.group, []).append(m)
    derived_groups = []
    for members in groups.values():
        if all(m.derived_from is not None for m in members):
            derived_groups.append(members)
            continue
        candidates = [m for m in members if selectable(m)]
        reason = _ambiguous(candidates)
        if reason is not None:
            warnings.append(f"{members[0].key or members[0].concept.meaning}: {reason}; none reported")
            for m in candidates:
                m.hold = reason
            continue
        chosen = _pick(candidates)
        meant = _pick([m for m in members if m.has_value])  # held ones too: what the SR itself points at
        if meant is not None and meant.hold and meant is not chosen and (meant.selection_rank or meant.is_mean):
            # The flagged (or Mean) value is held: another replicate is not the reported value in its place.
            warnings.append(f"{meant.key or meant.concept.meaning}: the {'flagged' if meant.selection_rank else 'Mean'} "
                            f"value is held ({meant.hold}); no other replicate is reported in its place")
            continue
        if chosen is not None:
            chosen.selected = True
    # A derived value (IVSd_Z, BPD_GA) follows its measurement: the one of the selected replicate wins.
    chosen_paths = {m.path for m in kept if m.selected}
    for members in derived_groups:
        candidates = [m for m in members if selectable(m)]
        chosen = _pick([m for m in candidates if m.derived_from in chosen_paths]) or _pick(candidates)
        if chosen is not None:
            chosen.selected = True
    return kept


def selectable(m: Measurement) -> bool:
    """A value may be reported: it has a number (in the catalog's unit when identified) and no hold."""
    return m.has_value and not m.hold


_MOST_RECENT = 1  # selection_rank of DCM 121411 "Most recent value chosen" (sr/parse.py _SELECTION_RANK)


def _ambiguous(members: list[Measurement]) -> str | None:
    """Replicates whose derived values differ in kind (a Maximum and a Minimum, CID 3627) and none of
    which is flagged (Selection Status) or the Mean: which one is the reported value is not known. So
    too when two different values carry the best Selection Status (two "User chosen value")."""
    top = max((m.selection_rank for m in members), default=0)
    if top:
        flagged = [m for m in members if m.selection_rank == top]
        # "Most recent value chosen" on several: the latest of them is what the flag means (no conflict).
        if top > _MOST_RECENT and len({m.value for m in flagged}) > 1:
            status = flagged[-1].modifiers.get("selection_status")
            name = status.get("meaning") if isinstance(status, dict) else "selected"
            values = ", ".join(f"{v:g}" for v in dict.fromkeys(x.value for x in flagged if x.value is not None))
            return f"{len(flagged)} different values ({values}) are each flagged {name!r}: which one is reported is not known"
        return None
    if any(m.is_mean for m in members):
        return None
    kinds = {_derivation(m): _derivation_name(m) for m in members if _derivation(m) is not None}
    if len(kinds) < 2 or len({m.value for m in members}) < 2:
        return None
    return (f"values derived as {', '.join(sorted(kinds.values()))} and none flagged by Selection Status "
            "or derived as the Mean: which one is reported is not known")


def _pick(members: list[Measurement]) -> Measurement | None:
    if not members:
        return None
    best: Measurement | None = None
    for m in members:  # ">=" keeps the latest of equal rank: "most recent" wins ties
        if m.selection_rank and (best is None or m.selection_rank >= best.selection_rank):
            best = m
    if best is not None:
        return best
    means = [m for m in members if m.is_mean]
    return means[-1] if means else members[-1]
