"""The DBA's scripts on real databases (SQLite, PostgreSQL, MariaDB): demo RIS, view, trigger, uninstall.

The exam-start trigger rules under test:
* status becomes STARTED (UPDATE from another status or NULL, or INSERT with STARTED) -> exactly one
  EXAM_PUSH task, SCHEDULED, attempts 0, a lower-case 8-4-4-4-12 UUID, UTC timestamps;
* anything else (other statuses, other columns while STARTED, STARTED -> STARTED) -> no task;
* STARTED -> FINISHED -> STARTED is a re-start: a second task (a new push, new Idempotency-Key);
* the task exists only if the RIS transaction commits.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection, Engine

from ris_ai_module.db import scripts, tables
from ris_ai_module.db.dialects import name_of

UUID_TEXT = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
CANONICAL = [
    "EXAM_KEY", "PATIENT_ID", "PATIENT_NAME", "SEX", "BIRTH_DATE", "ACCESSION_NO",
    "EXAM_DATE", "EXAM_DESC", "EXAM_ITEMS", "STUDY_UID", "MODALITY", "EXAM_STATUS",
]  # fmt: skip


def add_exam(conn: Connection, exam_id: str, status: str = "REGISTERED", name: str = "张三", **cols) -> None:
    values = {
        "EXAM_ID": exam_id,
        "PATIENT_ID": f"P{exam_id}",
        "PATIENT_NAME": name,
        "SEX": "男",
        "BIRTH_DATE": date(1980, 1, 2),
        "ACCESSION_NO": f"A{exam_id}",
        "EXAM_DATE": datetime(2026, 3, 4, 9, 30, 0),
        "EXAM_ITEMS": "心脏彩超;颈部血管",
        "EXAM_DESC": "超声心动图",
        "STUDY_UID": None,
        "MODALITY": "US",
        "EXAM_STATUS": status,
        **cols,
    }
    names = ", ".join(values)
    binds = ", ".join(f":{k}" for k in values)
    conn.execute(text(f"INSERT INTO ris_exam ({names}) VALUES ({binds})"), values)


def set_status(conn: Connection, exam_id: str, status: str) -> None:
    conn.execute(text("UPDATE ris_exam SET EXAM_STATUS = :s WHERE EXAM_ID = :e"), {"s": status, "e": exam_id})


def tasks_for(conn: Connection, exam_id: str):
    t = tables.task
    return conn.execute(select(t).where(t.c.exam_key == exam_id).order_by(t.c.task_id)).all()


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def check_task(row, exam_id: str, before: datetime, after: datetime) -> None:
    assert row.kind == "EXAM_PUSH"
    assert row.status == "SCHEDULED"
    assert row.exam_key == exam_id
    assert row.attempts == 0
    assert UUID_TEXT.match(row.task_uuid), row.task_uuid
    assert str(uuid.UUID(row.task_uuid)) == row.task_uuid
    slack = timedelta(seconds=3)
    for ts in (row.next_run_at, row.created_at, row.updated_at):
        assert isinstance(ts, datetime)
        assert before - slack <= ts <= after + slack, (ts, before, after)
    assert row.next_run_at == row.created_at == row.updated_at
    assert row.lease_owner is None and row.finished_at is None


def test_update_to_started_makes_one_task(any_db: Engine) -> None:
    with any_db.begin() as conn:
        add_exam(conn, "E1")
    assert_no_tasks(any_db)
    before = utcnow()
    with any_db.begin() as conn:
        set_status(conn, "E1", "STARTED")
    after = utcnow()
    with any_db.connect() as conn:
        rows = tasks_for(conn, "E1")
    assert len(rows) == 1
    check_task(rows[0], "E1", before, after)


def test_insert_started_makes_one_task(any_db: Engine) -> None:
    before = utcnow()
    with any_db.begin() as conn:
        add_exam(conn, "E2", status="STARTED")
    after = utcnow()
    with any_db.connect() as conn:
        rows = tasks_for(conn, "E2")
    assert len(rows) == 1
    check_task(rows[0], "E2", before, after)


def assert_no_tasks(engine: Engine) -> None:
    with engine.connect() as conn:
        assert conn.execute(select(tables.task.c.task_id)).all() == []


def test_other_changes_make_no_task(any_db: Engine) -> None:
    with any_db.begin() as conn:
        add_exam(conn, "R1")
        add_exam(conn, "C1", status="CANCELLED")
        add_exam(conn, "F1", status="FINISHED")
        set_status(conn, "R1", "REGISTERED")  # REGISTERED -> REGISTERED
        set_status(conn, "R1", "FINISHED")  # REGISTERED -> FINISHED
        set_status(conn, "C1", "REGISTERED")
        conn.execute(text("UPDATE ris_exam SET PATIENT_NAME = '李四' WHERE EXAM_ID = 'F1'"))
    assert_no_tasks(any_db)

    with any_db.begin() as conn:
        add_exam(conn, "S1", status="STARTED")
    with any_db.begin() as conn:
        conn.execute(text("UPDATE ris_exam SET PATIENT_NAME = '王五', EXAM_DESC = '复查' WHERE EXAM_ID = 'S1'"))
        set_status(conn, "S1", "STARTED")  # STARTED -> STARTED
        conn.execute(text("UPDATE ris_exam SET EXAM_STATUS = EXAM_STATUS"))  # every row, no change
    with any_db.connect() as conn:
        assert len(tasks_for(conn, "S1")) == 1
        assert conn.execute(select(tables.task.c.task_id)).all() != []
        assert len(conn.execute(select(tables.task.c.task_id)).all()) == 1


def test_restart_makes_a_second_task(any_db: Engine) -> None:
    """STARTED -> FINISHED -> STARTED is a new start: a second push with its own idempotency key."""
    with any_db.begin() as conn:
        add_exam(conn, "E3")
        set_status(conn, "E3", "STARTED")
    with any_db.begin() as conn:
        set_status(conn, "E3", "FINISHED")
    with any_db.begin() as conn:
        set_status(conn, "E3", "STARTED")
    with any_db.connect() as conn:
        rows = tasks_for(conn, "E3")
    assert len(rows) == 2
    assert rows[0].task_uuid != rows[1].task_uuid


def test_rollback_leaves_no_task(any_db: Engine) -> None:
    with any_db.begin() as conn:
        add_exam(conn, "E4")
    with any_db.connect() as conn:
        trans = conn.begin()
        set_status(conn, "E4", "STARTED")
        assert len(tasks_for(conn, "E4")) == 1  # visible inside the RIS transaction ...
        trans.rollback()
    with any_db.connect() as conn:
        assert tasks_for(conn, "E4") == []  # ... and gone with it


def test_multi_row_update_makes_one_task_per_exam(any_db: Engine) -> None:
    ids = [f"M{i:02d}" for i in range(40)]
    with any_db.begin() as conn:
        for exam_id in ids:
            add_exam(conn, exam_id)
        add_exam(conn, "M99", status="STARTED")  # already started: no second task below
    with any_db.begin() as conn:
        conn.execute(text("UPDATE ris_exam SET EXAM_STATUS = 'STARTED'"))
    with any_db.connect() as conn:
        rows = conn.execute(select(tables.task)).all()
    assert sorted(r.exam_key for r in rows) == sorted([*ids, "M99"])
    uuids = [r.task_uuid for r in rows]
    assert len(set(uuids)) == len(uuids)
    assert all(UUID_TEXT.match(u) for u in uuids)


def test_chinese_names_round_trip_through_view(any_db: Engine) -> None:
    names = {"C1": "张三", "C2": "欧阳娜娜", "C3": "𠮷野家", "C4": "Zhang^San=张三"}  # 𠮷: 4 bytes in UTF-8
    with any_db.begin() as conn:
        for exam_id, name in names.items():
            add_exam(conn, exam_id, name=name, EXAM_DESC=f"{name}的检查")
        add_exam(conn, "C5", SEX="女")
        add_exam(conn, "C6", SEX="未知")
        add_exam(conn, "C7", SEX=None)
    with any_db.connect() as conn:
        result = conn.execute(text(f"SELECT {', '.join(CANONICAL)} FROM rai_v_exam")).mappings()
        views = [SimpleNamespace(**{k.lower(): v for k, v in m.items()}) for m in result]
    rows = {r.exam_key: r for r in views}
    for exam_id, name in names.items():
        assert rows[exam_id].patient_name == name
        assert rows[exam_id].exam_desc == f"{name}的检查"
        assert rows[exam_id].exam_items == "心脏彩超;颈部血管"
    assert rows["C1"].sex == "M" and rows["C5"].sex == "F" and rows["C6"].sex == "O" and rows["C7"].sex is None
    r = rows["C1"]
    assert isinstance(r.exam_key, str)
    if name_of(any_db) == "sqlite":  # ISO text; the module's reader parses it
        assert str(r.birth_date) == "1980-01-02"
        assert str(r.exam_date).startswith("2026-03-04 09:30:00")
    else:
        assert r.birth_date == date(1980, 1, 2) and not isinstance(r.birth_date, datetime)
        assert r.exam_date == datetime(2026, 3, 4, 9, 30, 0)
    assert (r.patient_id, r.accession_no, r.modality, r.exam_status, r.study_uid) == (
        "PC1", "AC1", "US", "REGISTERED", None,
    )  # fmt: skip


def test_view_has_exactly_the_canonical_columns(any_db: Engine) -> None:
    cols = [c["name"].upper() for c in inspect(any_db).get_columns("rai_v_exam")]
    assert cols == CANONICAL


def test_sqlite_timestamps_read_back_with_microseconds(tmp_path) -> None:
    from tests.dbs import engine_for, fresh_database

    with fresh_database("sqlite", directory=tmp_path) as url:
        engine = engine_for(url)
        tables.metadata.create_all(engine)
        scripts.install(engine, demo_ris=True)
        with engine.begin() as conn:
            add_exam(conn, "T1", status="STARTED")
            raw = conn.exec_driver_sql("SELECT next_run_at, created_at, updated_at, task_uuid FROM rai_task").one()
        engine.dispose()
    for value in raw[:3]:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", value), value
    assert raw[3][14] == "4" and raw[3][19] in "89ab"  # random (version 4, RFC 4122 variant)


def trigger_fires(engine: Engine, exam_id: str) -> bool:
    with engine.begin() as conn:
        add_exam(conn, exam_id, status="STARTED")
    with engine.connect() as conn:
        return len(tasks_for(conn, exam_id)) == 1


def test_uninstall_and_reinstall(any_db: Engine) -> None:
    assert trigger_fires(any_db, "U1")
    assert "rai_v_exam" in {v.lower() for v in inspect(any_db).get_view_names()}

    scripts.uninstall(any_db)
    scripts.uninstall(any_db)  # re-runnable
    assert "rai_v_exam" not in {v.lower() for v in inspect(any_db).get_view_names()}
    assert not trigger_fires(any_db, "U2")
    names = {t.lower() for t in inspect(any_db).get_table_names()}
    assert {"rai_task", "rai_task_attempt", "ris_exam", "ris_report", "ris_report_measure"} <= names

    scripts.install(any_db)
    scripts.install(any_db)  # re-runnable, and no doubled trigger
    assert trigger_fires(any_db, "U3")

    scripts.uninstall(any_db, demo_ris=True)
    scripts.uninstall(any_db, demo_ris=True)
    names = {t.lower() for t in inspect(any_db).get_table_names()}
    assert not names & {"ris_exam", "ris_report", "ris_report_measure"}
    assert "rai_task" in names
    with any_db.connect() as conn:  # the module's tasks survive the uninstall
        assert sorted(r.exam_key for r in conn.execute(select(tables.task))) == ["U1", "U3"]

    scripts.install(any_db, demo_ris=True)
    assert trigger_fires(any_db, "U4")


def test_report_tables(any_db: Engine) -> None:
    """Report rows get a key from the database; one report per exam; one measurement per item."""
    with any_db.begin() as conn:
        conn.execute(
            text("INSERT INTO ris_report (EXAM_ID, FINDINGS, IMPRESSION, REPORT_STATUS) VALUES (:e, :f, :i, 'DRAFT')"),
            {"e": "R1", "f": "左室射血分数 62%。" * 500, "i": "心脏结构及功能未见明显异常"},
        )
        conn.execute(
            text(
                "INSERT INTO ris_report_measure (EXAM_ID, ITEM_KEY, ITEM_NAME, ITEM_VALUE, ITEM_UNIT) "
                "VALUES ('R1', 'LVEF', '左室射血分数', '62', '%')"
            )
        )
    with any_db.connect() as conn:
        row = conn.execute(text("SELECT REPORT_ID, FINDINGS, REPORT_STATUS FROM ris_report")).one()
        assert row[0] is not None and row[1].startswith("左室射血分数") and len(row[1]) == 5500
        assert conn.execute(text("SELECT ITEM_NAME FROM ris_report_measure")).scalar() == "左室射血分数"
    for stmt in (
        "INSERT INTO ris_report (EXAM_ID, REPORT_STATUS) VALUES ('R1', 'DRAFT')",
        "INSERT INTO ris_report_measure (EXAM_ID, ITEM_KEY) VALUES ('R1', 'LVEF')",
    ):
        with pytest.raises(Exception), any_db.begin() as conn:  # noqa: B017 - driver-specific IntegrityError
            conn.execute(text(stmt))


@pytest.mark.parametrize("any_db", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_postgresql_start_sends_a_wakeup_notification_at_commit(any_db: Engine) -> None:
    import psycopg

    url = any_db.url
    with psycopg.connect(
        host=url.host, port=url.port, user=url.username, dbname=url.database, autocommit=True
    ) as listener:
        listener.execute("LISTEN rai_task")
        with any_db.connect() as conn:
            with conn.begin():
                add_exam(conn, "N1", status="STARTED")
                add_exam(conn, "N2", status="STARTED")
                assert list(listener.notifies(timeout=0.2)) == []  # nothing before COMMIT
        got = list(listener.notifies(timeout=2, stop_after=1))
    assert [(n.channel, n.payload) for n in got] == [("rai_task", "")]
