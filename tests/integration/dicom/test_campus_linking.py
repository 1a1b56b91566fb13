"""Two campuses whose accession numbers and patient IDs collide: DCMTK storescu sends to our SCP on SQLite,
PostgreSQL and MariaDB, and each object links only to its own campus's exam; a match across campuses whose
campus is not known is held for review with the reason, never linked by a weaker rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from ris_ai_module.context import make_context
from ris_ai_module.db.tables import dicom_object
from ris_ai_module.dicom.scp import StorageScp
from ris_ai_module.settings import config_from_dict
from tests.integration.dicom import dcmtk
from tests.integration.dicom import objects as make
from tests.integration.dicom.conftest import dicom_section
from tests.integration.tasks.test_campuses import _QUALIFIED


def _group_view(engine: Engine) -> None:
    """A group RIS keyed by (campus, number): accession A100 and patient P100 exist in both campuses."""
    dialect = "mysql" if engine.dialect.name in ("mysql", "mariadb") else engine.dialect.name
    with engine.begin() as conn:
        conn.execute(text(
            "CREATE TABLE ris_exam_group (CAMPUS VARCHAR(16) NOT NULL, EXAM_ID VARCHAR(64) NOT NULL, "
            "PATIENT_ID VARCHAR(64), PATIENT_NAME VARCHAR(200), ACCESSION_NO VARCHAR(64), EXAM_DATE TIMESTAMP NULL, "
            "STUDY_UID VARCHAR(64), EXAM_STATUS VARCHAR(16), PRIMARY KEY (CAMPUS, EXAM_ID))"))
        conn.execute(text("DROP VIEW rai_v_exam"))
        conn.execute(text(
            f"CREATE VIEW rai_v_exam AS SELECT {_QUALIFIED[dialect]} AS EXAM_KEY, E.PATIENT_ID AS PATIENT_ID, "
            "E.PATIENT_NAME AS PATIENT_NAME, NULL AS SEX, NULL AS BIRTH_DATE, E.ACCESSION_NO AS ACCESSION_NO, "
            "E.EXAM_DATE AS EXAM_DATE, NULL AS EXAM_DESC, NULL AS EXAM_ITEMS, E.STUDY_UID AS STUDY_UID, "
            "NULL AS MODALITY, E.EXAM_STATUS AS EXAM_STATUS, E.CAMPUS AS CAMPUS FROM ris_exam_group E"))
        # the same numbers on both campuses; only the east exam is on 2026-11-27 (so patient + date alone
        # would pick east: a held object must not fall through to that rule)
        for campus, day in (("east", "2026-11-27 09:00:00"), ("west", "2026-11-26 09:00:00")):
            conn.execute(text(
                "INSERT INTO ris_exam_group (CAMPUS, EXAM_ID, PATIENT_ID, PATIENT_NAME, ACCESSION_NO, EXAM_DATE, "
                "EXAM_STATUS) VALUES (:campus, 'E0001', 'P100', '张三', 'A100', :day, 'STARTED')"),
                {"campus": campus, "day": day})


PEERS = [
    {"name": "east-ai", "ae_title": "EAST_AI", "addresses": ["127.0.0.1"], "campus": "east"},
    {"name": "west-ai", "ae_title": "WEST_AI", "addresses": ["127.0.0.1"], "campus": "west"},
    {"name": "central-ai", "ae_title": "CENTRAL_AI", "addresses": ["127.0.0.1"]},  # serves both: no campus
]


@pytest.fixture
def group_scp(any_db: Engine, tmp_path: Path):
    _group_view(any_db)
    raw = {"database": {"url": any_db.url.render_as_string(hide_password=False)}, "worker": {"enabled": False},
           "ris": {"campus_column": "CAMPUS", "campus_institutions": {"西院区": "west", "东院区": "east"}},
           "review": {"patient_check": "id-only"}}
    raw.update(dicom_section(tmp_path / "storage", peers=PEERS))
    ctx = make_context(config_from_dict(raw))
    scp = StorageScp(ctx)
    scp.start()
    try:
        yield scp
    finally:
        scp.stop()
        ctx.engine.dispose()


def _send(scp: StorageScp, tmp_path: Path, name: str, calling: str, institution: str = "") -> str:
    path = tmp_path / f"{name}.dcm"
    ds = make.sr(path, accession="A100", patient_id="P100", study_date="20261127")
    if institution:
        ds.InstitutionName = institution
        ds.save_as(path, enforce_file_format=True)
    out = dcmtk.storescu(scp.port, path, calling=calling)
    assert dcmtk.store_statuses(out.stdout + out.stderr) == ["Success"], out.stdout + out.stderr
    return str(ds.SOPInstanceUID)


def _row(scp: StorageScp, sop: str):
    with scp.ctx.engine.connect() as conn:  # type: ignore[attr-defined]
        return conn.execute(select(dicom_object).where(dicom_object.c.sop_instance_uid == sop)).one()


def test_each_campus_links_to_its_own_exam_and_unknown_campus_is_held(group_scp: StorageScp, tmp_path: Path) -> None:
    east = _row(group_scp, _send(group_scp, tmp_path, "east", "EAST_AI"))
    west = _row(group_scp, _send(group_scp, tmp_path, "west", "WEST_AI"))
    assert (east.exam_key, east.link_method, east.review_state) == ("east:E0001", "ACCESSION", None)
    assert (west.exam_key, west.link_method, west.review_state) == ("west:E0001", "ACCESSION", None)

    central = _row(group_scp, _send(group_scp, tmp_path, "central", "CENTRAL_AI"))
    assert (central.exam_key, central.link_method, central.review_state) == (None, None, "NEEDS_REVIEW")
    assert central.review_reason == ("accession number A100 matches exams of campuses east, west "
                                     "and the object's campus is not known")


def test_institution_name_names_the_campus_and_a_contradiction_is_held(group_scp: StorageScp, tmp_path: Path) -> None:
    by_name = _row(group_scp, _send(group_scp, tmp_path, "inst", "CENTRAL_AI", institution="西院区"))
    assert (by_name.exam_key, by_name.link_method) == ("west:E0001", "ACCESSION")

    both = _row(group_scp, _send(group_scp, tmp_path, "both", "EAST_AI", institution="西院区"))
    assert (both.exam_key, both.review_state) == (None, "NEEDS_REVIEW")
    assert both.review_reason == "the sending peer is campus east but InstitutionName '西院区' is campus west"


def test_an_object_whose_exam_is_only_on_another_campus_is_held(group_scp: StorageScp, tmp_path: Path) -> None:
    with group_scp.ctx.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(text("INSERT INTO ris_exam_group (CAMPUS, EXAM_ID, PATIENT_ID, PATIENT_NAME, ACCESSION_NO, "
                          "EXAM_STATUS) VALUES ('west', 'E0002', 'P200', '李四', 'A200', 'STARTED')"))
    path = tmp_path / "only-west.dcm"
    ds = make.sr(path, accession="A200", patient_id="P200")
    out = dcmtk.storescu(group_scp.port, path, calling="EAST_AI")
    assert dcmtk.store_statuses(out.stdout + out.stderr) == ["Success"]
    row = _row(group_scp, str(ds.SOPInstanceUID))
    assert (row.exam_key, row.review_state) == (None, "NEEDS_REVIEW")
    assert row.review_reason == "accession number A200 matches only exams of campus west; the object is from campus east"
