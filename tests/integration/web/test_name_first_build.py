"""SQLite's first build of the name index (web/name_first_build.py): the terms staged in TEMP tables without
the write lock, then appended in index order. What staff type finds the same exams as after the incremental
rescan; the worker can write while the terms are staged; an interrupted build or another writer in between
leaves an index that is complete and has no term without its ledger row."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from ris_ai_module.config.schema import DatabaseConfig
from ris_ai_module.db import migrate, scripts
from ris_ai_module.db.engine import make_engine
from ris_ai_module.db.ris import exam_view
from ris_ai_module.web import name_first_build, name_index
from ris_ai_module.web.lookup import ExamQuery, search_exams
from tests.dbs import fresh_database

#: (name, exams): 曾 (zeng/ceng) and 单 (shan/dan) read both ways; one exam without a name.
PEOPLE = [("张三丰", 7), ("张小凡", 5), ("曾小贤", 4), ("单田芳", 3), ("欧阳娜娜", 2), (None, 1)]


@pytest.fixture
def sqlite_module(tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    with fresh_database("sqlite", directory=tmp_path) as url:
        engine = make_engine(DatabaseConfig(url=url, pool_size=2))  # the module's engine: WAL, BEGIN IMMEDIATE
        try:
            migrate.upgrade(engine)
            scripts.install(engine, demo_ris=True, name_trigger=False)
            base, rows, i = datetime(2026, 11, 1, 8), [], 0
            for name, count in PEOPLE:
                for _ in range(count):
                    rows.append({"i": f"F{i:03d}", "n": name, "a": f"ACC{i:03d}", "d": base + timedelta(hours=i)})
                    i += 1
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO ris_exam (EXAM_ID, PATIENT_ID, PATIENT_NAME, SEX, ACCESSION_NO, "
                                  "EXAM_DATE, EXAM_STATUS, MODALITY) VALUES (:i, 'P1', :n, 'F', :a, :d, 'REGISTERED',"
                                  " 'US')"), rows)
            yield engine, tmp_path / "rai.db"
        finally:
            engine.dispose()


EXPECTED = {"张": 12, "zhangsanfeng": 7, "zsf": 7, "zs": 7, "zhang x": 5, "zx": 9, "zeng": 4, "ceng": 4, "小贤": 4,
            "shantianfang": 3, "dantianfang": 3, "ouyang": 2, "欧阳娜娜": 2, "x": 9}


def _totals(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        assert name_index.ready(conn)
        return {q: search_exams(conn, ExamQuery(name=q))[1] for q in EXPECTED}


def _orphans(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT COUNT(*) FROM rai_name_key WHERE exam_key NOT IN "
                                     "(SELECT exam_key FROM rai_name_index)")).scalar() or 0)


def _has_exam_index(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(text("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' "
                                 "AND name = 'rai_ix_name_key_exam'")).scalar() == 1


def test_the_staged_first_build_finds_what_staff_type(sqlite_module: tuple[Engine, Path],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    engine, _ = sqlite_module
    monkeypatch.setattr(name_first_build, "MOVE_ROWS", 50)  # several move transactions
    assert name_index.rescan(engine, chunk=5) == (22, 22)
    assert _totals(engine) == EXPECTED
    assert _has_exam_index(engine), "the exam-key index is back after the fill"
    assert _orphans(engine) == 0
    assert name_index.rescan(engine, chunk=5) == (22, 0), "the next rescan finds nothing to do"
    with engine.begin() as conn:  # and the index is kept current as before
        conn.execute(text("UPDATE ris_exam SET PATIENT_NAME = '章三峰' WHERE EXAM_ID = 'F000'"))
    assert name_index.rescan(engine) == (22, 1)
    with engine.connect() as conn:
        assert search_exams(conn, ExamQuery(name="章三峰"))[1] == 1
        assert search_exams(conn, ExamQuery(name="张三丰"))[1] == 6


def test_the_worker_can_write_while_the_terms_are_staged(sqlite_module: tuple[Engine, Path],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """While exams are read and staged, another connection takes the write lock at once (a C-STORE's row,
    a task's state): the build holds no lock on the database then."""
    engine, path = sqlite_module
    took: list[str] = []
    real = name_index.rows_of

    def staging_rows(conn: Any, rows: Any) -> Any:
        if not took:
            other = sqlite3.connect(path, timeout=0.5, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("INSERT INTO rai_name_scan (scan_name, started_at) VALUES ('other', '2026-12-02')")
                other.execute("COMMIT")
                took.append("written")
            except sqlite3.OperationalError as exc:
                took.append(str(exc))
            finally:
                other.close()
        return real(conn, rows)

    monkeypatch.setattr(name_index, "rows_of", staging_rows)
    name_index.rescan(engine, chunk=5)
    assert took == ["written"]
    monkeypatch.undo()
    assert _totals(engine) == EXPECTED


def test_an_interrupted_build_is_started_again(sqlite_module: tuple[Engine, Path]) -> None:
    """A stop or crash halfway through the move leaves terms without a ledger and no exam-key index."""
    engine, _ = sqlite_module
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX rai_ix_name_key_exam"))
        conn.execute(text("INSERT INTO rai_name_key (term, exam_date, exam_key) VALUES "
                          "('张', '2026-11-01 08:00:00.000000', 'F999'), ('zs', '2026-11-01 08:00:00.000000', 'F000')"))
    assert name_index.rescan(engine) == (22, 22)
    assert _totals(engine) == EXPECTED, "the leftover terms are gone (F999 is no exam)"
    assert _has_exam_index(engine)
    assert _orphans(engine) == 0


def test_another_writer_in_between_makes_the_build_give_up_cleanly(sqlite_module: tuple[Engine, Path],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A second module instance indexes exams (its ledger rows and terms) between two move transactions: this
    build removes its own terms and the ordinary rescan indexes the rest."""
    engine, _ = sqlite_module
    monkeypatch.setattr(name_first_build, "MOVE_ROWS", 40)
    real = name_first_build._still_alone
    calls = [0]

    wrote: list[str] = []

    def with_intruder(conn: Any, moved: int, lock: Any) -> bool:
        calls[0] += 1
        if calls[0] == 2:  # the other instance's write of one exam (欧阳娜娜: terms not moved yet), all or nothing
            v = exam_view.c
            rows = conn.execute(select(v.exam_key, v.patient_name, v.exam_date).where(v.exam_key == "F020")).all()
            with conn.begin_nested():
                name_index._reindex(conn, rows, set())
            wrote.append("F020")
        return real(conn, moved, lock)

    monkeypatch.setattr(name_first_build, "_still_alone", with_intruder)
    seen, _ = name_index.rescan(engine, chunk=5)
    assert seen == 22 and wrote == ["F020"], "the build gave up at its second move"
    assert _totals(engine) == EXPECTED
    assert _has_exam_index(engine)
    assert _orphans(engine) == 0


def test_a_build_stopped_before_its_exam_key_index_gets_it_back(sqlite_module: tuple[Engine, Path]) -> None:
    engine, _ = sqlite_module
    name_index.rescan(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX rai_ix_name_key_exam"))
    assert name_index.rescan(engine) == (22, 0)
    assert _has_exam_index(engine)


def test_the_first_round_builds_before_it_applies_the_triggers_queue(tmp_path: Path) -> None:
    """The component's first round leaves the queue for after the first rescan (which indexes every exam
    anyway): applied first, it would fill the ledger and SQLite would lose its staged build."""
    from ris_ai_module.web.auth import hash_password
    from tests.integration.tasks.conftest import make_ctx

    with fresh_database("sqlite", directory=tmp_path) as url:
        engine = make_engine(DatabaseConfig(url=url))
        try:
            migrate.upgrade(engine)
            scripts.install(engine, demo_ris=True)  # with the name trigger: every insert queues its exam
            with engine.begin() as conn:
                for i, name in enumerate(("张三丰", "曾小贤")):
                    conn.execute(text("INSERT INTO ris_exam (EXAM_ID, PATIENT_ID, PATIENT_NAME, SEX, EXAM_DATE, "
                                      "EXAM_STATUS, MODALITY) VALUES (:i, 'P1', :n, 'F', '2026-11-01 08:00:00', "
                                      "'REGISTERED', 'US')"), {"i": f"Q{i}", "n": name})
                assert conn.execute(text("SELECT COUNT(*) FROM rai_name_queue")).scalar() == 2
            ctx = make_ctx(engine, "http://127.0.0.1:9/", http={"enabled": True, "port": 0, "users": [
                {"name": "v", "password_hash": hash_password("view-pass-1", 1000), "role": "viewer"}]})
            built: list[int] = []
            real = name_first_build.build

            def counting(e: Engine, chunk: int, rows_of: Any, lock: Any) -> int:
                built.append(real(e, chunk, rows_of, lock))
                return built[-1]

            component = name_index.make_component(ctx)
            assert component is not None
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(name_first_build, "build", counting)
                component.round()
                component.round()  # the queue's exams are indexed already: applied, nothing to rebuild
            assert built == [2], "the first round's rescan was the staged build of both exams"
            with engine.connect() as conn:
                assert conn.execute(text("SELECT COUNT(*) FROM rai_name_queue")).scalar() == 0
                assert search_exams(conn, ExamQuery(name="zeng"))[1] == 1
            ctx.engine.dispose()
        finally:
            engine.dispose()
