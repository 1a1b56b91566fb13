"""A hospital's ``pick_exam`` hook up to the report, with DCMTK storescu as the AI host, on SQLite and
PostgreSQL (test_hook_pick.py covers each kind of pick): after the worker has run, the exam the hook picked
rightly has its report and no other patient's report got anything; with ``[review] patient_check = "off"``
a hook's pick is still checked by Patient ID (a site's code is not an operator)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Engine

from ris_ai_module.context import make_context
from ris_ai_module.db import migrate, scripts
from ris_ai_module.db.tables import dicom_object, task
from ris_ai_module.dicom.scp import StorageScp
from ris_ai_module.report.handler import SrApplyHandler
from ris_ai_module.runtime import make_worker
from ris_ai_module.settings import config_from_dict
from tests.dbs import fresh_database
from tests.integration.dicom import dcmtk
from tests.integration.dicom.conftest import dicom_section
from tests.integration.tasks.conftest import add_exam
from tests.sr_fixtures.build import save
from tests.sr_fixtures.cases import adult_echo_full

#: The hospital's rule, keyed by the accession number the AI host sent (none of them is in the RIS, so the
#: link rules find nothing and the hook is asked).
HOOK = '''
PICKS = {"PICK-OWN": "E1", "PICK-OTHER": "E2", "PICK-NAME": "E3"}

def pick_exam(obj, candidates):
    return PICKS.get(obj["accession_no"])
'''

_names = itertools.count()


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite"),
                        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)])
def ris(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with fresh_database(request.param, directory=tmp_path) as url:
        engine = create_engine(url)
        try:
            migrate.upgrade(engine)
            scripts.install(engine, demo_ris=True)
            add_exam(engine, "E1", name="张三", patient_id="P100", accession="A-E1", status="FINISHED")
            add_exam(engine, "E2", name="李四", patient_id="P200", accession="A-E2", status="FINISHED")
            add_exam(engine, "E3", name="王五", patient_id="P100", accession="A-E3", status="FINISHED")
            yield engine
        finally:
            engine.dispose()


@pytest.fixture
def start(ris: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., StorageScp]]:
    """An SCP whose [hooks] module is the hospital's file above (a fresh module name per SCP)."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    started: list[StorageScp] = []

    def _start(patient_check: str) -> StorageScp:
        name = f"site_hooks_{next(_names)}_{patient_check.replace('-', '_')}"
        (site / f"{name}.py").write_text(HOOK, encoding="utf-8")
        raw = {"database": {"url": ris.url.render_as_string(hide_password=False)}, "worker": {"enabled": False},
               "review": {"patient_check": patient_check}, "hooks": {"module": name, "timeout": "5s"}}
        raw.update(dicom_section(tmp_path / f"storage-{name}"))
        scp = StorageScp(make_context(config_from_dict(raw)))
        scp.start()
        started.append(scp)
        return scp

    yield _start
    for scp in started:
        scp.stop()
        scp.ctx.engine.dispose()


def _send(scp: StorageScp, tmp_path: Path, accession: str, patient_id: str = "P100") -> str:
    path = tmp_path / f"{accession}-{patient_id}.dcm"
    ds = adult_echo_full()  # a full adult echo SR: its values reach a report when it is linked
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientID, ds.PatientName, ds.AccessionNumber, ds.StudyDate = patient_id, "Zhang^San", accession, "20260101"
    save(ds, path)
    out = dcmtk.storescu(scp.port, path)
    assert dcmtk.store_statuses(out.stdout + out.stderr) == ["Success"], out.stdout + out.stderr
    return str(ds.SOPInstanceUID)


def _row(engine: Engine, sop: str):
    with engine.connect() as conn:
        return conn.execute(select(dicom_object).where(dicom_object.c.sop_instance_uid == sop)).one()


def _apply_tasks(engine: Engine, sop: str) -> int:
    """SR_APPLY tasks of the object (their payload names its SOP Instance UID)."""
    with engine.connect() as conn:
        payloads = conn.execute(select(task.c.payload).where(task.c.kind == "SR_APPLY")).scalars()
        return sum(json.loads(p or "{}").get("sop_instance_uid") == sop for p in payloads)


def _measures(engine: Engine, exam_id: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT COUNT(*) FROM ris_report_measure WHERE exam_id = :e"), {"e": exam_id}).scalar()


def test_only_the_right_pick_reaches_a_report(start: Callable[..., StorageScp], ris: Engine,
                                             tmp_path: Path) -> None:
    scp = start("strict")
    own = _row(ris, _send(scp, tmp_path, "PICK-OWN"))
    assert (own.exam_key, own.link_method, own.review_state) == ("E1", "HOOK", None)
    assert _apply_tasks(ris, own.sop_instance_uid) == 1

    other = _row(ris, _send(scp, tmp_path, "PICK-OTHER"))
    assert (other.exam_key, other.link_method, other.review_state) == (None, None, "NEEDS_REVIEW")
    assert other.review_exam_key == "E2" and other.review_method == "HOOK"
    assert other.review_reason == "pick_exam hook chose exam E2: Patient ID P100 is not the exam's (P200)"
    assert _apply_tasks(ris, other.sop_instance_uid) == 0, "held for review: never queued for SR_APPLY"

    name = _row(ris, _send(scp, tmp_path, "PICK-NAME"))  # E3 is P100 too, but 王五, not Zhang^San
    assert (name.exam_key, name.review_state, name.review_exam_key) == (None, "NEEDS_REVIEW", "E3")
    assert _apply_tasks(ris, name.sop_instance_uid) == 0

    worker = make_worker(scp.ctx, [SrApplyHandler(scp.ctx)])  # type: ignore[arg-type]
    for _ in range(10):
        if worker.run_once() == 0:
            break
    assert _measures(ris, "E1") > 0, "the own patient's exam got its report"
    assert _measures(ris, "E2") == _measures(ris, "E3") == 0, "nothing reached another patient's report"


def test_with_the_patient_check_off_a_hook_pick_is_still_checked_by_patient_id(
        start: Callable[..., StorageScp], ris: Engine, tmp_path: Path) -> None:
    scp = start("off")
    other = _row(ris, _send(scp, tmp_path, "PICK-OTHER"))
    assert (other.exam_key, other.review_state, other.review_exam_key) == (None, "NEEDS_REVIEW", "E2")
    assert other.review_reason == "pick_exam hook chose exam E2: Patient ID P100 is not the exam's (P200)"
    assert _apply_tasks(ris, other.sop_instance_uid) == 0
    name = _row(ris, _send(scp, tmp_path, "PICK-NAME"))
    assert (name.exam_key, name.link_method) == ("E3", "HOOK"), "off: names are not compared, the ID is"

