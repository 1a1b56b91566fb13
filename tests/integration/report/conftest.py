"""A results-in rig on a real database: demo RIS exams, stored SR files, RAI_OBJECT rows, SR_APPLY runs.

The SR files are the SR engine's fixtures (tests/sr_fixtures), written under a storage root in tmp_path
and indexed as the SCP indexes them; applying runs the real task handler against the real engine.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydicom.dataset import Dataset
from sqlalchemy import DateTime, String, Text, column, insert, select, table, update
from sqlalchemy.engine import Engine

from ris_ai_module.context import AppContext
from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.tables import dicom_object, report_state
from ris_ai_module.report.handler import SrApplyHandler
from ris_ai_module.settings import config_from_dict
from ris_ai_module.tasks.model import Outcome, Task
from tests.sr_fixtures.build import save

RIS_EXAM = table(
    "ris_exam", column("exam_id", String), column("patient_id", String), column("patient_name", String),
    column("accession_no", String), column("exam_status", String), column("modality", String),
)
RIS_REPORT = table(
    "ris_report", column("exam_id", String), column("findings", Text), column("impression", Text),
    column("report_status", String), column("updated_at", DateTime),
)
RIS_MEASURE = table(
    "ris_report_measure", column("exam_id", String), column("item_key", String), column("item_name", String),
    column("item_value", String), column("item_unit", String), column("source_uid", String),
    column("updated_at", DateTime),
)


@dataclass
class Rig:
    engine: Engine
    storage: Path
    report: dict[str, Any]
    _clock: datetime

    @property
    def ctx(self) -> AppContext:
        raw = {
            "database": {"url": "sqlite://"}, "worker": {"enabled": False},
            "storage": {"root": str(self.storage)}, "report": self.report,
        }
        return AppContext(config=config_from_dict(raw), engine=self.engine, owner="test:1")

    def add_exam(self, exam_key: str, report_status: str | None = None, findings: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(RIS_EXAM).values(
                exam_id=exam_key, patient_id="P" + exam_key, patient_name="张三", accession_no="A" + exam_key,
                exam_status="FINISHED", modality="US",
            ))
            if report_status:
                conn.execute(insert(RIS_REPORT).values(exam_id=exam_key, report_status=report_status, findings=findings))

    def store(self, ds: Dataset, exam_key: str | None) -> str:
        """Write the SR under the storage root and index it, as the SCP does (received one second apart)."""
        sop = str(ds.SOPInstanceUID)
        rel = Path(str(ds.StudyInstanceUID)) / f"{sop}.dcm"
        (self.storage / rel.parent).mkdir(parents=True, exist_ok=True)
        save(ds, self.storage / rel)
        data = (self.storage / rel).read_bytes()
        self._clock += timedelta(seconds=1)
        with self.engine.begin() as conn:
            conn.execute(insert(dicom_object).values(
                sop_instance_uid=sop, sop_class_uid=str(ds.SOPClassUID), study_uid=str(ds.StudyInstanceUID),
                exam_key=exam_key, link_method="STUDY_UID" if exam_key else None, source="DICOM",
                file_path=rel.as_posix(), file_size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                received_at=self._clock,
            ))
        return sop

    def apply(self, sop: str, exam_key: str | None = None) -> Outcome:
        task = Task(task_id=1, task_uuid="u", kind="SR_APPLY", status="IN_PROCESS", exam_key=exam_key,
                    attempts=1, lease_owner="test:1", payload={"sop_instance_uid": sop})
        return SrApplyHandler(self.ctx).handle(task)

    def rows(self, exam_key: str) -> dict[str, tuple[str, str, str, str]]:
        """ITEM_KEY -> (value, unit, name, source uid)."""
        t = RIS_MEASURE
        with self.engine.connect() as conn:
            found = conn.execute(
                select(t.c.item_key, t.c.item_value, t.c.item_unit, t.c.item_name, t.c.source_uid)
                .where(t.c.exam_id == exam_key)
            ).all()
        return {r[0]: (r[1], r[2], r[3], r[4]) for r in found}

    def report_row(self, exam_key: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(RIS_REPORT).where(RIS_REPORT.c.exam_id == exam_key)).first()
        return dict(row._mapping) if row else None

    def set_status(self, exam_key: str, status: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(RIS_REPORT).where(RIS_REPORT.c.exam_id == exam_key).values(report_status=status))

    def add_doctor_row(self, exam_key: str, key: str, value: str, unit: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(RIS_MEASURE).values(exam_id=exam_key, item_key=key, item_name="医生录入",
                                                    item_value=value, item_unit=unit))

    def state(self, exam_key: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(report_state).where(report_state.c.exam_key == exam_key)).first()
        if row is None:
            return None
        out = dict(row._mapping)
        out["written_keys"] = json.loads(out["written_keys"]) if out["written_keys"] else None
        return out


@pytest.fixture
def rig(any_db: Engine, tmp_path: Path) -> Rig:
    storage = tmp_path / "storage"
    storage.mkdir()
    return Rig(any_db, storage, {}, utcnow().replace(microsecond=0))
