"""CODE and TEXT findings (issue 8 item 9): categories and descriptors per lesion, with their codes.

Expected readings are derived by hand from the fixtures (tests/sr_fixtures/findings_cases.py) and
PS3.16: CID 6027 BI-RADS (SCT 397141009 = 2, BI MA.II.A.5.4B = 4B), CID 6005 shape, CID 6007 margin,
CID 6152 orientation, CID 6154 echo pattern, CID 6155 posterior features, CID 6157 vascularity,
CID 6019 clockface; the Chinese names are those of the catalog (finding-values.csv).
"""

from __future__ import annotations

import json

import pytest

from ris_ai_module.sr.catalog import load_catalog
from ris_ai_module.sr.parse import parse_sr_file
from tests.sr_fixtures import findings_cases
from tests.sr_fixtures.build import document, text
from tests.sr_fixtures.findings_cases import C_TIRADS, THYROID_REPORT, ev_text, lesion_group, site
from tests.unit.sr.conftest import selected


@pytest.fixture(scope="module")
def found(tmp_path_factory):
    out = {}
    directory = tmp_path_factory.mktemp("findings")
    for name, build in findings_cases.CASES.items():
        path = directory / f"{name}.dcm"
        build().save_as(path, enforce_file_format=True)
        out[name] = parse_sr_file(path)
    return out


def _parse(tmp_path, ds):
    path = tmp_path / "f.dcm"
    ds.save_as(path, enforce_file_format=True)
    return parse_sr_file(path)


THYROID_N1 = {  # key -> (value type, Chinese value)
    "C_TIRADS": ("TEXT", "4A类"), "ACR_TIRADS": ("TEXT", "TR5"), "LESION_COMPOSITION": ("TEXT", "实性"),
    "LESION_ECHO": ("CODE", "低回声"), "LESION_SHAPE": ("TEXT", "垂直位（高大于宽）"),
    "LESION_MARGIN": ("TEXT", "边缘模糊"), "LESION_ECHOGENIC_FOCI": ("TEXT", "点状强回声"),
    "LESION_FINDING": ("CODE", "甲状腺结节"),
}


@pytest.mark.parametrize("key", sorted(THYROID_N1))
def test_thyroid_nodule_categories_and_descriptors(found, key):
    m = selected(found["thyroid_tirads"], key, lesion="N1")
    assert (m.value_type, m.value_zh) == THYROID_N1[key]
    assert m.value is None and m.unit is None
    assert m.context["laterality"] == "Right" and m.context["topographical_modifier"] == "Central"


def test_thyroid_sizes_share_the_nodule_context(found):
    r = found["thyroid_tirads"]
    dims = [selected(r, k, lesion="N1").value for k in ("LESION_LENGTH", "LESION_WIDTH", "LESION_DEPTH")]
    assert dims == [12.0, 8.0, 7.0]
    assert selected(r, "LESION_LENGTH", lesion="N2", laterality="Left").value == 6.0


def test_a_private_category_code_is_read_from_its_meaning(found):
    m = selected(found["thyroid_tirads"], "C_TIRADS", lesion="N2")
    assert (m.value_type, m.value_zh) == ("CODE", "3类")
    assert (m.code_value.scheme, m.code_value.code) == ("99AIHOST", "CT3")  # the code as sent is kept
    assert selected(found["thyroid_tirads"], "LESION_ECHO", lesion="N2").code_value.code == "111365"  # Isoechoic


BREAST = {  # lesion -> key -> (scheme, code, Chinese value)
    "M1": {"BIRADS": ("BI", "MA.II.A.5.4B", "4B类"), "LESION_SHAPE": ("SCT", "49608001", "不规则形"),
           "LESION_MARGIN": ("SCT", "129742005", "边缘毛刺"), "LESION_ORIENTATION": ("DCM", "111356", "非平行位"),
           "LESION_ECHO": ("DCM", "111364", "低回声"), "LESION_POSTERIOR": ("DCM", "111369", "后方回声衰减"),
           "LESION_VASCULARITY": ("DCM", "111375", "内部可见血流信号"), "LESION_CLOCK": ("SCT", "129781005", "10点钟方向"),
           "LESION_FINDING": ("DCM", "111462", "实性肿块")},
    "M2": {"BIRADS": ("SCT", "397141009", "2类"), "LESION_SHAPE": ("SCT", "84360004", "椭圆形"),
           "LESION_MARGIN": ("SCT", "129738007", "边缘光整"), "LESION_ECHO": ("DCM", "111361", "无回声"),
           "LESION_POSTERIOR": ("DCM", "111368", "后方回声增强"), "LESION_CLOCK": ("SCT", "129773009", "2点钟方向"),
           "LESION_FINDING": ("SCT", "399294002", "乳腺囊肿")},
}


