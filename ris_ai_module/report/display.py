"""How a measurement is shown in the report: display unit, decimals and the unit label doctors read.

Values are stored in RAI_MEASUREMENT in the catalog's canonical unit; the report shows them in the unit
the hospital's template expects (``[report].units``), rounded to ``[report].decimals`` or a default per
unit (dimensions in mm with 1 decimal, LVEF in % with none).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

from ris_ai_module.report.item_context import context_zh
from ris_ai_module.report.section import ReportConfig
from ris_ai_module.sr.catalog import load_catalog
from ris_ai_module.sr.model import Measurement
from ris_ai_module.sr.units import convert

#: Decimals by display unit when ``[report].decimals`` names none for the key.
DEFAULT_DECIMALS: Mapping[str, int] = {
    "mm": 1, "cm": 1, "m": 2, "%": 0, "ml": 0, "l": 2, "ml/m2": 1, "g": 0, "g/m2": 1, "cm/s": 0,
    "m/s": 2, "mm/s": 0, "ms": 0, "s": 2, "mm[Hg]": 1, "{ratio}": 2, "1": 2, "l/min": 2, "l/min/m2": 2,
    "/min": 0, "{beats}/min": 0, "cm2": 2, "mm2": 1, "d": 0, "wk": 1,
}

#: Keys shown with more (or fewer) decimals than their unit's default, as Chinese echo reports write them.
DEFAULT_KEY_DECIMALS: Mapping[str, int] = {
    **{k: 1 for k in (
        "E_PRIME_SEPTAL", "E_PRIME_LATERAL", "E_PRIME_AVG", "A_PRIME_SEPTAL", "A_PRIME_LATERAL",
        "S_PRIME_SEPTAL", "S_PRIME_LATERAL", "TV_E_PRIME", "TV_A_PRIME", "TV_S_PRIME",
        "E_E_PRIME_SEPTAL", "E_E_PRIME_LATERAL", "E_E_PRIME_AVG", "CO", "CI",
    )},
    **{k: 0 for k in ("FOLLICLE_COUNT_LEFT", "FOLLICLE_COUNT_RIGHT")},  # a count, shown whole
    **{k: 1 for k in ("OVARY_VOLUME", "FOLLICLE_VOLUME")},  # a few ml: one decimal, as GYN reports write it
}

#: How a UCUM code is printed in a Chinese report (UCUM's brackets and annotations are not for readers).
UNIT_LABELS: Mapping[str, str] = {
    "mm[Hg]": "mmHg", "{ratio}": "", "1": "", "l/min": "L/min", "l/min/m2": "L/(min·m²)", "l": "L",
    "cm2": "cm²", "mm2": "mm²", "g/m2": "g/m²", "ml/m2": "ml/m²", "/min": "次/分", "{beats}/min": "次/分",
    "d": "天", "wk": "周", "{z-score}": "",
}


@dataclass(frozen=True)
class ReportItem:
    """One measurement as the report shows it; ``key`` may carry a suffix (``CCA_PSV_L``) when repeated."""

    key: str
    name_zh: str
    name_en: str
    value: float | None
    unit: str
    display_value: str
    display_unit: str
    source_uid: str
    base_key: str = ""
    #: NUM, or CODE/TEXT for a finding (a category or descriptor: ``value`` None, the wording in display).
    value_type: str = "NUM"
    #: The coded value as sent ({scheme, code, meaning}) of a CODE finding.
    code: Mapping[str, str] | None = None
    #: Chinese context for the findings template (side, site, position, vessel, fetus, lesion).
    context: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def display(self) -> str:
        """Value and unit as written in Chinese report text: ``48.0mm``, ``62%``, ``1.25``."""
        return f"{self.display_value}{self.display_unit}"

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "key": self.key, "name_zh": self.name_zh, "name_en": self.name_en, "value": self.value,
            "unit": self.unit, "display": self.display, "display_value": self.display_value,
            "display_unit": self.display_unit, "source_uid": self.source_uid,
        }
        if self.value_type != "NUM":  # issue 8: a category or descriptor, with its code
            out.update(value_type=self.value_type, code=dict(self.code) if self.code else None)
        return out


def format_number(value: float, decimals: int) -> str:
    """Round half up (as doctors round, not banker's rounding); never ``-0``."""
    quantum = Decimal(1).scaleb(-decimals)
    text = str(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))
    return text[1:] if text.startswith("-") and Decimal(text) == 0 else text


