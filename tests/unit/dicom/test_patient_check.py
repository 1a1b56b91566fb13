"""The patient check's rule and the name comparison it relies on (no database)."""

from __future__ import annotations

import pytest

from ris_ai_module.dicom.patient_check import judge
from ris_ai_module.names import names_agree, same_patient_id


@pytest.mark.parametrize(("a", "b"), [
    ("张三", "张三"),
    ("张^三", "张三"),                       # DICOM ^ between family and given name
    ("Zhang^San=张^三=", "张三"),             # alphabetic=ideographic groups: the ideographic one is compared
    ("张三", "Zhang^San"),                   # pinyin of the Chinese name against the Latin one
    ("张三", "ZHANG SAN"),
    ("张三", "San^Zhang"),                   # given name written first
    ("张三", "ＺＨＡＮＧ　ＳＡＮ"),              # full-width letters and space (Chinese IME)
    ("曾小明", "Zeng^Xiaoming"),              # 曾 read zeng as a surname, not ceng
    ("吕布", "Lu^Bu"), ("吕布", "LV^BU"),       # ü typed as u or v
    ("张三", "Zhāng^Sān"),                   # tone marks
    ("Smith^John", "John Smith"),
    ("张三", ""), (None, "张三"),              # one name missing: nothing to contradict
])
def test_names_that_agree(a, b) -> None:
    assert names_agree(a, b)[0], (a, b)


@pytest.mark.parametrize(("a", "b"), [
    ("张三", "王小丫"),
    ("张三", "Wang^Xiaoya"),
    ("Zhang^San", "Li^Si"),
    ("张三", "张三丰"),
])
def test_names_that_contradict(a, b) -> None:
    agree, why = names_agree(a, b)
    assert not agree and why


def test_ids_compare_trimmed_and_full_width_folded_but_not_zero_stripped() -> None:
    assert same_patient_id(" P000123 ", "P000123")
    assert same_patient_id("Ｐ０００１２３", "P000123")
    assert not same_patient_id("0012", "12")
    assert not same_patient_id("", "")
    assert not same_patient_id(None, "P1")


def test_strict_needs_the_id_and_no_contradicting_name() -> None:
    assert judge("strict", ["P1"], "张三", "P1", "Zhang^San").ok
    v = judge("strict", ["P1"], "张三", "P1", "Wang^Xiaoya")
    assert not v.ok and "names contradict" in v.reason
    v = judge("strict", ["P1"], "王小丫", "P2", "王小丫")
    assert not v.ok and "Patient ID P2 is not the exam's (P1)" == v.reason
    assert not judge("strict", ["P1"], "张三", "", "张三").ok          # no Patient ID: cannot be checked
    assert not judge("strict", [], "张三", "P1", "张三").ok            # exam without an ID: neither


def test_other_ids_of_the_patient_match_too() -> None:
    v = judge("strict", ["MZ001", "ZY777", "TJ42"], "张三", "ZY777", "张三")
    assert v.ok and "other ID ZY777" in v.reason


def test_id_only_ignores_names_and_off_checks_nothing() -> None:
    assert judge("id-only", ["P1"], "张三", "P1", "Wang^Xiaoya").ok
    assert not judge("id-only", ["P1"], "张三", "P2", "张三").ok
    assert judge("off", ["P1"], "张三", "P2", "王小丫").ok


def test_other_ids_column_of_the_view_is_read_and_matched(tmp_path) -> None:
    """[review].other_ids_column: the view's extra column with 门诊号/住院号/体检号 separated by \\ , or ;."""
    from sqlalchemy import create_engine, text

    from ris_ai_module.dicom.patient_check import check_patient

    engine = create_engine(f"sqlite:///{tmp_path / 'v.db'}")
    with engine.begin() as conn:  # a table standing in for the DBA's view, with the canonical columns
        conn.execute(text("CREATE TABLE rai_v_exam (EXAM_KEY TEXT, PATIENT_ID TEXT, PATIENT_NAME TEXT, SEX TEXT, "
                          "BIRTH_DATE TEXT, ACCESSION_NO TEXT, EXAM_DATE TEXT, EXAM_DESC TEXT, EXAM_ITEMS TEXT, "
                          "STUDY_UID TEXT, MODALITY TEXT, EXAM_STATUS TEXT, OTHER_IDS TEXT)"))
        conn.execute(text("INSERT INTO rai_v_exam (EXAM_KEY, PATIENT_ID, PATIENT_NAME, OTHER_IDS) "
                          "VALUES ('E1', 'MZ001', '张三', 'ZY777\\TJ42; 0099')"))
    with engine.connect() as conn:
        assert check_patient(conn, "strict", "E1", "TJ42", "Zhang^San", "OTHER_IDS").ok
        assert check_patient(conn, "strict", "E1", "0099", "张三", "OTHER_IDS").ok
        assert not check_patient(conn, "strict", "E1", "TJ42", "Zhang^San").ok  # without the column: no match
        assert not check_patient(conn, "strict", "E1", "99", "张三", "OTHER_IDS").ok
        v = check_patient(conn, "strict", "NOPE", "MZ001", "张三")
        assert not v.ok and "not in RAI_V_EXAM" in v.reason
    engine.dispose()
