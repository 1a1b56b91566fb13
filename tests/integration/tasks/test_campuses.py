"""Two campuses on one database whose RIS exam numbers collide: campus-qualified keys, routing by campus,
and an instance limited to its campus that claims only its campus's tasks (and the orphans)."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from ris_ai_module.db.tables import task
from ris_ai_module.runtime import make_worker
from ris_ai_module.sim.http_host import StubServer
from ris_ai_module.tasks import queue
from ris_ai_module.tasks.model import TaskKind
from tests.integration.tasks.conftest import make_ctx

_QUALIFIED = {"sqlite": "E.CAMPUS || ':' || E.EXAM_ID", "postgresql": "E.CAMPUS || ':' || E.EXAM_ID",
              "mysql": "CONCAT(E.CAMPUS, ':', E.EXAM_ID)"}


def _campus_view(engine: Engine) -> None:
    """What a DBA of a group writes: a CAMPUS column, and EXAM_KEY qualified by it (E0001 exists twice)."""
    dialect = "mysql" if engine.dialect.name in ("mysql", "mariadb") else engine.dialect.name
    # the group's RIS keys exams by (campus, number); the demo RIS_EXAM (number alone) stands aside
    with engine.begin() as conn:
        conn.execute(text(
            "CREATE TABLE ris_exam_group (CAMPUS VARCHAR(16) NOT NULL, EXAM_ID VARCHAR(64) NOT NULL, "
            "PATIENT_ID VARCHAR(64), PATIENT_NAME VARCHAR(200), SEX VARCHAR(8), BIRTH_DATE DATE, "
            "ACCESSION_NO VARCHAR(64), EXAM_DATE TIMESTAMP NULL, EXAM_ITEMS VARCHAR(400), EXAM_DESC VARCHAR(400), "
            "STUDY_UID VARCHAR(64), MODALITY VARCHAR(16), EXAM_STATUS VARCHAR(16), PRIMARY KEY (CAMPUS, EXAM_ID))"))
        conn.execute(text("DROP VIEW rai_v_exam"))
        conn.execute(text(
            f"CREATE VIEW rai_v_exam AS SELECT {_QUALIFIED[dialect]} AS EXAM_KEY, E.PATIENT_ID AS PATIENT_ID, "
            "E.PATIENT_NAME AS PATIENT_NAME, E.SEX AS SEX, E.BIRTH_DATE AS BIRTH_DATE, E.ACCESSION_NO AS ACCESSION_NO, "
            "E.EXAM_DATE AS EXAM_DATE, E.EXAM_DESC AS EXAM_DESC, E.EXAM_ITEMS AS EXAM_ITEMS, E.STUDY_UID AS STUDY_UID, "
            "E.MODALITY AS MODALITY, E.EXAM_STATUS AS EXAM_STATUS, E.CAMPUS AS CAMPUS FROM ris_exam_group E"))
        for campus, name in (("east", "东院张三"), ("west", "西院李四")):
            conn.execute(text(
                "INSERT INTO ris_exam_group (EXAM_ID, PATIENT_ID, PATIENT_NAME, SEX, EXAM_ITEMS, MODALITY, EXAM_STATUS, CAMPUS)"
                " VALUES ('E0001', :pid, :name, 'F', '心脏彩超', 'US', 'STARTED', :campus)"),
                {"pid": f"P-{campus}", "name": name, "campus": campus})
            queue.enqueue(conn, TaskKind.EXAM_PUSH, exam_key=f"{campus}:E0001")
        queue.enqueue(conn, TaskKind.EXAM_PUSH, exam_key="gone:E0009")  # its exam left the view


def _group(engine: Engine, east: StubServer, west: StubServer, **module: object):
    return make_ctx(
        engine, f"http://127.0.0.1:{east.port}/east", ris={"campus_column": "CAMPUS"}, module=module,
        push={"hosts": [{"name": "west-ai", "url": f"http://127.0.0.1:{west.port}/west"}],
              "routes": [{"name": "west campus", "hosts": ["west-ai"],
                          "when": [{"column": "CAMPUS", "equals": ["west"]}]}]},
    )


def _drain(worker, rounds: int = 20) -> None:
    for _ in range(rounds):
        if not worker.run_once():
            return


def test_colliding_exam_numbers_reach_their_own_campus_host(any_db: Engine) -> None:
    east, west = StubServer().start(), StubServer().start()
    try:
        _campus_view(any_db)
        ctx = _group(any_db, east, west)
        _drain(make_worker(ctx))
        assert [(r.body["examKey"], r.body["patientName"]) for r in east.state.received] == [("east:E0001", "东院张三")]
        assert [(r.body["examKey"], r.body["patientName"]) for r in west.state.received] == [("west:E0001", "西院李四")]
        ctx.engine.dispose()
    finally:
        east.stop()
        west.stop()


def test_an_instance_limited_to_its_campus_claims_only_its_tasks_and_orphans(any_db: Engine) -> None:
    east, west = StubServer().start(), StubServer().start()
    try:
        _campus_view(any_db)
        east_ctx = _group(any_db, east, west, campuses=["east"])
        _drain(make_worker(east_ctx))
        with any_db.connect() as conn:
            status = {r.exam_key: r.status for r in conn.execute(select(task.c.exam_key, task.c.status))}
        assert status["east:E0001"] == "DONE"
        assert status["west:E0001"] == "SCHEDULED", "the west campus's instance pushes its own exams"
        assert status["gone:E0009"] == "FAILED"  # an orphan is anyone's: not left waiting forever
        assert west.state.received == [] and len(east.state.received) == 1
        west_ctx = _group(any_db, east, west, campuses=["west"])
        _drain(make_worker(west_ctx))
        assert [r.body["examKey"] for r in west.state.received] == ["west:E0001"]
        for c in (east_ctx, west_ctx):
            c.engine.dispose()
    finally:
        east.stop()
        west.stop()