def unit_label(ucum: str) -> str:
    return UNIT_LABELS.get(ucum, ucum)


def report_item(
    cfg: ReportConfig, key: str, name_zh: str, name_en: str, value: float, unit: str, source_uid: str,
    base_key: str | None = None,
) -> ReportItem:
    """Build the display form of one canonical value; settings are looked up by ``base_key`` (no suffix)."""
    lookup_key = base_key or key
    shown_unit = cfg.units.get(lookup_key, unit)
    shown = value
    if shown_unit != unit:
        converted, _problem = convert(value, unit, shown_unit)
        if converted is None:  # an incompatible display unit: show the canonical one rather than a wrong number
            shown_unit = unit
        else:
            shown = converted
    default = DEFAULT_KEY_DECIMALS.get(lookup_key) if shown_unit == unit else None
    decimals = cfg.decimals.get(lookup_key, default if default is not None else DEFAULT_DECIMALS.get(shown_unit, 2))
    return ReportItem(
        key=key, name_zh=name_zh, name_en=name_en, value=value, unit=unit,
        display_value=format_number(shown, decimals), display_unit=unit_label(shown_unit), source_uid=source_uid,
        base_key=lookup_key,
    )


def finding_item(m: Measurement, key: str, name_suffix: str, source_uid: str) -> ReportItem:
    """The report form of a CODE/TEXT finding: its Chinese wording (``4A类``, ``低回声``), no unit."""
    shown = m.value_zh or (m.code_value.meaning if m.code_value is not None else (m.text_value or "").strip())
    code = m.code_value.to_dict() if m.code_value is not None else None
    return ReportItem(
        key=key, name_zh=(m.name_zh or m.name_en) + name_suffix, name_en=m.name_en, value=None, unit="",
        display_value=shown, display_unit="", source_uid=source_uid, base_key=str(m.key), value_type=m.value_type,
        code=code,
    )


def _reported(m: Measurement) -> bool:
    """Selected, identified, not held for review, and with a value (a number with its unit, or a finding)."""
    if not (m.selected and m.key) or m.hold:
        return False
    if m.value_type != "NUM":
        return m.has_value
    return m.value is not None and bool(m.unit)


def by_key(items: Iterable[ReportItem]) -> dict[str, ReportItem]:
    return {item.key: item for item in items}


_SIDES = {"left": ("L", "左"), "right": ("R", "右"), "bilateral": ("B", "双侧")}
#: Vessel segment (TID 5104 Topographical modifier, CID 12116) -> key suffix and Chinese name.
_SEGMENTS = {
    "proximal": ("PROX", "近段"), "middle": ("MID", "中段"), "mid": ("MID", "中段"), "distal": ("DIST", "远段"),
    "origin of vessel": ("ORIG", "起始段"), "dilated portion of segment": ("DIL", "膨大部"),
}
#: Identity roles that never enter the key (they are part of the key's own concept, or not identity).
_IN_KEY = frozenset({"finding_site", "vessel", "laterality", "topographical_modifier", "fetus_id", "lesion",
                     "identifier", "anatomic_id", "derivation", "selection_status", "subject_class"})