@pytest.mark.parametrize("lesion,key", [(lesion, key) for lesion, keys in BREAST.items() for key in sorted(keys)])
def test_breast_bi_rads_lexicon_per_lesion(found, lesion, key):
    m = selected(found["breast_birads"], key, lesion=lesion)
    scheme, code, zh = BREAST[lesion][key]
    assert (m.value_type, m.code_value.scheme, m.code_value.code, m.value_zh) == ("CODE", scheme, code, zh)
    assert m.context["laterality"] == ("Right" if lesion == "M1" else "Left")


def test_breast_numbers_and_document_level_finding(found):
    r = found["breast_birads"]
    assert selected(r, "LESION_NIPPLE_DISTANCE", lesion="M1").value == 30.0  # 3 cm
    assert selected(r, "LESION_LENGTH", lesion="M2").value == 8.0
    assert selected(r, "BREAST_ECHOTEXTURE").value_zh == "均匀纤维腺体型"
    assert not [w for w in r.warnings]


def test_json_contract_of_a_coded_finding(found):
    d = json.loads(json.dumps(found["breast_birads"].to_dict(), ensure_ascii=False))
    birads = [m for m in d["measurements"] if m["key"] == "BIRADS" and m["context"]["lesion"] == "M2"][0]
    assert birads["value_type"] == "CODE" and birads["value"] is None and birads["selected"] is True
    assert birads["code"] == {"scheme": "SCT", "code": "397141009", "meaning": "2 - Benign", "name_zh": "2类"}
    assert birads["value_zh"] == "2类" and birads["text"] is None
    assert birads["concept"]["code"] == "111005" and birads["name_zh"] == "BI-RADS分类"
    tirads = [m for m in found["thyroid_tirads"].to_dict()["measurements"] if m["key"] == "C_TIRADS"][0]
    assert (tirads["value_type"], tirads["text"], tirads["code"], tirads["value_zh"]) == ("TEXT", "4A", None, "4A类")


def test_conflicting_categories_for_one_nodule_are_not_reported(found):
    r = found["thyroid_conflict"]
    both = [m for m in r.measurements if m.key == "C_TIRADS" and m.context["lesion"] == "N1"]
    assert [m.value_zh for m in both] == ["4A类", "4B类"] and not any(m.selected for m in both)
    assert any("different values" in w and "4A类" in w and "4B类" in w for w in r.warnings)


def test_a_category_off_its_scale_is_kept_unmapped(found):
    r = found["thyroid_conflict"]
    off = [m for m in r.measurements if m.context.get("lesion") == "N2" and m.value_type == "TEXT"]
    assert len(off) == 1 and off[0].key is None and off[0].text_value == "C-TIRADS 7"
    assert any("'C-TIRADS 7' is not a category of C-TIRADS" in w for w in r.warnings)


def test_selection_status_resolves_two_categories(tmp_path):
    from tests.sr_fixtures.build import SELECTION_STATUS, USER_CHOSEN, code

    chosen = ev_text(C_TIRADS, "4B")
    chosen.add_new(0x0040A730, "SQ", [code(SELECTION_STATUS, USER_CHOSEN, rel="props")])
    group = lesion_group("N1", findings_cases.THYROID_NODULE, site(findings_cases.LOBE, findings_cases.RIGHT),
                         (10, 9, 8), ev_text(C_TIRADS, "4A"), chosen)
    r = _parse(tmp_path, document(THYROID_REPORT, [group]))
    assert selected(r, "C_TIRADS", lesion="N1").value_zh == "4B类"


