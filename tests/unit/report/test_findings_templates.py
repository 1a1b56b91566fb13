"""The findings paragraph for every exam type (issue 8 item 11): the template language with repetition
per lesion/fetus/side/vessel, the choice of template by the document, and no silent gap.

The expected Chinese text is written by hand from the fixture values (tests/sr_fixtures) and the
built-in templates (ris_ai_module/report/templates/*_findings_zh.txt), display rules as in
test_findings_display.py (mm with 1 decimal, cm/s whole, ratios 2 decimals).
"""

from __future__ import annotations

import pytest

from ris_ai_module.errors import ConfigError
from ris_ai_module.report.display import ReportItem, report_item, report_items
from ris_ai_module.report.findings import check_template, load_template, render_report
from ris_ai_module.report.findings_kind import DocumentInfo, findings_text, template_names
from ris_ai_module.report.section import ReportConfig, ReportTextConfig
from ris_ai_module.sr.parse import parse_sr_file
from tests.sr_fixtures import cases, findings_cases

CFG = ReportConfig()


def item(key: str, value: float, unit: str, base: str | None = None, **context: str) -> ReportItem:
    from dataclasses import replace

    return replace(report_item(CFG, key, key + "名", key, value, unit, "1.2.3", base_key=base or key), context=context)


@pytest.fixture(scope="module")
def paragraphs(tmp_path_factory):
    """case name -> (findings text, warnings), through the parser, report_items and the chosen templates."""
    directory = tmp_path_factory.mktemp("paragraphs")
    out = {}
    for name, build in {**cases.CASES, **findings_cases.CASES}.items():
        if name in ("not_sr", "empty_sr", "reference_loop", "malformed_values"):
            continue
        path = directory / f"{name}.dcm"
        build().save_as(path, enforce_file_format=True)
        parsed = parse_sr_file(path)
        out[name] = findings_text(CFG.text, DocumentInfo.of(parsed), report_items(CFG, parsed.measurements, "1.2.3"))
    return out


# ------------------------------------------------------------------------------------------ language


def test_each_block_repeats_per_lesion_with_its_context():
    template = "@each lesion\n甲状腺{@side}叶[{@position}]结节 {LESION_LENGTH:value}×{LESION_WIDTH:value} mm[，C-TIRADS {C_TIRADS}]。\n@end"
    items = [item("LESION_LENGTH_R_1", 12, "mm", "LESION_LENGTH", lesion="1", side="右", position="中部"),
             item("LESION_WIDTH_R_1", 8, "mm", "LESION_WIDTH", lesion="1", side="右", position="中部"),
             item("LESION_LENGTH_L_2", 6, "mm", "LESION_LENGTH", lesion="2", side="左"),
             item("LESION_WIDTH_L_2", 5, "mm", "LESION_WIDTH", lesion="2", side="左")]
    text, placed = render_report(template, items)
    assert text == "甲状腺右叶中部结节 12.0×8.0 mm。\n甲状腺左叶结节 6.0×5.0 mm。"
    assert placed == {i.key for i in items}


def test_suffix_alias_serves_every_vessel_but_never_shadows_a_key():
    template = "@each side vessel\n{@side}侧{@vessel}：[收缩期峰值流速{PSV}，][阻力指数{RI}]。\n@end"
    items = [item("VA_PSV_L", 45, "cm/s", "VA_PSV", side="左", vessel="椎动脉"),
             item("CCA_PSV_L", 85, "cm/s", "CCA_PSV", side="左", vessel="颈总动脉"),
             item("CCA_RI_L", 0.7, "{ratio}", "CCA_RI", side="左", vessel="颈总动脉")]
    text, _ = render_report(template, items)
    assert text == "左侧椎动脉：收缩期峰值流速45cm/s。\n左侧颈总动脉：收缩期峰值流速85cm/s，阻力指数0.70。"