def _clean(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", text)


def _variant(context: Mapping[str, str], echo: bool = False) -> tuple[str, str]:
    """Key suffix and Chinese name suffix from the measurement's context: side, segment, fetus, lesion,
    follicle or anatomic identifier. Derived from the context only, so the same value has the same key in
    every SR of the exam (issue 8 item 12), whatever else the SR contains."""
    suffix, name = "", ""
    side = _SIDES.get((context.get("laterality") or "").strip().lower())
    if side:
        suffix, name = f"_{side[0]}", f"（{side[1]}）"
    segment = _SEGMENTS.get((context.get("topographical_modifier") or "").strip().lower())
    if segment:
        suffix, name = f"{suffix}_{segment[0]}", f"{name}（{segment[1]}）"
    fetus = (context.get("fetus_id") or "").strip()
    if fetus:
        suffix, name = f"{suffix}_F{_clean(fetus)}", f"{name}（胎儿{fetus}）"
    for role, label in (("lesion", "病灶"), ("identifier", "编号"), ("anatomic_id", "")):
        if role == "lesion" and echo:
            # A TID 1500 Tracking Identifier on a cardiac measurement ("LV") names the tracked structure,
            # not a lesion: "左室射血分数（病灶LV）" would be wrong words in the report.
            continue
        ident = (context.get(role) or "").strip()
        if ident:
            suffix, name = f"{suffix}_{_clean(ident)}", f"{name}（{label}{ident}）"
    return suffix, name


def _extra(context: Mapping[str, str]) -> str:
    """A stable suffix from the rest of the context, for values that still share a key (2D vs M-mode)."""
    parts = [_clean(v) for k, v in sorted(context.items()) if k not in _IN_KEY and not k.startswith("acquisition:") and v]
    return "_" + "_".join(p for p in parts if p) if any(parts) else ""


def _extra_zh(m: Measurement) -> str:
    """The Chinese words of that rest of the context (``（心尖四腔心切面）``, ``（吸气相）``): two values that
    share a name must not read the same in the report."""
    zh = context_zh(m)
    parts = [zh[k] for k in sorted(m.context) if k not in _IN_KEY and not k.startswith("acquisition:") and zh.get(k)]
    return f"（{'，'.join(parts)}）" if parts else ""


def report_items(cfg: ReportConfig, measurements: Iterable[Measurement], source_uid: str) -> list[ReportItem]:
    """The reported values: selected, identified, converted measurements, one item per (key, variant).

    The key of a value measured per side, segment, fetus or lesion always carries that context
    (``CCA_PSV_L``, ``ICA_PSV_R_PROX``, ``BPD_FA``): it is the same in every SR of the exam, so a newer SR
    replaces exactly the values it re-measures. Two values that still share a key differ in some other
    context (image mode, method …), which is appended (``LVIDd_Mmode``) — never a counter that would
    depend on the order of the items in one file.
    """
    chosen = [m for m in measurements if _reported(m)]
    keyed: list[tuple[Measurement, str, str]] = []
    count: dict[str, int] = {}
    for m in chosen:
        info = load_catalog().keys.get(str(m.key))
        suffix, name_suffix = _variant(m.context, echo=info is not None and info.domain == "echo")
        key = str(m.key) + suffix
        keyed.append((m, key, name_suffix))
        count[key] = count.get(key, 0) + 1
    final = [(m, key + _extra(m.context), name + _extra_zh(m)) if count[key] > 1 else (m, key, name)
             for m, key, name in keyed]
    seen: dict[str, int] = {}
    for _m, key, _name in final:
        seen[key] = seen.get(key, 0) + 1
    items: list[ReportItem] = []
    for m, key, name_suffix in final:
        if seen[key] > 1:  # two values no context tells apart: neither is written (both stay in RAI_MEASUREMENT)
            continue
        if m.value_type != "NUM":  # a category or descriptor (issue 8 item 9)
            item = finding_item(m, key, name_suffix, source_uid)
        else:
            item = report_item(cfg, key, (m.name_zh or m.name_en) + name_suffix, m.name_en, float(m.value),  # type: ignore[arg-type]
                               str(m.unit), source_uid, base_key=str(m.key))
        items.append(replace(item, context=context_zh(m)))
    return items
