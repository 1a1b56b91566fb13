"""A hospital group: two AI hosts, routing rules; each exam reaches only its host(s), each once."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from ris_ai_module.db.tables import task
from ris_ai_module.push.fanout import child_task_uuid
from ris_ai_module.runtime import make_worker
from ris_ai_module.sim.http_host import StubServer
from ris_ai_module.tasks.worker import Worker
from tests.integration.tasks.conftest import add_exam, make_ctx, set_status


def _drain(worker: Worker, rounds: int = 30) -> None:
    for _ in range(rounds):
        if not worker.run_once():
            return


def _group_ctx(engine: Engine, echo: StubServer, breast: StubServer):
    return make_ctx(
        engine, f"http://127.0.0.1:{echo.port}/echo",
        push={
            "hosts": [{"name": "breast-ai", "url": f"http://127.0.0.1:{breast.port}/breast",
                       "field_names": {"patientName": "name"}, "auth": {"type": "bearer", "token": "b-token"}}],
            "routes": [
                {"name": "breast", "hosts": ["breast-ai"], "when": [{"column": "EXAM_ITEMS", "contains": ["乳腺"]}]},
                {"name": "both", "hosts": ["default", "breast-ai"],
                 "when": [{"column": "EXAM_DESC", "contains": ["会诊"]}]},
            ],
            "default_hosts": ["default"],
        },
    )


def _set_items(engine: Engine, exam_id: str, items: str, desc: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE ris_exam SET EXAM_ITEMS = :i, EXAM_DESC = :d WHERE EXAM_ID = :e"),
                     {"i": items, "d": desc, "e": exam_id})


def test_each_exam_reaches_only_its_hosts_once(any_db: Engine) -> None:
    engine = any_db
    echo, breast = StubServer().start(), StubServer().start()
    try:
        ctx = _group_ctx(engine, echo, breast)
        for exam_id, items, desc in [("G1", "心脏彩超", "超声心动图"), ("G2", "乳腺彩超", "双乳"),
                                     ("G3", "心脏彩超", "多学科会诊")]:
            add_exam(engine, exam_id, name=f"患者{exam_id}", patient_id=f"P{exam_id}")
            _set_items(engine, exam_id, items, desc)
            set_status(engine, exam_id, "STARTED")
        worker = make_worker(ctx)
        _drain(worker)
        at_echo = sorted(r.body["examKey"] for r in echo.state.received)
        at_breast = sorted(r.body["examKey"] for r in breast.state.received)
        assert at_echo == ["G1", "G3"]
        assert at_breast == ["G2", "G3"]
        # the breast host's own mapping and credentials, the default host's untouched
        g2 = next(r for r in breast.state.received if r.body["examKey"] == "G2")
        assert g2.body["name"] == "患者G2" and "patientName" not in g2.body
        assert g2.headers["Authorization"] == "Bearer b-token"
        assert all("Authorization" not in r.headers for r in echo.state.received)
        with engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(select(task).order_by(task.c.task_id))]
        assert all(r["status"] == "DONE" for r in rows), rows
        parent = next(r for r in rows if r["exam_key"] == "G3" and '"host"' not in (r["payload"] or ""))
        g3_keys = {r.headers["Idempotency-Key"] for s in (echo, breast) for r in s.state.received
                   if r.body["examKey"] == "G3"}
        assert g3_keys == {child_task_uuid(parent["task_uuid"], "default"),
                           child_task_uuid(parent["task_uuid"], "breast-ai")}
        _drain(worker)
        assert len(echo.state.received) == 2 and len(breast.state.received) == 2, "nothing is sent twice"
        ctx.engine.dispose()
    finally:
        echo.stop()
        breast.stop()
