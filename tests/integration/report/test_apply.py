"""SR_APPLY on real databases: the RIS report a doctor opens, and what the module never overwrites."""

from __future__ import annotations

from pydicom.dataset import Dataset
from sqlalchemy import func, select, update

from ris_ai_module.db.tables import measurement
from ris_ai_module.tasks.model import OutcomeKind
from tests.integration.report.conftest import RIS_MEASURE
from tests.sr_fixtures.build import container, document, num
from tests.sr_fixtures.cases import ECHO, EF, FINDINGS, LVIDD, adult_echo_full, carotid

#: From tests/sr_fixtures/cases.py adult_echo_full(), by hand: canonical unit, display rules of [report].
EXPECTED_ROWS = {
    "LVIDd": ("47.0", "mm", "左室舒张末期内径"),  # mean of 4.6/4.8 cm -> 4.7 cm
    "LVIDs": ("31.0", "mm", "左室收缩末期内径"),
    "IVSd": ("9.0", "mm", "室间隔舒张末期厚度"),
    "LVPWd": ("9.5", "mm", "左室后壁舒张末期厚度"),
    "LVEF": ("60", "%", "左室射血分数"),
    "LVEF_BIPLANE": ("61", "%", "左室射血分数(双平面Simpson法)"),
    "LVEF_TEICH": ("64", "%", "左室射血分数(Teichholz法)"),
    "MV_E": ("81", "cm/s", "二尖瓣E峰流速"),  # 0.81 m/s
    "MV_E_A": ("0.84", "", "二尖瓣E/A比值"),
    "AV_PG_PEAK": ("6.8", "mmHg", "主动脉瓣峰值压差"),
    "E_PRIME_SEPTAL": ("8.0", "cm/s", "二尖瓣环室间隔侧e′"),
    "S_PRIME_SEPTAL": ("7.5", "cm/s", "二尖瓣环室间隔侧s′"),
    "TAPSE": ("22.0", "mm", "三尖瓣环收缩期位移"),
    "HR": ("72", "次/分", "心率"),
}


def small_echo(lvidd_cm: float, ef: float):
    """A newer SR repeating only two measurements."""
    return document(ECHO, [container(FINDINGS, num(LVIDD, lvidd_cm, "cm"), num(EF, ef, "%"))])


def test_full_echo_sr_fills_measure_rows_and_chinese_findings(rig):
    rig.add_exam("E1", report_status="DRAFT", findings="患者配合良好。")
    sop = rig.store(adult_echo_full(), "E1")

    out = rig.apply(sop)

    assert out.kind is OutcomeKind.DONE, out.error
    rows = rig.rows("E1")
    assert len(rows) == 62
    for key, (value, unit, name) in EXPECTED_ROWS.items():
        assert rows[key] == (value, unit, name, sop), key
    findings = rig.report_row("E1")["findings"]
    assert findings.startswith("患者配合良好。\n【AI测量】\n")
    assert findings.endswith("\n【/AI测量】")
    assert ("左心室内径：左室舒张末期内径47.0mm，左室收缩末期内径31.0mm，室间隔厚度9.0mm，左室后壁厚度9.5mm，"
            "室间隔收缩末期厚度13.0mm，左室后壁收缩末期厚度14.0mm。") in findings  # IVSs/LVPWs have a place (issue 8)
    assert "左室射血分数60%" in findings
    assert "二尖瓣血流频谱：E峰流速81cm/s，A峰流速96cm/s，E/A比值0.84" in findings
    assert "组织多普勒：二尖瓣环室间隔侧e′8.0cm/s" in findings
    state = rig.state("E1")
    assert state["state"] == "APPLIED" and state["sop_instance_uid"] == sop
    assert set(state["written_keys"]["rows"]) == set(rows)


def test_all_measurements_kept_in_rai_measurement_including_unmapped(rig):
    rig.add_exam("E1", report_status="DRAFT")
    sop = rig.store(adult_echo_full(), "E1")
    rig.apply(sop)
    with rig.engine.connect() as conn:
        total = conn.execute(select(func.count()).where(measurement.c.sop_instance_uid == sop)).scalar()
        unmapped = conn.execute(
            select(measurement.c.concept_code, measurement.c.num_value, measurement.c.context)
            .where(measurement.c.sop_instance_uid == sop, measurement.c.item_key.is_(None))
        ).all()
        not_selected = conn.execute(
            select(func.count()).where(measurement.c.sop_instance_uid == sop, measurement.c.selected == 0)
        ).scalar()
    assert total == 65  # every NUM: 62 reported, the LVIDd replicates, the aortic regurgitation jet
    assert [r.concept_code for r in unmapped] == ["20355-4"]  # AR peak velocity: not AV_VMAX, kept anyway
    assert "Regurgitant" in unmapped[0].context
    assert not_selected == 2  # the two LVIDd replicates behind the mean


