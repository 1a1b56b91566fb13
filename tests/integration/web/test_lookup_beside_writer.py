"""Look-ups run beside the name index's writer: a search over HTTP is answered while the index (or any other
RAI_* table) is being written, with the totals of the last committed state and no "database is locked".

On SQLite every transaction used to be BEGIN IMMEDIATE, readers included, so a search waited for the write
lock behind the writer (and behind every other search); a look-up's connection is now ``read_only`` (a
deferred BEGIN in WAL mode). PostgreSQL and MariaDB readers never waited (MVCC): the same test holds there.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from ris_ai_module.config.schema import DatabaseConfig
from ris_ai_module.db.engine import make_engine, read_only
from ris_ai_module.db.ris import exam_view
from ris_ai_module.web import name_index
from tests.dbs import fresh_database
from tests.integration.web.conftest import MONITOR_TOKEN, start_api

#: 30 exams of 张三丰 (zsf), 20 of 李小龙, 10 of 曾小贤 (zeng/ceng): what the searches must keep finding.
NAMES = [("张三丰", 30), ("李小龙", 20), ("曾小贤", 10)]
#: The writer holds its transaction this long; a search that waits for it takes at least as much.
HOLD = 3.0


def _fill(engine: Engine) -> None:
    base = datetime(2026, 11, 1, 8)
    rows, i = [], 0
    for name, count in NAMES:
        for _ in range(count):
            rows.append({"i": f"W{i:04d}", "n": name, "a": f"ACC{i:04d}", "d": base + timedelta(hours=i)})
            i += 1
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO ris_exam (EXAM_ID, PATIENT_ID, PATIENT_NAME, SEX, ACCESSION_NO, EXAM_DATE,"
                          " EXAM_STATUS, MODALITY) VALUES (:i, 'P1', :n, 'F', :a, :d, 'REGISTERED', 'US')"), rows)


def _search(name: str, base: str) -> tuple[int, int, float]:
    import requests

    t0 = time.monotonic()
    resp = requests.get(base + "/api/exams", params={"name": name},
                        headers={"Authorization": f"Bearer {MONITOR_TOKEN}"}, timeout=60)
    return resp.status_code, resp.json().get("total", -1) if resp.ok else -1, time.monotonic() - t0


def _read_all_then_release(reader: Callable[[str], None], args: Sequence[str], release: threading.Event,
                           writer: threading.Thread) -> None:
    """Run ``reader`` for every argument at once while the writer holds its transaction, then let it finish."""
    readers = [threading.Thread(target=reader, args=(a,)) for a in args]
    for r in readers:
        r.start()
    for r in readers:
        r.join(60)
    release.set()
    writer.join(30)


def test_searches_are_answered_while_the_name_index_is_written(any_db: Engine, tmp_path: Path) -> None:
    _fill(any_db)
    api = start_api(any_db, tmp_path, threads=16, max_per_source=12)  # the HTTP server alone: this test writes the index
    engine = api.ctx.engine  # the module's own engine (make_engine: WAL, BEGIN IMMEDIATE for writers)
    try:
        name_index.rescan(engine)
        assert _search("zsf", api.base)[:2] == (200, 30)
        holding, release = threading.Event(), threading.Event()

        def writer() -> None:
            """A rescan's write transaction that stays open: the terms of every 李小龙 exam rebuilt as 李晓龙."""
            with engine.begin() as conn:
                name_index._lock(conn)
                rows = conn.execute(select(exam_view.c.exam_key, exam_view.c.exam_date)
                                    .where(exam_view.c.patient_name == "李小龙")).all()
                renamed = [SimpleNamespace(exam_key=r.exam_key, patient_name="李晓龙", exam_date=r.exam_date)
                           for r in rows]
                name_index._reindex(conn, renamed, {str(r.exam_key) for r in rows})
                holding.set()
                release.wait(HOLD)

        thread = threading.Thread(target=writer)
        thread.start()
        assert holding.wait(30), "the writer did not get its transaction"
        answers: list[tuple[str, int, int, float]] = []

        def reader(name: str) -> None:
            status, total, took = _search(name, api.base)
            answers.append((name, status, total, took))

        _read_all_then_release(reader, ("zsf", "lxl", "李小龙", "zeng", "ceng", "曾"), release, thread)
        expected = {"zsf": 30, "lxl": 20, "李小龙": 20, "zeng": 10, "ceng": 10, "曾": 10}
        assert sorted((n, s, t) for n, s, t, _ in answers) == sorted((n, 200, t) for n, t in expected.items()), \
            "every search answered from the last committed state (李小龙 not yet renamed)"
        slowest = max(took for *_, took in answers)
        assert slowest < HOLD / 2, f"a search waited {slowest:.1f} s for the writer (held {HOLD} s)"
        assert _search("李晓龙", api.base)[:2] == (200, 20), "and the committed rename is found afterwards"
        assert _search("李小龙", api.base)[:2] == (200, 0)
    finally:
        api.server.stop()
        engine.dispose()


