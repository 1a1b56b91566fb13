"""CODE and TEXT findings (issue 8 item 9): categories and descriptors read like the NUM measurements.

Thyroid and breast reports are mostly categories (BI-RADS, ACR TI-RADS, C-TIRADS) and lexicon
descriptors (composition, echo pattern, shape, margin, vascularity …) per lesion. A CODE or TEXT item
becomes a :class:`~ris_ai_module.sr.model.Measurement` with ``value_type`` CODE/TEXT when

* its concept matches a rule of ``rules-findings.csv`` (by code, or by meaning where DICOM has no code,
  as for TI-RADS), in the same inherited context (lesion, site, laterality) as a NUM; or
* it is content (relationship CONTAINS) that no rule knows: it is kept unmapped, never dropped.

A rule's value sets (``finding-values.csv``) say which values it accepts: a coded value of the set
(PS3.16 CIDs such as CID 6027 for BI-RADS), a known text term, or a category label read from the text
or code meaning ("TR4", "4A", "C-TIRADS 4a类"). A category that is not on its scale is never reported:
the item is kept unmapped with a warning. Selection: one finding per (key, context); two different
values for the same lesion without a Selection Status are a conflict, and neither is reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ris_ai_module.sr import raw
from ris_ai_module.sr.catalog import Catalog, FindingValue, Rule
from ris_ai_module.sr.items import ContentItem, RelationshipType, TextDecoder
from ris_ai_module.sr.model import Measurement, Modifier

FINDING_TYPES = ("CODE", "TEXT")
#: A category label inside free text or a code meaning: "TR4", "4A", "BI-RADS 4a类", "C-TIRADS：4B".
_CATEGORY = re.compile(r"(?<![0-9A-Za-z])(TR\s*[1-5]|[0-6]\s*[ABCabc]?)(?![0-9A-Za-z])")
_SCALE_PREFIX = re.compile(r"(?i)(acr[\s-]*)?(c[\s-]*)?(ti|bi)[\s-]*rads|tirads|birads")
_NORMALISE = re.compile(r"[\s\-_/]+")
_MAX_TEXT = 1000
_CJK = re.compile(r"[\u3400-\u9fff]")


def _norm(meaning: str) -> str:
    return _NORMALISE.sub("", meaning).casefold()


_MEANING_INDEXES: dict[int, tuple[Catalog, dict[str, list[Rule]]]] = {}


def _meaning_index(findings: Catalog) -> dict[str, list[Rule]]:
    """Rules by meaning with spaces and hyphens ignored ("C-TIRADS" = "C TIRADS" = "ctirads")."""
    cached = _MEANING_INDEXES.get(id(findings))
    if cached is not None and cached[0] is findings:
        return cached[1]
    out: dict[str, list[Rule]] = {}
    for meaning, rules in findings.by_meaning.items():
        out.setdefault(_norm(meaning), []).extend(rules)
    _MEANING_INDEXES[id(findings)] = (findings, out)
    return out


def match_rule(catalog: Catalog, concept: Any, context: dict, value_type: str, manufacturer: str,
               model: str) -> Rule | None:
    """The findings rule for a CODE/TEXT concept in its context, or None."""
    findings = catalog.findings
    if findings is None:
        return None
    rule = findings.match(concept.key, concept.code, concept.meaning, context, None, manufacturer, model)
    if rule is None and concept.meaning:
        candidates = [r for r in _meaning_index(findings).get(_norm(concept.meaning), [])
                      if r.applies(context, manufacturer, model)]
        rule = max(candidates, key=lambda r: r.rank) if candidates else None
    return rule


def _category(text: str, sets: list[dict[tuple[str, str], FindingValue]]) -> FindingValue | None:
    """A category label of one of ``sets`` found in ``text`` (the first label that is on the scale)."""
    cleaned = _SCALE_PREFIX.sub(" ", text)
    for match in _CATEGORY.finditer(cleaned):
        label = re.sub(r"\s+", "", match.group(1)).upper()
        for values in sets:
            hit = values.get(("CATEGORY", label.casefold()))
            if hit is not None:
                return hit
    return None


def resolve_value(rule: Rule, catalog: Catalog, code: Any, text: str | None) -> tuple[FindingValue | None, bool, str]:
    """(known value, accepted, problem). A category scale accepts only its labels; a descriptor set
    accepts an unknown value too (shown as sent, with a warning)."""
    sets = [catalog.value_sets[name] for name in rule.values]
    if not sets:
        return None, True, ""
    if code is not None:
        for values in sets:
            hit = values.get(code.key)
            if hit is not None:
                return hit, True, ""
    term = (text if code is None else code.meaning) or ""
    for values in sets:
        hit = values.get(("TEXT", term.strip().casefold()))
        if hit is not None:
            return hit, True, ""
    is_scale = any(any(k[0] == "CATEGORY" for k in values) for values in sets)
    if is_scale:
        hit = _category(term, [v for v in sets if any(k[0] == "CATEGORY" for k in v)])
        if hit is not None:
            return hit, True, ""
        return None, False, f"{term!r} is not a category of {'/'.join(rule.values)}; not mapped"
    if code is None and _CJK.search(term):
        return None, True, ""  # Chinese text is already written as the report writes it
    shown = f"{code.scheme}:{code.code} {code.meaning!r}" if code is not None else repr(term)
    return None, True, f"value {shown} is not in {'/'.join(rule.values)}; shown as sent"


def finding(
    node: raw.Node, path: str, context: dict[str, Modifier], catalog: Catalog, decoder: TextDecoder,
    manufacturer: str, model: str, warn: Callable[[str, str], None], context_of: Callable[[dict], dict],
    group_of: Callable[[str | None, Any, dict], tuple], selection_rank: Callable[[dict], int],
) -> Measurement | None:
    """The Measurement of one CODE/TEXT item, or None when it is not a finding (see the module doc)."""
    item = ContentItem(node, decoder)
    vtype = item.value_type_text
    concept = item.name
    if concept is None:
        return None
    rule = match_rule(catalog, concept, context, vtype, manufacturer, model)
    if rule is None and item.relationship is not RelationshipType.CONTAINS:
        return None  # observation/acquisition context or a modifier no rule knows: context, not a finding
    code = item.code_value if vtype == "CODE" else None
    text = item.text_value if vtype == "TEXT" else None
    if text is not None and len(text) > _MAX_TEXT:
        warn("finding", f"{path}: TEXT value of {len(text)} characters cut to {_MAX_TEXT}")
        text = text[:_MAX_TEXT]
    if code is None and not (text and text.strip()):
        warn("finding", f"{path}: {vtype} {concept.meaning or concept.code!r} has no value")
    key, name_en, name_zh, value_zh, value_en = None, concept.meaning, "", "", ""
    if rule is not None:
        known, accepted, problem = resolve_value(rule, catalog, code, text)
        if problem:
            warn("finding", f"{path}: {concept.meaning or concept.code}: {problem}")
        if accepted:
            info = catalog.keys[rule.key]
            key, name_en, name_zh = rule.key, info.name_en, info.name_zh
            if known is not None:
                value_zh, value_en = known.name_zh, known.name_en
    if not value_zh:
        known = catalog.values.get(code.key) if code is not None else None
        value_zh = known[1] if known else (code.meaning if code is not None else (text or "").strip())
        value_en = known[0] if known else (code.meaning if code is not None else (text or "").strip())
    modifiers: dict[str, Any] = {role: mod.to_dict() for role, mod in context.items()}
    raw_value = f"{code.scheme}:{code.code}" if code is not None else (text or None)
    return Measurement(
        key=key, name_en=name_en, name_zh=name_zh, value=None, unit=None,
        raw_value=raw_value[:64] if raw_value else None, raw_unit=None, concept=concept,
        context=context_of(context), modifiers=modifiers, path=path, value_type=vtype, code_value=code,
        text_value=text, value_zh=value_zh, value_en=value_en,
        group=group_of(key, concept, context), selection_rank=selection_rank(context),
    )


def _value_identity(m: Measurement) -> tuple:
    if m.code_value is not None:
        return ("code", m.code_value.key)
    return ("text", (m.value_zh or m.text_value or "").strip().casefold())


def select_findings(measurements: list[Measurement], warnings: list[str]) -> None:
    """One selected finding per (key, context): Selection Status first, else the one value given.

    Replicates of a category make no sense: two different values for one lesion without a Selection
    Status are a conflict, kept for review and not reported (a wrong category is worse than none).
    """
    groups: dict[tuple, list[Measurement]] = {}
    for m in measurements:
        if m.value_type in FINDING_TYPES:
            m.selected = False
            if m.has_value and not m.hold:
                groups.setdefault(m.group, []).append(m)
    for members in groups.values():
        ranked = [m for m in members if m.selection_rank]
        if ranked:
            best = max(reversed(ranked), key=lambda m: m.selection_rank)  # latest of the best rank
            best.selected = True
            continue
        if len({_value_identity(m) for m in members}) > 1:
            values = ", ".join(dict.fromkeys(m.value_zh or m.raw_value or "" for m in members))
            warnings.append(f"{members[0].key or members[0].concept.meaning}: different values ({values}) for one "
                            f"{_where(members[0])}; none reported")
            continue
        members[-1].selected = True


def _where(m: Measurement) -> str:
    parts = [f"{role} {value}" for role, value in m.context.items() if role in ("lesion", "laterality", "finding_site")]
    return ", ".join(parts) or "document"