def test_signed_report_untouched_then_applied_when_back_to_draft(rig):
    rig.add_exam("E2", report_status="SIGNED", findings="医生已签发的所见。")
    sop = rig.store(adult_echo_full(), "E2")

    assert rig.apply(sop).kind is OutcomeKind.DONE
    assert rig.rows("E2") == {}
    assert rig.report_row("E2")["findings"] == "医生已签发的所见。"
    state = rig.state("E2")
    assert state["state"] == "PENDING" and "SIGNED" in state["detail"]

    rig.set_status("E2", "DRAFT")
    assert rig.apply(sop).kind is OutcomeKind.DONE
    assert rig.rows("E2")["LVEF"][0] == "60"
    assert rig.report_row("E2")["findings"].startswith("医生已签发的所见。\n【AI测量】")
    assert rig.state("E2")["state"] == "APPLIED"


def test_no_report_row_creates_a_draft(rig):
    rig.add_exam("E3")
    sop = rig.store(adult_echo_full(), "E3")
    assert rig.apply(sop).kind is OutcomeKind.DONE
    report = rig.report_row("E3")
    assert report["report_status"] == "DRAFT"
    assert report["findings"].startswith("【AI测量】\n左心室内径：")


def test_no_report_row_waits_when_creation_is_off(rig):
    rig.report = {"create_if_missing": False}
    rig.add_exam("E3")
    sop = rig.store(adult_echo_full(), "E3")
    assert rig.apply(sop).kind is OutcomeKind.DONE
    assert rig.report_row("E3") is None and rig.rows("E3") == {}
    assert rig.state("E3")["state"] == "PENDING"


def test_apply_twice_gives_the_same_rows(rig):
    rig.add_exam("E4", report_status="DRAFT", findings="医生书写。")
    sop = rig.store(adult_echo_full(), "E4")
    rig.apply(sop)
    first_rows, first_findings = rig.rows("E4"), rig.report_row("E4")["findings"]
    rig.apply(sop)
    assert rig.rows("E4") == first_rows
    assert rig.report_row("E4")["findings"] == first_findings
    with rig.engine.connect() as conn:
        assert conn.execute(select(func.count()).where(measurement.c.sop_instance_uid == sop)).scalar() == 65


def revision_of(ds, old):
    """``ds`` as a correction of ``old``: its Predecessor Documents Sequence names it (PS3.3 C.17.2)."""
    sop = Dataset()
    sop.ReferencedSOPClassUID, sop.ReferencedSOPInstanceUID = old.SOPClassUID, old.SOPInstanceUID
    series = Dataset()
    series.SeriesInstanceUID, series.ReferencedSOPSequence = old.SeriesInstanceUID, [sop]
    study = Dataset()
    study.StudyInstanceUID, study.ReferencedSeriesSequence = old.StudyInstanceUID, [series]
    ds.PredecessorDocumentsSequence = [study]
    return ds


def test_revision_replaces_its_predecessor_wholly_but_only_module_written_values(rig):
    rig.add_exam("E5", report_status="DRAFT", findings="医生书写的第一段。")
    first = adult_echo_full()
    old = rig.store(first, "E5")
    rig.apply(old)
    rig.add_doctor_row("E5", "DOCTOR_NOTE", "二尖瓣轻度反流", "")
    new = rig.store(revision_of(small_echo(5.2, 55), first), "E5")

    assert rig.apply(new).kind is OutcomeKind.DONE

    rows = rig.rows("E5")
    assert rows["LVIDd"] == ("52.0", "mm", "左室舒张末期内径", new)
    assert rows["LVEF"] == ("55", "%", "左室射血分数", new)
    assert "MV_E" not in rows  # the correction removed it: it leaves the report too
    assert rows["DOCTOR_NOTE"] == ("二尖瓣轻度反流", "", "医生录入", None)
    assert set(rows) == {"LVIDd", "LVEF", "DOCTOR_NOTE"}
    findings = rig.report_row("E5")["findings"]
    assert findings == ("医生书写的第一段。\n【AI测量】\n左心室内径：左室舒张末期内径52.0mm。\n左室收缩功能：左室射血分数55%。\n"
                        "（以上为AI测量值：ris-ai-module tests fixture，待医生确认。）\n【/AI测量】")

    # A late retry of the older SR must not undo the newer one.
    assert rig.apply(old).kind is OutcomeKind.DONE
    assert rig.rows("E5")["LVEF"][0] == "55"