def test_searches_beside_a_busy_writer_meet_no_locked_database(any_db: Engine, tmp_path: Path) -> None:
    """Eight threads search over HTTP while names are corrected in the RIS and the trigger's queue is applied
    in a loop (the name index written every few milliseconds): every answer is a 200 with the right total."""
    _fill(any_db)
    api = start_api(any_db, tmp_path, threads=16, max_per_source=12)  # the HTTP server alone: this test writes the index
    engine = api.ctx.engine
    try:
        name_index.rescan(engine)
        stop = threading.Event()
        problems: list[str] = []
        rounds = [0]

        def writer() -> None:
            deadline = time.monotonic() + 4
            while time.monotonic() < deadline and not stop.is_set():
                new = "李晓龙" if rounds[0] % 2 == 0 else "李小龙"
                with engine.begin() as conn:  # the RIS corrects a name; its trigger queues the exams
                    conn.execute(text("UPDATE ris_exam SET PATIENT_NAME = :n WHERE PATIENT_NAME IN "
                                      "('李小龙', '李晓龙')"), {"n": new})
                try:
                    name_index.drain_queue(engine)
                except OperationalError as exc:  # pragma: no cover - what this test is about
                    problems.append(f"writer: {exc}")
                rounds[0] += 1

        def reader(name: str, total: int) -> None:
            while not stop.is_set():
                status, found, _ = _search(name, api.base)
                if (status, found) != (200, total):
                    problems.append(f"{name}: {status} total {found}")

        threads = [threading.Thread(target=writer)]
        threads += [threading.Thread(target=reader, args=(n, t)) for n, t in
                    [("zsf", 30), ("zs", 30), ("张三丰", 30), ("zeng", 10), ("ceng", 10), ("小贤", 10), ("zx", 10),
                     ("曾", 10)]]
        for t in threads:
            t.start()
        threads[0].join(60)
        stop.set()
        for t in threads[1:]:
            t.join(60)
        assert rounds[0] >= 3, "the writer wrote the index several times"
        assert problems == [], problems[:5]
    finally:
        api.server.stop()
        engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite"])
def test_a_read_only_connection_cannot_write_and_hands_back_a_writable_one(kind: str, tmp_path: Path) -> None:
    """SQLite: a look-up's connection refuses a write (it would otherwise upgrade to the write lock halfway),
    and the same pooled connection then serves a writer normally (query_only is cleared)."""
    with fresh_database(kind, directory=tmp_path) as url:
        engine = make_engine(DatabaseConfig(url=url, pool_size=1))
        engine.pool._max_overflow = 0  # type: ignore[attr-defined]  # one connection: the same one is reused
        try:
            with engine.begin() as conn:
                conn.execute(text("CREATE TABLE t (x INTEGER)"))
            with read_only(engine) as conn:
                assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
                with pytest.raises(OperationalError, match="readonly"):
                    conn.execute(text("INSERT INTO t VALUES (1)"))
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO t VALUES (2)"))
            with read_only(engine) as conn:
                assert conn.execute(text("SELECT x FROM t")).scalars().all() == [2]
            with engine.connect() as conn:  # an ordinary connection writes too
                conn.execute(text("INSERT INTO t VALUES (3)"))
                conn.commit()
            with read_only(engine) as conn:
                assert conn.execute(text("SELECT COUNT(*) FROM t")).scalar() == 2
        finally:
            engine.dispose()


def test_status_metrics_and_task_list_are_answered_while_the_database_is_written(any_db: Engine,
                                                                                 tmp_path: Path) -> None:
    """The monitoring tool's scrapes (``/api/status``, ``/metrics``) and the task list are reads: on SQLite they
    used to take the one write lock and waited for any writer (a long rescan chunk, an SR apply), so a scrape
    timed out exactly when the module was busiest. Answered from the committed state while a write is held."""
    import requests

    _fill(any_db)
    api = start_api(any_db, tmp_path, threads=8)
    engine = api.ctx.engine
    headers = {"Authorization": f"Bearer {MONITOR_TOKEN}"}
    try:
        name_index.rescan(engine)
        holding, release = threading.Event(), threading.Event()

        def writer() -> None:
            with engine.begin() as conn:  # any writer: the name index's lock row, held open
                name_index._lock(conn)
                holding.set()
                release.wait(HOLD)

        thread = threading.Thread(target=writer)
        thread.start()
        assert holding.wait(30), "the writer did not get its transaction"
        answers: dict[str, tuple[int, float, str]] = {}

        def reader(path: str) -> None:
            t0 = time.monotonic()
            resp = requests.get(api.base + path, headers=headers, timeout=60)
            answers[path] = (resp.status_code, time.monotonic() - t0, resp.text[:2000])

        paths = ("/api/status", "/metrics", "/api/tasks")
        _read_all_then_release(reader, paths, release, thread)
        assert {p: a[0] for p, a in answers.items()} == {p: 200 for p in paths}, answers
        slowest = max(a[1] for a in answers.values())
        assert slowest < HOLD / 2, f"a read waited {slowest:.1f} s for the writer (held {HOLD} s): {answers}"
        assert "rai_tasks" in answers["/metrics"][2]
        assert '"queue"' in answers["/api/status"][2]
    finally:
        api.server.stop()
        engine.dispose()
