"""HL7_ORU against real MLLP listeners on loopback (hl7apy's MLLPServer: AA, AE/AR, silent), on a real database.

The ORU^R01 the listener received is parsed back with hl7apy and checked field by field against values
written here by hand: the SR fixture's (adult_echo_full: LVEF 60 %, LVIDd 47.0 mm; small_echo: LVIDd 5.2 cm,
LVEF 55 %), the demo rig's exam (patient 张三, ID PE1, accession AE1) and the catalog's LOINC codes.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select, update

from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.tables import study_uid, task, task_attempt
from ris_ai_module.report.acceptance import compare_signed
from ris_ai_module.results.hl7_handler import Hl7OruHandler
from ris_ai_module.runtime import make_worker
from tests.integration.report.test_apply import small_echo
from tests.integration.results.conftest import apply, ctx_with
from tests.integration.results.mllp_peers import mllp_peer, reps, segments
from tests.sr_fixtures.cases import adult_echo_full
from tests.support import wait_until

STUDY = "1.2.826.0.1.3680043.10.543.20261202.1"


def _ctx(rig, port: int, charset: str = "utf-8", timeout: str = "5s"):
    return ctx_with(rig, hl7={"host": "127.0.0.1", "port": port, "charset": charset, "timeout": timeout,
                              "sending_application": "RIS-AI", "receiving_application": "ESB",
                              "reference_ranges": {"LVEF": "50-70", "LVIDd": "35-45"},
                              "retry": {"initial": "1s"}})


def _run(ctx) -> int:
    return make_worker(ctx, [Hl7OruHandler(ctx.engine, ctx.config)]).run_once()


def _exam(rig) -> None:
    rig.add_exam("E1", report_status="DRAFT")
    with rig.engine.begin() as conn:
        conn.execute(insert(study_uid).values(exam_key="E1", study_uid=STUDY, created_at=utcnow()))


def _tasks(ctx) -> list[dict]:
    with ctx.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(task).where(task.c.kind == "HL7_ORU").order_by(task.c.task_id))]


def _attempts(ctx, task_id: int) -> list:
    with ctx.engine.connect() as conn:
        return conn.execute(select(task_attempt).where(task_attempt.c.task_id == task_id)
                            .order_by(task_attempt.c.attempt_no)).all()


def _obx(msg) -> dict[str, object]:
    """OBX by its OBX-4 (report key) or OBX-3.4 (module key) or OBX-3.1."""
    out = {}
    for seg in segments(msg, "OBX"):
        key = seg.obx_4.to_er7() or seg.obx_3.ce_4.to_er7() or seg.obx_3.ce_1.to_er7()
        out[key] = seg
    return out


def _due(ctx, task_id: int) -> None:
    with ctx.engine.begin() as conn:
        conn.execute(update(task).where(task.c.task_id == task_id).values(next_run_at=utcnow() - timedelta(seconds=1)))


@pytest.mark.parametrize("charset, msh18", [("utf-8", "UNICODE UTF-8"), ("gb18030", "GB 18030-2000")])
def test_oru_p_then_c_then_f_acked_aa(rig, charset: str, msh18: str):
    rig.report = {"targets": ["rows", "text"]}
    _exam(rig)
    with mllp_peer("AA", charset) as peer:
        ctx = _ctx(rig, peer.port, charset)
        sop = rig.store(adult_echo_full(), "E1")
        apply(ctx, sop)
        assert _run(ctx) == 1
        [t] = _tasks(ctx)
        assert t["status"] == "DONE", t["last_error"]
        [msg] = peer.received
        msh = msg.msh
        assert (msh.msh_3.to_er7(), msh.msh_5.to_er7(), msh.msh_9.to_er7()) == ("RIS-AI", "ESB", "ORU^R01^ORU_R01")
        assert (msh.msh_10.to_er7(), msh.msh_12.to_er7(), msh.msh_18.to_er7()) == (f"RAI{t['task_id']}.1", "2.5", msh18)
        pid = msg.pid
        assert (pid.pid_3.cx_1.to_er7(), reps(pid, "PID_5")) == ("PE1", ["张三"])  # decoded in the listener's charset
        obr = msg.obr
        assert (obr.obr_3.to_er7(), obr.obr_18.to_er7(), obr.obr_20.to_er7(), obr.obr_25.to_er7()) == (
            "AE1", "AE1", STUDY, "P")
        obx = _obx(msg)
        lvef, lvidd = obx["LVEF"], obx["LVIDd"]
        assert lvef.obx_2.to_er7() == "NM"  # the code as the SR sent it, the module's key and Chinese name beside
        assert lvef.obx_3.to_er7() == "18043-0^Left Ventricular Ejection Fraction by US^LN^LVEF^左室射血分数^99RAI"
        assert (lvef.obx_5.to_er7(), lvef.obx_6.ce_1.to_er7(), lvef.obx_6.ce_3.to_er7()) == ("60", "%", "UCUM")
        assert (lvef.obx_7.to_er7(), lvef.obx_8.to_er7(), lvef.obx_11.to_er7()) == ("50-70", "N", "P")
        assert (lvidd.obx_3.ce_1.to_er7(), lvidd.obx_5.to_er7(), lvidd.obx_6.ce_1.to_er7()) == ("29436-3", "47", "mm")
        assert (lvidd.obx_8.to_er7(), obx["MV_E"].obx_5.to_er7(), obx["MV_E"].obx_8.to_er7()) == ("H", "81", "")
        findings = obx["18782-3"]
        assert findings.obx_2.to_er7() == "FT" and findings.obx_11.to_er7() == "P"
        lines = reps(findings, "OBX_5")
        assert any("左室舒张末期内径47.0mm" in line for line in lines)
        assert len(segments(msg, "OBX")) == 62 + 1
        [a] = _attempts(ctx, t["task_id"])
        assert a.outcome == "DONE" and a.status_text == "AA" and "MSA|AA|" + f"RAI{t['task_id']}.1" in a.response_body

        apply(ctx, rig.store(small_echo(5.2, 55), "E1"))  # a newer SR: a corrected set
        assert _run(ctx) == 1
        obx = _obx(peer.received[1])
        assert peer.received[1].obr.obr_25.to_er7() == "C"
        assert (obx["LVIDd"].obx_5.to_er7(), obx["LVIDd"].obx_11.to_er7(), obx["LVIDd"].obx_8.to_er7()) == ("52", "C", "H")
        assert (obx["LVEF"].obx_5.to_er7(), obx["MV_E"].obx_5.to_er7(), obx["MV_E"].obx_11.to_er7()) == ("55", "81", "C")

        rig.set_status("E1", "SIGNED")  # the doctor signs as it is
        assert compare_signed(ctx) == 1
        assert _run(ctx) == 1
        final = peer.received[2]
        obx = _obx(final)
        assert final.obr.obr_25.to_er7() == "F"
        assert {seg.obx_11.to_er7() for seg in segments(final, "OBX")} == {"F"}
        assert obx["LVIDd"].obx_5.to_er7() == "52"
        assert [t["status"] for t in _tasks(ctx)] == ["DONE", "DONE", "DONE"]


@pytest.mark.parametrize("code", ["AE", "AR"])
def test_a_nak_is_retried_with_its_ack_in_the_trace_then_aa_completes(rig, code: str):
    _exam(rig)
    with mllp_peer(code, text="患者不存在 patient unknown") as nak:
        ctx = _ctx(rig, nak.port)
        apply(ctx, rig.store(adult_echo_full(), "E1"))
        assert _run(ctx) == 1
    [t] = _tasks(ctx)
    assert t["status"] == "SCHEDULED" and t["last_error"] == f"{code}: 患者不存在 patient unknown"
    [a] = _attempts(ctx, t["task_id"])
    assert (a.outcome, a.status_text) == ("RETRY", f"{code} 患者不存在 patient unknown")
    assert f"MSA|{code}|RAI{t['task_id']}.1|患者不存在 patient unknown" in a.response_body
    assert len(nak.received) == 1

    with mllp_peer("AA") as ok:  # the platform fixed: the next attempt is acknowledged
        ctx = _ctx(rig, ok.port)
        _due(ctx, t["task_id"])
        assert _run(ctx) == 1
        assert ok.received[0].msh.msh_10.to_er7() == f"RAI{t['task_id']}.2"
    [t] = _tasks(ctx)
    assert t["status"] == "DONE"
    assert [a.outcome for a in _attempts(ctx, t["task_id"])] == ["RETRY", "DONE"]


def test_no_answer_is_a_timeout_retried(rig):
    _exam(rig)
    with mllp_peer(None) as silent:
        ctx = _ctx(rig, silent.port, timeout="1s")
        apply(ctx, rig.store(adult_echo_full(), "E1"))
        assert _run(ctx) == 1
        # it got the message and kept quiet (its hl7apy parse of 63 OBX may end after our 1 s timeout on a
        # loaded machine: wait for it rather than race it)
        assert wait_until(lambda: len(silent.received) == 1, timeout=30)
    [t] = _tasks(ctx)
    assert t["status"] == "SCHEDULED" and t["last_error"] == "no answer within 1s"
    [a] = _attempts(ctx, t["task_id"])
    assert (a.outcome, a.status_text, a.target) == ("RETRY", "no ACK", f"mllp://127.0.0.1:{silent.port}")
    assert a.latency_ms >= 900


def test_a_refused_connection_is_retried(rig):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _exam(rig)
    ctx = _ctx(rig, port)
    apply(ctx, rig.store(adult_echo_full(), "E1"))
    assert _run(ctx) == 1
    [t] = _tasks(ctx)
    assert t["status"] == "SCHEDULED" and "ConnectionRefusedError" in t["last_error"]
