"""The findings paragraph and the display of values: what the doctor reads in the report."""

from __future__ import annotations

import pytest

from ris_ai_module.db.dialects import identifier, procedure_call, qualified_name
from ris_ai_module.errors import ConfigError
from ris_ai_module.report.display import format_number, report_item
from ris_ai_module.report.findings import load_template, render_findings, render_line, replace_block
from ris_ai_module.report.section import ReportConfig
from ris_ai_module.settings import config_from_dict
from ris_ai_module.startup import check_config

BEGIN, END = "【AI测量】", "【/AI测量】"


def items(cfg: ReportConfig | None = None, **values: tuple[float, str]):
    cfg = cfg or ReportConfig()
    return {k: report_item(cfg, k, k + "名", k, v, u, "1.2.3") for k, (v, u) in values.items()}


def test_rounding_is_half_up_as_doctors_round():
    assert format_number(62.5, 0) == "63"
    assert format_number(2.675, 2) == "2.68"
    assert format_number(47.04999, 1) == "47.0"
    assert format_number(-0.04, 1) == "0.0"


def test_default_display_dimensions_1_decimal_mm_ef_whole_percent():
    got = items(LVIDd=(47.04, "mm"), LVEF=(62.4, "%"), MV_E_A=(0.8421, "{ratio}"), TR_PG=(27.04, "mm[Hg]"))
    assert got["LVIDd"].display == "47.0mm"
    assert got["LVEF"].display == "62%"
    assert got["MV_E_A"].display == "0.84"
    assert got["TR_PG"].display == "27.0mmHg"


def test_configured_display_unit_and_decimals():
    cfg = ReportConfig(units={"MV_E": "m/s"}, decimals={"LVIDd": 0})
    got = items(cfg, MV_E=(81.0, "cm/s"), LVIDd=(47.04, "mm"))
    assert got["MV_E"].display == "0.81m/s"
    assert got["MV_E"].value == 81.0  # canonical value unchanged
    assert got["LVIDd"].display == "47mm"


def test_line_with_all_values_missing_is_left_out_and_optional_parts_dropped():
    template = "# comment\n左心：[内径{LVIDd}，][射血分数{LVEF}，][缩短率{FS}]。\n瓣膜：[E峰{MV_E}]。\n固定文字行\n"
    text = render_findings(template, items(LVIDd=(47.0, "mm"), FS=(34.0, "%")))
    assert text == "左心：内径47.0mm，缩短率34%。\n固定文字行"


def test_dangling_separators_are_tidied():
    got = items(FS=(34.0, "%"))
    assert render_line("左心：[内径{LVIDd}，][缩短率{FS}，][射血分数{LVEF}]。", got) == "左心：缩短率34%。"


def test_value_only_and_name_placeholders():
    got = items(LVEF=(62.0, "%"))
    assert render_line("EF={LVEF:value} ({LVEF:name})", got) == "EF=62 (LVEF名)"


def test_builtin_template_has_the_four_echo_sections():
    text = load_template("")
    for heading in ("左心室内径", "左室收缩功能", "二尖瓣血流频谱", "组织多普勒"):
        assert heading in text


def test_missing_template_file_names_the_key(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_template(str(tmp_path / "none.txt"))
    assert info.value.key == "report.text.template"


def test_block_appended_after_doctors_text_then_replaced_in_place():
    first = replace_block("心包未见积液。", "EF 60%", BEGIN, END)
    assert first == f"心包未见积液。\n{BEGIN}\nEF 60%\n{END}"
    doctor_edits = first + "\n医生补充：建议复查。"
    second = replace_block(doctor_edits, "EF 55%", BEGIN, END)
    assert second == f"心包未见积液。\n{BEGIN}\nEF 55%\n{END}\n医生补充：建议复查。"


def test_block_prepended_when_configured_and_removed_when_empty():
    text = replace_block("医生所见。", "EF 60%", BEGIN, END, place="prepend")
    assert text == f"{BEGIN}\nEF 60%\n{END}\n医生所见。"
    assert replace_block(f"医生所见。\n{BEGIN}\nEF 60%\n{END}", "", BEGIN, END) == "医生所见。"
    assert replace_block(None, "", BEGIN, END) == ""


def test_identifier_upper_case_means_case_insensitive():
    assert identifier("RIS_REPORT") == "ris_report"
    assert identifier("ris_report") == "ris_report"
    assert identifier("RisReport") == "RisReport"
    assert qualified_name("RIS.RIS_REPORT") == ("ris", "ris_report")


def test_procedure_call_per_dialect_compiles():
    from sqlalchemy.dialects import mysql, oracle, postgresql

    ora = procedure_call("oracle", "RIS.RAI_PUT_MEASURES", ("exam_id", "payload"))
    assert str(ora.compile(dialect=oracle.dialect())) == "BEGIN RIS.RAI_PUT_MEASURES(:exam_id, :payload); END;"
    pg = procedure_call("postgresql", "rai_put", ("exam_id", "payload"))
    assert str(pg.compile(dialect=postgresql.dialect())) == "CALL rai_put(%(exam_id)s, %(payload)s)"
    my = procedure_call("mysql", "rai_put", ("exam_id", "payload"))
    assert str(my.compile(dialect=mysql.dialect())) == "CALL rai_put(%s, %s)"
    with pytest.raises(ValueError):
        procedure_call("postgresql", "x; DROP TABLE ris_report", ("a",))
    with pytest.raises(ValueError):
        procedure_call("sqlite", "rai_put", ("a",))


@pytest.mark.parametrize(
    ("report", "key"),
    [
        ({"targets": ["rows", "pdf"]}, "report.targets[1]"),
        ({"targets": ["procedure"]}, "report.procedure.name"),
        ({"targets": ["columns"]}, "report.columns.columns"),
        ({"units": {"MV_E": "furlong"}}, "report.units.MV_E"),
        ({"decimals": {"LVEF": 9}}, "report.decimals.LVEF"),
        ({"text": {"begin_marker": "X", "end_marker": "X"}}, "report.text.end_marker"),
        ({"procedure": {"per": "row"}}, "report.procedure.per"),
    ],
)
def test_bad_report_config_names_the_key(report, key):
    with pytest.raises(ConfigError) as info:
        check_config(config_from_dict({"database": {"url": "sqlite://"}, "worker": {"enabled": False},
                                       "report": report}))
    assert info.value.key == key