def test_doctors_edit_of_a_module_written_row_is_kept(rig):
    rig.add_exam("E12", report_status="DRAFT")
    first = adult_echo_full()
    rig.apply(rig.store(first, "E12"))
    with rig.engine.begin() as conn:
        conn.execute(update(RIS_MEASURE).where(RIS_MEASURE.c.exam_id == "E12", RIS_MEASURE.c.item_key == "LVEF")
                     .values(item_value="58"))
    new = rig.store(revision_of(small_echo(5.2, 55), first), "E12")
    rig.apply(new)
    rows = rig.rows("E12")
    assert rows["LVEF"][0] == "58"  # the doctor's correction stands
    assert rows["LVIDd"] == ("52.0", "mm", "左室舒张末期内径", new)
    assert set(rows) == {"LVIDd", "LVEF"}
    assert "LVEF" not in rig.state("E12")["written_keys"]["rows"]


def test_doctors_row_with_the_same_key_is_kept(rig):
    rig.add_exam("E6", report_status="DRAFT")
    rig.add_doctor_row("E6", "LVEF", "58", "%")
    sop = rig.store(adult_echo_full(), "E6")
    rig.apply(sop)
    assert rig.rows("E6")["LVEF"] == ("58", "%", "医生录入", None)
    state = rig.state("E6")
    assert "LVEF" not in state["written_keys"]["rows"] and "LVEF" in state["detail"]


def test_unlinked_sr_is_stored_but_writes_nothing(rig):
    rig.add_exam("E7", report_status="DRAFT")
    sop = rig.store(adult_echo_full(), None)
    assert rig.apply(sop).kind is OutcomeKind.DONE
    assert rig.rows("E7") == {} and rig.state("E7") is None
    with rig.engine.connect() as conn:
        assert conn.execute(select(func.count()).where(measurement.c.sop_instance_uid == sop)).scalar() == 65


def test_repeated_keys_get_side_suffixes(rig):
    rig.add_exam("E8", report_status="DRAFT")
    sop = rig.store(carotid(), "E8")
    rig.apply(sop)
    rows = rig.rows("E8")
    assert rows["ICA_PSV_L"][:3] == ("70", "cm/s", "颈内动脉收缩期峰值流速（左）")
    assert rows["ICA_PSV_R"][:3] == ("120", "cm/s", "颈内动脉收缩期峰值流速（右）")


def test_missing_file_fails_with_reason(rig):
    rig.add_exam("E9", report_status="DRAFT")
    sop = rig.store(adult_echo_full(), "E9")
    for f in rig.storage.rglob("*.dcm"):
        f.unlink()
    out = rig.apply(sop)
    assert out.kind is OutcomeKind.FAILED and "missing" in out.error


def test_unknown_report_column_fails_with_state_recorded(rig):
    rig.report = {"text": {"column": "NO_SUCH_COLUMN"}}
    rig.add_exam("E10", report_status="DRAFT")
    sop = rig.store(adult_echo_full(), "E10")
    out = rig.apply(sop)
    assert out.kind is OutcomeKind.FAILED
    assert rig.rows("E10") == {}  # one transaction: nothing half-written
    assert rig.state("E10")["state"] == "FAILED"


def test_two_srs_applied_at_once_end_with_the_newer_values(rig):
    """Two worker threads, one exam: the report row lock orders them; a late older SR is superseded."""
    import threading

    rig.add_exam("E11", report_status="DRAFT")
    first = adult_echo_full()
    old = rig.store(first, "E11")
    new = rig.store(revision_of(small_echo(5.2, 55), first), "E11")
    outcomes = []
    threads = [threading.Thread(target=lambda s=s: outcomes.append(rig.apply(s))) for s in (new, old)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert [o.kind for o in outcomes] == [OutcomeKind.DONE, OutcomeKind.DONE]
    rows = rig.rows("E11")
    assert set(rows) == {"LVIDd", "LVEF"} and rows["LVEF"] == ("55", "%", "左室射血分数", new)
    assert rig.state("E11")["sop_instance_uid"] == new
