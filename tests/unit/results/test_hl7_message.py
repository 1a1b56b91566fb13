"""The ORU^R01 builder on a hand-made result set: delimiters in Chinese text escaped, pinyin repetition, PV1
campus, coded and text findings, flags; parsed back with hl7apy, expected values written by hand."""

from __future__ import annotations

from datetime import date, datetime

from hl7apy.parser import parse_message

from ris_ai_module.results.hl7_message import build_oru, encode, number, parse_ack
from ris_ai_module.results.hl7_section import Hl7Config
from ris_ai_module.results.resultset import Code, ExamIdentity, ResultItem, ResultSet


def _rs(status: str = "draft") -> ResultSet:
    exam = ExamIdentity("E7", "P7", "欧阳|娜娜", "女", date(1990, 5, 6), "A7", "1.2.3.7", datetime(2026, 12, 2, 9, 30),
                        "甲状腺彩超", "US", "东院")
    items = [
        ResultItem("THYROID_NODULE_LENGTH_1", "THYROID_NODULE_LENGTH", "结节长径（病灶1）", "Nodule length", 12.5, "mm",
                   "12.5mm", device="Acme ThyAI 9"),
        ResultItem("C_TIRADS_1", "C_TIRADS", "C-TIRADS分类（病灶1）", "C-TIRADS", None, "", "4A类", value_type="CODE",
                   value_code=Code("99ACME", "TR4A", "TR 4A")),
        ResultItem("ECHOGENICITY_1", "ECHOGENICITY", "回声", "Echogenicity", None, "", "低回声^不均", value_type="TEXT"),
    ]
    return ResultSet(exam, items, "甲状腺右叶结节|大小12.5mm\n考虑 C-TIRADS 4A类", status, None, "v", "APPLIED")


def test_fields_escaped_and_read_back():
    cfg = Hl7Config(host="h", patient_name="chinese_pinyin", charset="gb18030", patient_id_authority="HOSP",
                    reference_ranges={"THYROID_NODULE_LENGTH": "-10"})
    raw = encode(build_oru(_rs(), cfg, "RAI1.1", datetime(2026, 12, 2, 14, 0)), "gb18030")
    assert "欧阳".encode("gb18030") in raw
    msg = parse_message(raw.decode("gb18030"), find_groups=False)
    assert msg.msh.msh_18.to_er7() == "GB 18030-2000" and msg.msh.msh_7.to_er7() == "20261202140000"
    assert [f.to_er7() for f in msg.pid.children.get("PID_5")] == ["欧阳\\F\\娜娜", "OU YANG \\F\\ NA NA^^^^^^L"]
    assert (msg.pid.pid_3.to_er7(), msg.pid.pid_7.to_er7(), msg.pid.pid_8.to_er7()) == ("P7^^^HOSP^PI", "19900506", "F")
    assert msg.pv1.pv1_3.to_er7() == "^^^东院"
    assert (msg.obr.obr_4.to_er7(), msg.obr.obr_7.to_er7(), msg.obr.obr_20.to_er7()) == (
        "US^甲状腺彩超", "20261202093000", "1.2.3.7")
    obx = [s for s in msg.children if s.name == "OBX"]
    assert obx[0].to_er7() == ("OBX|1|NM|THYROID_NODULE_LENGTH^结节长径（病灶1）^99RAI|THYROID_NODULE_LENGTH_1|12.5|"
                               "mm^mm^UCUM|-10|H|||P|||||||Acme ThyAI 9")
    assert obx[1].to_er7() == "OBX|2|CWE|C_TIRADS^C-TIRADS分类（病灶1）^99RAI|C_TIRADS_1|TR4A^4A类^99ACME||||||P"
    assert obx[2].to_er7() == "OBX|3|ST|ECHOGENICITY^回声^99RAI|ECHOGENICITY_1|低回声\\S\\不均||||||P"
    assert obx[3].to_er7() == ("OBX|4|FT|18782-3^Radiology Study observation^LN||甲状腺右叶结节\\F\\大小12.5mm~"
                               "考虑 C-TIRADS 4A类||||||P")


def test_status_and_numbers():
    for status, code in (("draft", "P"), ("corrected", "C"), ("signed", "F")):
        msg = parse_message(build_oru(_rs(status), Hl7Config(host="h"), "X", datetime(2026, 1, 1)).to_er7(),
                            find_groups=False)
        assert msg.obr.obr_25.to_er7() == code
    assert (number(47.0), number(0.85), number(1e-7), number(123456.5)) == ("47", "0.85", "0.0000001", "123456.5")


def test_ack_reading():
    ack = parse_ack("MSH|^~\\&|ESB||RIS-AI||20261202||ACK^R01^ACK|9|P|2.5\rMSA|AR|RAI5.2|格式错误\r")
    assert (ack.code, ack.control_id, ack.text, ack.accepted) == ("AR", "RAI5.2", "格式错误", False)
    import pytest

    with pytest.raises(ValueError):
        parse_ack("MSH|^~\\&|ESB||RIS-AI||20261202||ACK^R01^ACK|9|P|2.5\r")
