"""Unit conversion, the catalog (incl. a hospital overlay) and the replicate selection rules."""

from __future__ import annotations

import pytest

from ris_ai_module.errors import InvalidInput
from ris_ai_module.sr.catalog import load_catalog
from ris_ai_module.sr.parse import parse_sr_file
from ris_ai_module.sr.units import convert, lookup
from tests.sr_fixtures import cases
from tests.sr_fixtures.build import (
    DERIVATION,
    MEAN,
    MEAN_CHOSEN,
    MOST_RECENT,
    SELECTION_STATUS,
    USER_CHOSEN,
    code,
    num,
)


@pytest.mark.parametrize("value,src,dst,expected", [
    (4.5, "cm", "mm", 45.0), (1.3, "m/s", "cm/s", 130.0), (0.08, "s", "ms", 80.0), (105000, "mm3", "ml", 105.0),
    (85, "mm/s", "cm/s", 8.5), (2.1, "kg", "g", 2100.0), (33.5, "wk", "d", 234.5), (72, "{beats}/min", "/min", 72.0),
    (0.62, "1", "%", 62.0), (4.8, "L/min", "l/min", 4.8), (3.1, "cm2", "cm2", 3.1),
])
def test_ucum_conversion(value, src, dst, expected):
    assert convert(value, src, dst) == (pytest.approx(expected), None)


@pytest.mark.parametrize("src,dst", [("cm", "ms"), ("cc", "ml"), (None, "mm"), ("cm/sec", "cm/s"), ("g/m2", "g")])
def test_no_conversion_without_a_known_compatible_unit(src, dst):
    value, problem = convert(4.5, src, dst)
    assert value is None and problem


def test_annotations_are_unity_but_unknown_codes_stay_unknown():
    assert lookup("{ratio}").dimension == "unity" and lookup("{H.B.}/min").dimension == "rate"
    assert lookup("furlong") is None and lookup("") is None


def test_every_catalog_key_has_a_convertible_canonical_unit():
    cat = load_catalog()
    finding_keys = {r.key for rules in (*cat.findings.by_code.values(), *cat.findings.by_meaning.values()) for r in rules}
    assert {k for k, info in cat.keys.items() if lookup(info.unit) is None and k not in finding_keys} == set()
    assert {k for k in finding_keys if cat.keys[k].unit} == set()  # a category or descriptor has no unit


def _doc(*items, manufacturer="ris-ai-module tests"):
    return cases.document(cases.ECHO, [cases.section(cases.LV, cases.group(*items))], manufacturer=manufacturer)


def _values(tmp_path, ds, overlay=None):
    path = tmp_path / "s.dcm"
    ds.save_as(path, enforce_file_format=True)
    return parse_sr_file(path, overlay_file=overlay)


def test_selection_status_order_user_then_mean_then_recent(tmp_path):
    r = _values(tmp_path, _doc(
        num(cases.LVIDD, 4.1, "cm", code(SELECTION_STATUS, MOST_RECENT, rel="props")),
        num(cases.LVIDD, 4.2, "cm", code(SELECTION_STATUS, USER_CHOSEN, rel="props")),
        num(cases.LVIDD, 4.3, "cm", code(SELECTION_STATUS, MEAN_CHOSEN, rel="props")),
        num(cases.LVIDD, 4.4, "cm", code(DERIVATION, MEAN)),
        num(cases.LVIDD, 4.5, "cm"),
    ))
    assert [(m.value, m.selected) for m in r.measurements] == [
        (41.0, False), (42.0, True), (43.0, False), (44.0, False), (45.0, False)]


def test_mean_beats_last_and_last_beats_the_rest(tmp_path):
    r = _values(tmp_path, _doc(num(cases.LVIDD, 4.4, "cm", code(DERIVATION, MEAN)), num(cases.LVIDD, 4.5, "cm"),
                               num(cases.EF, 60, "%"), num(cases.EF, 62, "%")))
    assert [(m.key, m.value, m.selected) for m in r.measurements] == [
        ("LVIDd", 44.0, True), ("LVIDd", 45.0, False), ("LVEF", 60.0, False), ("LVEF", 62.0, True)]


def test_one_selected_value_per_key_and_context(parsed):
    for result in parsed.values():
        groups = {}
        for m in result.measurements:
            groups.setdefault(m.group, []).append(m)
        for members in groups.values():
            reportable = [m for m in members if m.value is not None and not m.hold]
            assert sum(m.selected for m in members) == (1 if reportable else 0)


def test_vendor_rules_only_apply_to_their_manufacturer(tmp_path):
    item = num(cases.c("99GEMS:GEU-1005-26", "IMT Posterior Average"), 0.07, "cm")
    assert _values(tmp_path, _doc(item)).measurements[0].key is None
    assert _values(tmp_path, _doc(item, manufacturer="GE Healthcare")).measurements[0].key == "CCA_IMT"


def test_hospital_overlay_adds_and_overrides(tmp_path):
    overlay = tmp_path / "hospital.csv"
    overlay.write_text(
        "key,concept,context,manufacturer,model,source,name_en,name_zh,unit\n"
        "AR_VMAX,LN:20355-4,finding_site=SCT:34202007;flow_direction=SCT:397417004,,,local,"
        "Aortic regurgitation peak velocity,主动脉瓣反流峰值流速,m/s\n"
        "AOR,LN:29436-3,,,,local: this hospital's scanner misuses the LVIDd code,,,\n",
        encoding="utf-8")
    ds = cases.document(cases.ECHO, [cases.section(cases.AV, cases.group(
        num(cases.PEAK_VEL, 290, "cm/s", code(cases.FLOW_DIRECTION, cases.REGURGITANT)))),
        num(cases.LVIDD, 3.3, "cm")])
    r = _values(tmp_path, ds, overlay)
    ar, aor = r.measurements
    assert (ar.key, ar.value, ar.unit, ar.name_zh) == ("AR_VMAX", 2.9, "m/s", "主动脉瓣反流峰值流速")
    assert (aor.key, aor.value) == ("AOR", 33.0)
    assert [m.key for m in _values(tmp_path, ds).measurements] == [None, "LVIDd"]  # built-in unchanged


def test_overlay_errors_name_the_row(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("key,concept,context\nNOPE,LN:1-1,\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="bad.csv:2"):
        load_catalog(bad)


def test_laterality_under_the_finding_site_is_context(tmp_path):
    """TID 300: a NUM's Finding Site may carry its own Laterality (and Topographical modifier)."""
    site_with_side = cases.site(cases.c("SCT:32062004", "Common Carotid Artery"))
    site_with_side.add_new(0x0040A730, "SQ", [code(cases.LATERALITY, cases.RIGHT)])
    ds = cases.document(cases.c("LN:24616-5", "US Carotid Arteries Report"),
                        [num(cases.c("LN:11726-7", "PSV"), 0.9, "m/s", site_with_side)])
    m = _values(tmp_path, ds).measurements[0]
    assert (m.key, m.value, m.context["laterality"], m.context["vessel"]) == ("CCA_PSV", 90.0, "Right",
                                                                             "Common Carotid Artery")