@pytest.mark.parametrize("sent,expected", [("4a", "4A类"), ("C-TIRADS 4C类", "4C类"), ("C-TIRADS：5", "5类"),
                                           ("6", "6类")])
def test_c_tirads_text_forms(tmp_path, sent, expected):
    group = lesion_group("N1", findings_cases.THYROID_NODULE, site(findings_cases.LOBE, findings_cases.LEFT), (5, 4, 3),
                         ev_text(C_TIRADS, sent))
    r = _parse(tmp_path, document(THYROID_REPORT, [group], charset="ISO_IR 192"))
    assert selected(r, "C_TIRADS").value_zh == expected


@pytest.mark.parametrize("sent", ["4", "TR4", "7", ""])
def test_c_tirads_values_not_on_the_scale_are_never_reported(tmp_path, sent):
    group = lesion_group("N1", findings_cases.THYROID_NODULE, site(findings_cases.LOBE, findings_cases.LEFT), (5, 4, 3),
                         ev_text(C_TIRADS, sent))
    r = _parse(tmp_path, document(THYROID_REPORT, [group]))
    assert not [m for m in r.measurements if m.key == "C_TIRADS" and m.selected]


def test_a_bare_ti_rads_is_not_taken_for_either_system(tmp_path):
    from tests.sr_fixtures.build import c

    group = lesion_group("N1", findings_cases.THYROID_NODULE, site(findings_cases.LOBE, findings_cases.RIGHT), (5, 4, 3),
                         ev_text(c("99X:TR", "TI-RADS"), "4a"))
    r = _parse(tmp_path, document(THYROID_REPORT, [group]))
    assert selected(r, "TIRADS").value_zh == "4A类"
    assert not [m for m in r.measurements if m.key in ("C_TIRADS", "ACR_TIRADS")]


def test_context_items_are_not_findings_but_unknown_content_is_kept(tmp_path):
    from tests.sr_fixtures.build import c

    observer = text(c("DCM:121008", "Person Observer Name"), "Dr Wang", rel="obs")  # TID 1002: context
    other = ev_text(c("99X:NOTE", "Comment"), "borderline")  # CONTAINS, no rule: kept unmapped
    r = _parse(tmp_path, document(THYROID_REPORT, [observer, other]))
    assert [(m.key, m.text_value) for m in r.measurements] == [(None, "borderline")]


def test_every_finding_rule_value_set_and_key_exists():
    cat = load_catalog()
    rules = [r for rs in (*cat.findings.by_code.values(), *cat.findings.by_meaning.values()) for r in rs]
    assert rules and all(r.key in cat.keys and all(v in cat.value_sets for v in r.values) for r in rules)
    # PS3.16 CID 6027: six SCT codes and four BI codes (4A, 4B, 4C, 6)
    assert sorted(code for scheme, code in cat.value_sets["CID 6027"]) == sorted(
        ["397138000", "397140005", "397141009", "397143007", "397144001", "397145000",
         "MA.II.A.5.4A", "MA.II.A.5.4B", "MA.II.A.5.4C", "MA.II.A.5.6"])


def test_a_lateralised_site_gives_the_side_and_a_contradiction_holds_the_category(tmp_path):
    """Left lobe of thyroid (SCT 79163004, CID 12131) is the left side; with Laterality Right it is held."""
    from tests.sr_fixtures.build import c

    implied = lesion_group("N1", findings_cases.THYROID_NODULE, site(findings_cases.LEFT_LOBE), (5, 4, 3),
                           ev_text(C_TIRADS, "3"))
    contradicted = lesion_group("N2", findings_cases.THYROID_NODULE,
                                site(c("SCT:79163004", "Left lobe of thyroid"), findings_cases.RIGHT), (6, 5, 4),
                                ev_text(C_TIRADS, "4B"))
    r = _parse(tmp_path, document(THYROID_REPORT, [implied, contradicted]))
    assert selected(r, "C_TIRADS", lesion="N1").context["laterality"] == "Left"
    held = [m for m in r.measurements if m.key == "C_TIRADS" and m.context["lesion"] == "N2"]
    assert len(held) == 1 and held[0].hold and not held[0].selected
