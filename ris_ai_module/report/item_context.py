"""What a findings template needs beyond the value: the Chinese context of a measurement, and findings.

``context_zh`` turns a measurement's modifiers into the words a Chinese report writes (side 右, site
甲状腺侧叶, position 中部, vessel 颈总动脉, fetus A, lesion 1), from the catalog's display names, so a
template can say ``甲状腺{@side}叶{@position}结节`` or ``{@side}侧{@vessel}``. The
report form of a CODE/TEXT finding is :func:`ris_ai_module.report.display.finding_item`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ris_ai_module.sr.catalog import load_catalog
from ris_ai_module.sr.items import normalise_code
from ris_ai_module.sr.model import Measurement

#: Modifier role -> the name templates use for it ({@side} …); other roles keep their own name.
ALIASES: Mapping[str, str] = {
    "laterality": "side", "fetus_id": "fetus", "topographical_modifier": "position", "finding_site": "site",
    "identifier": "follicle",
}
#: Roles that say how a value was chosen or derived, not where it is: never template context.
_NOT_CONTEXT = frozenset({"derivation", "selection_status", "z_score", "qualifier", "references", "lesion_uid"})


def _zh(mod: Mapping[str, Any], values: Mapping[tuple[str, str], tuple[str, str, str]]) -> str:
    if "code" in mod:
        known = values.get(normalise_code(str(mod.get("scheme", "")), str(mod.get("code", ""))))
        return (known[1] if known and known[1] else "") or str(mod.get("meaning") or mod.get("code") or "")
    if "text" in mod:
        return str(mod.get("text") or "")
    value = mod.get("value")
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def context_zh(m: Measurement) -> dict[str, str]:
    """The measurement's context in Chinese report words, keyed by role and by template alias."""
    values = load_catalog().values
    out: dict[str, str] = {}
    for role, mod in m.modifiers.items():
        if role in _NOT_CONTEXT or not isinstance(mod, Mapping):
            continue
        text = _zh(mod, values).strip()
        if text:
            out[role] = text
            out.setdefault(ALIASES.get(role, role), text)
    if m.context.get("vessel") and "vessel" not in out and "finding_site" in out:
        out["vessel"] = out["finding_site"]  # the Finding Site is the vessel (kind "vessel" in values.csv)
    return out


def finding_columns(m: Measurement) -> dict[str, str | None]:
    """RAI_MEASUREMENT's value columns of a CODE/TEXT finding (0006_sr_findings); NUM rows say NUM."""
    code = m.code_value
    text = m.text_value
    return {
        "value_type": m.value_type, "value_scheme": code.scheme[:16] if code else None,
        "value_code": code.code[:64] if code else None, "value_meaning": code.meaning[:200] if code else None,
        "value_text": text[:1000] if text is not None else None,
        "value_zh": (m.value_zh or "")[:100] or None if m.value_type != "NUM" else None,
    }