def test_nested_optional_parts_and_lines_without_values():
    template = "[脐动脉：[PI {UA_PI}，][RI {UA_RI}]。][大脑中动脉：[PSV {MCA_PSV}]。]\n[{@side}]附注：{HR}\n[羊水指数{AFI}]。"
    text, _ = render_report(template, [item("UA_RI", 0.62, "{ratio}")])
    assert text == "脐动脉：RI 0.62。"  # the MCA part and the lines whose values are all missing are left out


def test_skip_marks_keys_as_deliberately_not_written():
    _text, placed = render_report("@skip LESION_FINDING\n[EF {LVEF}]", [item("LESION_FINDING_1", 1, "1", "LESION_FINDING")])
    assert placed == {"LESION_FINDING_1"}


@pytest.mark.parametrize("template,problem", [
    ("@each lesion\n{X}\n", "@each without @end"), ("@end\n", "@end without @each"),
    ("@each organ\n@end\n", "unknown @each dimension 'organ'"), ("@each side\n@each lesion\n@end\n@end\n", "do not nest"),
])
def test_template_mistakes_are_named(template, problem, tmp_path):
    assert problem in (check_template(template) or "")
    path = tmp_path / "t.txt"
    path.write_text(template, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_template(str(path), "report.text.templates.thyroid")
    assert info.value.key == "report.text.templates.thyroid"


def test_every_builtin_template_is_valid():
    for name in ("echo_adult", "echo_pediatric", "ob", "gyn", "vascular", "thyroid", "breast"):
        assert load_template("", builtin=f"{name}_findings_zh.txt")


# ----------------------------------------------------------------------------- choice of template


@pytest.mark.parametrize("doc,names", [
    (DocumentInfo("5200", ("DCM", "125200")), ("echo_adult",)),
    (DocumentInfo("", None, "1.2.840.10008.5.1.4.1.1.88.72"), ("echo_adult",)),
    (DocumentInfo("", ("DCM", "125195")), ("echo_pediatric",)),
    (DocumentInfo("", ("DCM", "125000")), ("ob", "gyn")),
    (DocumentInfo("5100", None), ("vascular",)),
    (DocumentInfo("", ("LN", "24616-5")), ("vascular",)),
    (DocumentInfo("", ("LN", "25010-0")), ("thyroid",)),
    (DocumentInfo("", ("LN", "24601-7")), ("breast",)),
    (DocumentInfo("", ("LN", "38036-0")), None),  # US Kidney Report (CID 12320): no template yet
    (None, ("echo_adult",)),
])
def test_template_is_chosen_by_title_template_or_sop_class(doc, names):
    assert template_names(doc) == names


def test_a_document_without_a_template_is_a_warning_and_the_values_still_reach_the_text():
    doc = DocumentInfo("", ("LN", "38036-0"))
    text, warnings = findings_text(ReportTextConfig(), doc, [item("KIDNEY_LENGTH_R", 105, "mm", "KIDNEY_LENGTH")])
    assert text == "AI测量：KIDNEY_LENGTH_R名105.0mm。"
    assert warnings and "no findings template for this document (title LN:38036-0" in warnings[0]


def test_unplaced_values_are_listed_or_only_warned():
    items = [item("LVEF", 60, "%"), item("XYZ", 3, "mm")]
    text, warnings = findings_text(ReportTextConfig(), None, items)
    assert text.endswith("\n其他：XYZ名3.0mm。") and "左室射血分数60%" in text
    assert "has no line for XYZ" in warnings[0]
    text, warnings = findings_text(ReportTextConfig(unplaced="warn"), None, items)
    assert "XYZ" not in text and "not in the text" in warnings[0]


def test_a_hospital_template_replaces_the_builtin_one(tmp_path):
    path = tmp_path / "thyroid.txt"
    path.write_text("@each lesion\n{@side}叶结节：{C_TIRADS}\n@end\n", encoding="utf-8")
    cfg = ReportTextConfig(templates={"thyroid": str(path)})
    items = [ReportItem("C_TIRADS_R_1", "C-TIRADS分类", "C-TIRADS", None, "", "4A类", "", "1.2.3", "C_TIRADS", "TEXT",
                        context={"lesion": "1", "side": "右"})]
    assert findings_text(cfg, DocumentInfo("", ("LN", "25010-0")), items) == ("右叶结节：4A类", [])


# --------------------------------------------------------------------- every exam type, from the SR


def test_thyroid_paragraph_per_nodule_with_its_category(paragraphs):
    text, warnings = paragraphs["thyroid_tirads"]
    assert text.splitlines() == [
        "甲状腺右叶中部结节 12.0×8.0×7.0 mm，实性，低回声，垂直位（高大于宽），边缘模糊，点状强回声，C-TIRADS 4A类，ACR TI-RADS TR5。",
        "甲状腺左叶上部结节 6.0×5.0×4.0 mm，囊实性，等回声，C-TIRADS 3类。",
    ]
    assert warnings == []


def test_thyroid_lobes_isthmus_and_sizes(paragraphs):
    text, _ = paragraphs["thyroid"]
    assert "甲状腺右叶：长径48.0mm，横径16.0mm，前后径15.0mm。" in text
    assert "甲状腺左叶：长径45.0mm，横径15.0mm，前后径14.0mm。" in text
    assert "甲状腺峡部厚度3.0mm。" in text
    assert "甲状腺右叶结节 12.0×8.0×7.0 mm。" in text and "甲状腺左叶结节 6.0×5.0×4.0 mm。" in text


def test_breast_paragraph_per_lesion_with_bi_rads(paragraphs):
    text, warnings = paragraphs["breast_birads"]
    assert text.splitlines() == [
        "乳腺背景回声：均匀纤维腺体型。",
        "右乳10点钟方向距乳头30.0mm处见实性肿块，大小15.0×10.0×8.0mm，不规则形，非平行位，边缘毛刺，低回声，后方回声衰减，"
        "内部可见血流信号，BI-RADS 4B类。",
        "左乳2点钟方向见乳腺囊肿，大小8.0×6.0×5.0mm，椭圆形，边缘光整，无回声，后方回声增强，BI-RADS 2类。",
    ]
    assert warnings == []


def test_ob_paragraph_per_fetus(paragraphs):
    text, _ = paragraphs["ob_twins"]
    lines = text.splitlines()
    assert "胎儿A：双顶径85.0mm，头围320.0mm，腹围301.0mm，股骨长64.0mm。" in lines
    assert "胎儿B：双顶径83.0mm，头围320.0mm，腹围301.0mm，股骨长62.0mm。" in lines
    assert lines.index("胎儿A：双顶径85.0mm，头围320.0mm，腹围301.0mm，股骨长64.0mm。") < lines.index(
        "胎儿B：双顶径83.0mm，头围320.0mm，腹围301.0mm，股骨长62.0mm。")
    assert "脐动脉：PI 0.95，RI 0.62。大脑中动脉：收缩期峰值流速52cm/s。" in lines  # fetus A
    assert "脐动脉：PI 1.10，RI 0.62。大脑中动脉：收缩期峰值流速52cm/s。" in lines  # fetus B
    # GA 33.5 wk = 234.5 d (half up 235 = 33 weeks 4 days); 33.0 wk = 231 d = 33 weeks 0 days
    assert "估计胎儿体重2100g，超声孕周33周4天，胎心率142次/分。" in lines
    assert "估计胎儿体重2100g，超声孕周33周0天，胎心率142次/分。" in lines


def test_vascular_paragraph_per_side_and_vessel(paragraphs):
    text, warnings = paragraphs["carotid"]
    lines = text.splitlines()
    for line in ("左侧颈总动脉：收缩期峰值流速85cm/s，舒张末期流速21cm/s，阻力指数0.70。",
                 "左侧颈内动脉：收缩期峰值流速70cm/s，舒张末期流速25cm/s。",
                 "右侧颈总动脉：收缩期峰值流速90cm/s，舒张末期流速21cm/s，阻力指数0.70。",
                 "右侧颈内动脉：收缩期峰值流速120cm/s，舒张末期流速25cm/s。",
                 "左侧颈内/颈总动脉收缩期峰值流速比0.82。", "右侧颈内/颈总动脉收缩期峰值流速比1.33。"):
        assert line in lines
    assert warnings == []


def test_adult_echo_paragraph(paragraphs):
    text, warnings = paragraphs["adult_echo_full"]
    assert text.splitlines()[0] == ("左心室内径：左室舒张末期内径47.0mm，左室收缩末期内径31.0mm，室间隔厚度9.0mm，"
                                    "左室后壁厚度9.5mm，室间隔收缩末期厚度13.0mm，左室后壁收缩末期厚度14.0mm。")
    assert "二尖瓣血流频谱：E峰流速81cm/s，A峰流速96cm/s，E/A比值0.84，E峰减速时间210ms" in text
    assert warnings == []


def test_pediatric_echo_paragraph(paragraphs):
    text, _ = paragraphs["pediatric"]
    assert text.splitlines()[0].startswith("左心室：左室舒张末期内径32.0mm")
    assert "室间隔厚度5.0mm" in text and "主动脉根部内径19.0mm" in text


def test_gyn_paragraph_uterus_endometrium_each_ovary_and_follicles():
    items = [item("UTERUS_LENGTH", 72, "mm"), item("UTERUS_HEIGHT", 41, "mm"), item("UTERUS_WIDTH", 50, "mm"),
             item("ENDOMETRIUM", 8.5, "mm"),
             item("OVARY_LENGTH_R", 32, "mm", "OVARY_LENGTH", side="右"),
             item("OVARY_WIDTH_R", 21, "mm", "OVARY_WIDTH", side="右"),
             item("OVARY_HEIGHT_R", 18, "mm", "OVARY_HEIGHT", side="右"),
             item("OVARY_LENGTH_L", 30, "mm", "OVARY_LENGTH", side="左"),
             item("FOLLICLE_DIAMETER_R_1", 18.2, "mm", "FOLLICLE_DIAMETER", side="右", follicle="1"),
             item("FOLLICLE_DIAMETER_R_2", 12.0, "mm", "FOLLICLE_DIAMETER", side="右", follicle="2")]
    text, warnings = findings_text(CFG.text, DocumentInfo("", ("DCM", "125000")), items)
    assert text.splitlines() == [
        "子宫：长径72.0mm，前后径41.0mm，横径50.0mm；子宫内膜厚度8.5mm。",
        "右侧卵巢：长径32.0mm，横径21.0mm，前后径18.0mm。",
        "左侧卵巢：长径30.0mm。",
        "右侧卵巢内卵泡1：直径18.2mm。",
        "右侧卵巢内卵泡2：直径12.0mm。",
    ]
    assert warnings == []


def test_configured_template_paths_are_relative_to_the_config_file(tmp_path):
    from ris_ai_module.settings import load_config

    (tmp_path / "c.toml").write_text('[database]\nurl = "sqlite:///x.db"\n[worker]\nenabled = false\n[report.text]\n'
                                     'templates = { thyroid = "tpl/thyroid.txt" }\nunplaced = "warn"\n', encoding="utf-8")
    text = load_config(tmp_path / "c.toml").report.text
    assert dict(text.templates) == {"thyroid": str((tmp_path / "tpl" / "thyroid.txt").resolve())}
    assert text.unplaced == "warn"


@pytest.fixture(scope="module")
def structure_paragraphs(tmp_path_factory):
    """The standard's own structures (tests/sr_fixtures/structures.py) through the same path."""
    from tests.sr_fixtures import structures

    directory = tmp_path_factory.mktemp("structures")
    out = {}
    for name in ("ob_gyn", "vascular", "pediatric_derived"):
        path = directory / f"{name}.dcm"
        structures.CASES[name]().save_as(path, enforce_file_format=True)
        parsed = parse_sr_file(path)
        out[name] = findings_text(CFG.text, DocumentInfo.of(parsed), report_items(CFG, parsed.measurements, "1.2.3"))
    return out


def test_ob_gyn_paragraph_from_tid_5000(structure_paragraphs):
    """TID 5000 fixture: BPD mean 8.5 cm with GA 238 d (34w0d), 40th percentile, z -0.25; FL 65 mm with GA
    33.5 wk (234.5 d -> 235 = 33w4d); EFW 2300 g, 45th percentile, GA 236 d (33w5d); uterus 80/50/40 mm,
    85 ml; endometrium 8 mm; cervix 3.0 cm; left ovary 30/20 mm 4.7 ml; right 32/21 mm; 2 follicles left."""
    text, warnings = structure_paragraphs["ob_gyn"]
    assert text.splitlines() == [
        "胎儿1：双顶径85.0mm（相当于孕34周0天，第40百分位，Z值-0.25），股骨长65.0mm（相当于孕33周4天，第35百分位）。",
        "估计胎儿体重2300g（第45百分位），超声孕周33周5天。",
        "脐动脉：收缩期峰值流速45cm/s，S/D 2.80，PI 1.02，RI 0.65。大脑中动脉：收缩期峰值流速52cm/s，PI 1.90。静脉导管：PI 0.55。",
        "左侧子宫动脉：PI 0.90，RI 0.55。",
        "右侧子宫动脉：PI 1.10，RI 0.62。",
        "子宫：长径80.0mm，前后径40.0mm，横径50.0mm，体积85ml；子宫内膜厚度8.0mm。",
        "宫颈长度30.0mm。",
        "左侧卵巢：长径30.0mm，横径20.0mm，体积4.7ml。",
        "右侧卵巢：长径32.0mm，横径21.0mm。",
        "左侧卵巢卵泡数2个。",
        "左侧卵巢内卵泡1：直径18.0mm。",
        "左侧卵巢内卵泡2：直径12.0mm。",
    ]
    assert warnings == []


def test_vascular_paragraph_per_side_vessel_and_segment(structure_paragraphs):
    text, warnings = structure_paragraphs["vascular"]
    assert text.splitlines() == [
        "右侧颈总动脉近段：收缩期峰值流速90cm/s。",
        "右侧颈总动脉远段：收缩期峰值流速85cm/s。",
        "右侧颈总动脉：舒张末期流速20cm/s。",
        "右侧颈内动脉：收缩期峰值流速120cm/s，舒张末期流速40cm/s。",
        "右侧颈外动脉：收缩期峰值流速110cm/s，舒张末期流速15cm/s。",
        "左侧椎动脉：收缩期峰值流速50cm/s，阻力指数0.70。",
        "左侧肾动脉：收缩期峰值流速95cm/s，阻力指数0.68。",
        "左侧肾段动脉：阻力指数0.62。",
        "右侧颈内/颈总动脉收缩期峰值流速比1.33。",
    ]
    assert warnings == []


def test_pediatric_paragraph_shows_z_scores_beside_the_measurement(structure_paragraphs):
    """Fixture: IVSd 0.6 cm with z -1.1, 14th percentile, normal range 0.4-0.8 cm; LVIDd 3.4 cm, z 2.1."""
    text, warnings = structure_paragraphs["pediatric_derived"]
    assert text == "左心室：左室舒张末期内径34.0mm（Z值2.10），室间隔厚度6.0mm（Z值-1.10，第14百分位，正常值4.0～8.0mm）。"
    assert warnings == []
