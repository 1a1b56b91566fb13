"""The name look-up's term table on every database: what staff type finds the exam (Chinese substrings of
any length, full pinyin, initials, mixed, every reading of a polyphonic surname), newest first with the right
total, and a name corrected in the RIS is found under its new name after the rescan."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.engine import Engine

from ris_ai_module.web import name_index
from ris_ai_module.web.lookup import ExamQuery, search_exams
from tests.integration.tasks.conftest import add_exam

EXAMS = [("N1", "张三丰", datetime(2026, 11, 20, 9)), ("N2", "张小凡", datetime(2026, 11, 26, 11)),
         ("N3", "曾小贤", datetime(2026, 11, 24, 8)), ("N4", "欧阳娜娜", datetime(2026, 11, 25, 10)),
         ("N5", "单田芳", datetime(2025, 3, 1, 8)), ("N6", "爱新觉罗溥仪", datetime(2026, 1, 5, 8))]


def _fill(engine: Engine) -> None:
    for key, name, when in EXAMS:
        add_exam(engine, key, name=name)
        with engine.begin() as conn:
            conn.execute(text("UPDATE ris_exam SET EXAM_DATE = :d WHERE EXAM_ID = :k"), {"d": when, "k": key})


def _find(engine: Engine, name: str, **kw) -> tuple[list[str], int]:  # noqa: ANN003
    with engine.connect() as conn:
        exams, total = search_exams(conn, ExamQuery(name=name, **kw))
    return [e["exam_key"] for e in exams], total


def test_what_staff_type_finds_the_exam_from_the_term_table(any_db: Engine) -> None:
    _fill(any_db)
    with any_db.connect() as conn:
        assert not name_index.ready(conn), "no rescan yet: the look-up reads names instead"
    assert name_index.rescan(any_db, chunk=4) == (6, 6)
    with any_db.connect() as conn:
        assert name_index.ready(conn)
    assert _find(any_db, "张") == (["N2", "N1"], 2), "one character, newest first"
    assert _find(any_db, "小") == (["N2", "N3"], 2)
    assert _find(any_db, "三丰") == (["N1"], 1)
    assert _find(any_db, "觉罗溥仪") == (["N6"], 1)
    assert _find(any_db, "新觉罗溥仪") == (["N6"], 1), "longer than the indexed substrings"
    assert _find(any_db, "新觉罗溥") == (["N6"], 1)
    assert _find(any_db, "三小") == ([], 0)
    assert _find(any_db, "zhangsanfeng") == (["N1"], 1)
    assert _find(any_db, "zhangsan") == (["N1"], 1)
    assert _find(any_db, "zsf") == (["N1"], 1)
    assert _find(any_db, "zs") == (["N1"], 1), "initials as a prefix"
    assert _find(any_db, "zhang s") == (["N1"], 1), "full syllable, then initials"
    assert _find(any_db, "Zhang XF") == (["N2"], 1)
    assert _find(any_db, "zx") == (["N2", "N3"], 2), "张小凡 and 曾小贤 (zeng xiao xian)"
    assert _find(any_db, "zeng") == (["N3"], 1), "曾 as a surname"
    assert _find(any_db, "ceng") == (["N3"], 1), "and its usual reading"
    assert _find(any_db, "shantianfang") == (["N5"], 1), "单 as the surname Shan"
    assert _find(any_db, "dantianfang") == (["N5"], 1)
    assert _find(any_db, "ouyang") == (["N4"], 1)
    assert _find(any_db, "xiao") == (["N2", "N3"], 2), "a given name"
    assert _find(any_db, "z") == (["N2", "N3", "N1"], 3), "each exam once, however many keys start with z"
    assert _find(any_db, "zhangsanfengx") == ([], 0)
    assert _find(any_db, "x", limit=1, offset=1) == (["N3"], 3), "paging keeps the total (小, 小, 新)"
    assert _find(any_db, "张", date_from=datetime(2026, 11, 21)) == (["N2"], 1)
    assert _find(any_db, "张", date_to=datetime(2026, 11, 21)) == (["N1"], 1)


def test_a_corrected_name_is_found_under_its_new_name_after_the_rescan(any_db: Engine) -> None:
    _fill(any_db)
    name_index.rescan(any_db)
    with any_db.begin() as conn:
        conn.execute(text("UPDATE ris_exam SET PATIENT_NAME = '章三峰' WHERE EXAM_ID = 'N1'"))
    add_exam(any_db, "N7", name="张三")
    assert name_index.rescan(any_db) == (7, 2), "only the changed and the new exam are rebuilt"
    assert _find(any_db, "张三") == (["N7"], 1)
    assert _find(any_db, "章三峰") == (["N1"], 1)
    found, total = _find(any_db, "zhangsanfeng")
    assert (found, total) == (["N1"], 1), "章三峰 reads zhang san feng too"
    assert _find(any_db, "zsf")[1] == 1
    assert name_index.rescan(any_db) == (7, 0), "nothing changed, nothing rebuilt"


def _wait_for(predicate, seconds: float = 5.0) -> None:  # noqa: ANN001
    """Poll with a deadline (the trigger path is synchronous here; this only guards a slow machine)."""
    import time

    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "not within the deadline"
        time.sleep(0.05)


def test_the_trigger_queues_a_rename_an_insert_and_a_delete(any_db: Engine) -> None:
    """31_trigger_name_index.sql (installed with the demo RIS): RIS changes reach the terms through
    RAI_NAME_QUEUE without a rescan."""
    _fill(any_db)
    name_index.rescan(any_db)
    assert name_index.drain_queue(any_db) == 0, "the rescan already indexed the inserted exams"
    with any_db.begin() as conn:
        conn.execute(text("UPDATE ris_exam SET PATIENT_NAME = '章三峰' WHERE EXAM_ID = 'N1'"))
        conn.execute(text("UPDATE ris_exam SET EXAM_DESC = 'x' WHERE EXAM_ID = 'N2'"))  # not a name change
        conn.execute(text("DELETE FROM ris_exam WHERE EXAM_ID = 'N5'"))
        queued = conn.execute(text("SELECT EXAM_KEY FROM rai_name_queue ORDER BY QUEUE_ID")).scalars().all()
    assert queued == ["N1", "N5"], "one row per rename or delete, none for another column"
    add_exam(any_db, "N7", name="张三")
    assert name_index.drain_queue(any_db) == 3, "renamed, deleted, inserted"
    with any_db.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM rai_name_queue")).scalar() == 0
    assert _find(any_db, "章三峰") == (["N1"], 1)
    assert _find(any_db, "张三") == (["N7"], 1), "张三丰 is now 章三峰: only the new exam"
    assert _find(any_db, "zhangsanfeng") == (["N1"], 1), "章 reads zhang too"
    assert _find(any_db, "shantianfang") == ([], 0)
    assert _find(any_db, "zs") == (["N7", "N1"], 2)
    assert name_index.rescan(any_db) == (6, 0), "the queue left nothing for the rescan"


def test_a_deleted_exam_is_neither_paged_nor_counted_while_the_trigger_queue_holds_it(any_db: Engine) -> None:
    """With the name trigger, deleting an exam queues it in the RIS's own transaction: before the module applies
    the queue, the exam is neither shown nor counted (the total is the index less the queued exams gone)."""
    _fill(any_db)
    name_index.rescan(any_db)
    with any_db.begin() as conn:
        conn.execute(text("DELETE FROM rai_name_queue"))
        conn.execute(text("DELETE FROM ris_exam WHERE EXAM_ID IN ('N1', 'N3')"))
        queued = conn.execute(text("SELECT EXAM_KEY FROM rai_name_queue ORDER BY EXAM_KEY")).scalars().all()
    assert queued == ["N1", "N3"], "the delete trigger queued both"
    assert _find(any_db, "张") == (["N2"], 1)
    assert _find(any_db, "zx") == (["N2"], 1), "pinyin: 张小凡 only (曾小贤 deleted)"
    assert _find(any_db, "z") == (["N2"], 1)
    assert _find(any_db, "x", limit=1, offset=0) == (["N2"], 2), "小 of N2 and 新 of N6; N3 not counted"
    assert _find(any_db, "x", limit=1, offset=1) == (["N6"], 2)
    with any_db.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM rai_name_index")).scalar() == 6, "terms still there"
    assert name_index.drain_queue(any_db) == 2
    assert _find(any_db, "张") == (["N2"], 1)
    assert _find(any_db, "x") == (["N2", "N6"], 2)


def test_polling_mode_a_deleted_exam_is_never_paged_and_counted_until_the_rescan(any_db: Engine) -> None:
    """Without the trigger nothing tells the module of a delete until the rescan (as with a rename): the exam is
    never shown (every paged hit is confirmed in RAI_V_EXAM), but the total counts it until the rescan drops it."""
    _fill(any_db)
    name_index.rescan(any_db)
    with any_db.begin() as conn:
        conn.execute(text("DELETE FROM ris_exam WHERE EXAM_ID IN ('N1', 'N3')"))
        conn.execute(text("DELETE FROM rai_name_queue"))  # as if the trigger were not installed
    assert _find(any_db, "张") == (["N2"], 2), "shown: N2 only; counted: N1 too, until the rescan"
    assert _find(any_db, "zx") == (["N2"], 2)
    assert _find(any_db, "x", limit=1, offset=0) == (["N2"], 3)
    assert name_index.rescan(any_db) == (4, 2), "the rescan drops the two deleted exams"
    assert _find(any_db, "张") == (["N2"], 1)
    assert _find(any_db, "zx") == (["N2"], 1)
    assert _find(any_db, "x") == (["N2", "N6"], 2)
    with any_db.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM rai_name_key WHERE exam_key IN ('N1', 'N3')")).scalar() == 0


def test_with_a_queue_backlog_every_hit_is_checked_against_the_view(any_db: Engine) -> None:
    """More exams queued than one round applies (a mass update in the RIS): the total is counted hit by hit
    against RAI_V_EXAM instead of trusting the index, so a deleted exam is not counted either."""
    _fill(any_db)
    name_index.rescan(any_db)
    with any_db.begin() as conn:
        conn.execute(text("DELETE FROM ris_exam WHERE EXAM_ID IN ('N1', 'N3')"))
        conn.execute(text("DELETE FROM rai_name_queue"))
        conn.execute(text("INSERT INTO rai_name_queue (exam_key, queued_at) VALUES (:k, :t)"),
                     [{"k": f"OTHER{i:05d}", "t": datetime(2026, 12, 1)} for i in range(name_index.CHUNK + 1)])
    assert _find(any_db, "张") == (["N2"], 1)
    assert _find(any_db, "zx") == (["N2"], 1)
    assert _find(any_db, "x") == (["N2", "N6"], 2)


def test_a_page_is_filled_past_hits_no_longer_in_the_view(any_db: Engine) -> None:
    """The newest 130 of 140 exams of 王 are deleted (no trigger): the page reads further into the index until it
    has its exams, newest first, and the next page continues where it stopped."""
    base = datetime(2026, 1, 1, 8)
    with any_db.begin() as conn:
        conn.execute(text("INSERT INTO ris_exam (EXAM_ID, PATIENT_ID, PATIENT_NAME, SEX, ACCESSION_NO, EXAM_DATE,"
                          " EXAM_STATUS, MODALITY) VALUES (:i, 'P9', :n, 'F', :a, :d, 'REGISTERED', 'US')"),
                     [{"i": f"W{i:03d}", "n": "王" + "伟芳娜"[i % 3], "a": f"AW{i:03d}", "d": base.replace(hour=8) +
                       (datetime(2026, 1, 2) - datetime(2026, 1, 1)) * i} for i in range(140)])
    name_index.rescan(any_db)
    with any_db.begin() as conn:
        conn.execute(text("DELETE FROM ris_exam WHERE EXAM_ID >= 'W010'"))
        conn.execute(text("DELETE FROM rai_name_queue"))
    newest = [f"W{i:03d}" for i in range(9, -1, -1)]
    assert _find(any_db, "王", limit=4) == (newest[:4], 140), "counted until the rescan, never shown"
    assert _find(any_db, "王", limit=4, offset=4)[0] == newest[4:8]
    assert _find(any_db, "wang", limit=4, offset=8)[0] == newest[8:]
    assert _find(any_db, "w", limit=50)[0] == newest
    name_index.rescan(any_db)
    assert _find(any_db, "王", limit=4) == (newest[:4], 10)


def test_the_rescan_finds_a_changed_exam_date(any_db: Engine) -> None:
    _fill(any_db)
    name_index.rescan(any_db)
    with any_db.begin() as conn:
        conn.execute(text("UPDATE ris_exam SET EXAM_DATE = :d WHERE EXAM_ID = 'N1'"), {"d": datetime(2026, 11, 30, 9)})
        conn.execute(text("DELETE FROM rai_name_queue"))  # polling mode: the rescan alone
    assert name_index.rescan(any_db) == (6, 1)
    assert _find(any_db, "张") == (["N1", "N2"], 2), "newest first by the new date"
    assert name_index.rescan(any_db) == (6, 0)


def test_90_uninstall_removes_the_name_triggers(any_db: Engine) -> None:
    from ris_ai_module.db import scripts
    from ris_ai_module.db.dialects import trigger_names

    names = {"rai_trg_exam_name_ins", "rai_trg_exam_name_upd", "rai_trg_exam_name_del"}
    with any_db.connect() as conn:
        assert names <= (trigger_names(conn) or set())
    scripts.uninstall(any_db)
    with any_db.connect() as conn:
        assert not names & (trigger_names(conn) or set())
