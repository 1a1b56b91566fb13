"""Fixtures for the exam-out path: a stand-in AI host on loopback and contexts built from real config."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from ris_ai_module.context import AppContext
from ris_ai_module.db.engine import make_engine
from ris_ai_module.settings import config_from_dict
from ris_ai_module.sim.http_host import StubServer


@pytest.fixture
def stub() -> Iterator[StubServer]:
    server = StubServer().start()
    try:
        yield server
    finally:
        server.stop()


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def make_ctx(engine: Engine, push_url: str, **sections: Any) -> AppContext:
    raw = deep_merge(
        {
            "database": {"url": engine.url.render_as_string(hide_password=False)},
            "push": {"url": push_url, "connect_timeout": "2s", "read_timeout": "5s",
                     "retry": {"initial": "50ms", "max_delay": "200ms", "max_attempts": 5}},
            "worker": {"idle_wait": "50ms", "lease": "10s", "threads": 1},
        },
        sections,
    )
    config = config_from_dict(raw)
    return AppContext(config=config, engine=make_engine(config.database))


def add_exam(engine: Engine, exam_id: str, name: str = "张三", status: str = "REGISTERED", study_uid: str | None = None,
             accession: str | None = None, patient_id: str = "P0001") -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ris_exam (EXAM_ID, PATIENT_ID, PATIENT_NAME, SEX, BIRTH_DATE, ACCESSION_NO, EXAM_DATE,"
                " EXAM_ITEMS, EXAM_DESC, STUDY_UID, MODALITY, EXAM_STATUS) VALUES (:id, :pid, :name, 'F', :birth,"
                " :acc, :exam_date, '心脏彩超', '超声心动图（经胸）', :uid, 'US', :status)"
            ),
            {"id": exam_id, "pid": patient_id, "name": name, "birth": __import__("datetime").date(1980, 2, 29),
             "acc": accession or f"A{exam_id}", "exam_date": __import__("datetime").datetime(2026, 11, 27, 8, 30),
             "uid": study_uid, "status": status},
        )


def set_status(engine: Engine, exam_id: str, status: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE ris_exam SET EXAM_STATUS = :s WHERE EXAM_ID = :id"), {"s": status, "id": exam_id})
