"""GET /metrics counts what the SCP answered: C-STORE by SOP class and DIMSE status with the handling time,
SOP classes refused (no presentation context), and rejected associations by reason; right when two SCP instances share the
database and after one restarts, and read by an API with its own engine (as another process would)."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine

from ris_ai_module.dicom.scp import StorageScp
from tests.integration.dicom import dcmtk
from tests.integration.dicom import objects as make
from tests.integration.dicom.conftest import dicom_section
from tests.integration.tasks.conftest import make_ctx
from tests.integration.web.conftest import MONITOR_TOKEN, start_api
from tests.support import wait_until

#: PS3.4 Annex B / PS3.6: the SOP classes by hand.
SC = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture Image Storage
COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
CT = "1.2.840.10008.5.1.4.1.1.2"  # CT Image Storage: not in dicom.sop_classes here
#: storescu -R proposes only its files' SOP classes (by default it proposes a long list of storage classes on every
#: association, and each would count as refused once per association).
ONLY_REQUIRED = ("-R",)


def _scp(engine: Engine, storage: Path) -> StorageScp:
    ctx = make_ctx(engine, "http://127.0.0.1:9/", **dicom_section(storage, sop_classes=[SC, COMPREHENSIVE_SR]))
    scp = StorageScp(ctx)
    scp.start()
    return scp


def _samples(api) -> dict[tuple[str, tuple], float]:  # noqa: ANN001
    resp = api.get("/metrics", auth=None, headers={"Authorization": f"Bearer {MONITOR_TOKEN}"})
    assert resp.status_code == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(resp.text) for s in family.samples}


def _count(m: dict, sop: str, status: str) -> float:
    return m.get(("rai_cstore_handling_seconds_count", (("sop_class", sop), ("status", status))), 0)


def test_cstore_counts_by_sop_class_and_status_across_instances(any_db: Engine, tmp_path: Path) -> None:
    first, second = _scp(any_db, tmp_path / "storage"), _scp(any_db, tmp_path / "storage")
    api = start_api(any_db, tmp_path)
    try:
        make.sc(tmp_path / "sc1.dcm")
        make.sc(tmp_path / "sc2.dcm")
        make.sr(tmp_path / "sr.dcm")
        make.sc(tmp_path / "ct.dcm", sop_class=CT)
        bad = make.sc(tmp_path / "bad.dcm")
        bad.StudyInstanceUID = "1.2.3/../escaped"  # not a UID: 0xC010
        bad.save_as(tmp_path / "bad.dcm", enforce_file_format=True)

        out = dcmtk.storescu(first.port, tmp_path / "sc1.dcm", tmp_path / "sr.dcm", tmp_path / "bad.dcm", extra=ONLY_REQUIRED)
        assert dcmtk.store_statuses(out.stdout + out.stderr) == ["Success", "Success", "Error: CannotUnderstand"], out.stderr  # 0xC010, a 0xCxxx to DCMTK
        out = dcmtk.storescu(second.port, tmp_path / "sc2.dcm", extra=ONLY_REQUIRED)
        assert dcmtk.store_statuses(out.stdout + out.stderr) == ["Success"], out.stderr
        out = dcmtk.storescu(first.port, tmp_path / "ct.dcm", extra=ONLY_REQUIRED)  # its context is refused: no C-STORE at all
        assert dcmtk.store_statuses(out.stdout + out.stderr) == [], out.stderr
        out = dcmtk.storescu(second.port, tmp_path / "sc1.dcm", calling="STRANGER", extra=ONLY_REQUIRED)  # not a peer's AE title
        assert out.returncode != 0 and dcmtk.store_statuses(out.stdout + out.stderr) == []

        def settled() -> dict | None:
            m = _samples(api)
            rejected = m.get(("rai_association_rejections", (("reason", "CALLING_AE_NOT_RECOGNISED"),)))
            return m if _count(m, SC, "0x0000") == 2 and _count(m, COMPREHENSIVE_SR, "0x0000") == 1 and rejected else None

        assert wait_until(settled, timeout=15), "the SCPs add their counts about once a second; the rejection row follows the A-ASSOCIATE-RJ"
        m = _samples(api)
        assert _count(m, SC, "0xC010") == 1
        assert not [k for k in m if k[0] == "rai_cstore_handling_seconds_count" and ("sop_class", CT) in k[1]]
        sc_ok = (("sop_class", SC), ("status", "0x0000"))
        assert m[("rai_cstore_handling_seconds_bucket", (("le", "+Inf"), *sc_ok))] == 2
        assert 0 < m[("rai_cstore_handling_seconds_sum", sc_ok)] < 30  # two small objects, loopback
        assert m[("rai_sop_class_refused_total", (("result", "3"), ("sop_class", CT)))] == 1
        assert m[("rai_association_rejections", (("reason", "CALLING_AE_NOT_RECOGNISED"),))] == 1

        second.stop()  # a restart: nothing counted is lost, and the new instance adds to it
        second.ctx.engine.dispose()
        second = _scp(any_db, tmp_path / "storage")
        out = dcmtk.storescu(second.port, tmp_path / "sc2.dcm", extra=ONLY_REQUIRED)  # stored already: Success, no second copy
        assert dcmtk.store_statuses(out.stdout + out.stderr) == ["Success"], out.stderr
        assert wait_until(lambda: _count(_samples(api), SC, "0x0000") == 3, timeout=15)
        m = _samples(api)
        assert _count(m, COMPREHENSIVE_SR, "0x0000") == 1 and _count(m, SC, "0xC010") == 1
    finally:
        api.server.stop()
        api.ctx.engine.dispose()
        for scp in (first, second):
            scp.stop()
            scp.ctx.engine.dispose()


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_counts_wait_in_memory_while_the_database_is_away(any_db: Engine, tmp_path: Path) -> None:
    from sqlalchemy import text

    from ris_ai_module.dicom.stats import ScpStats

    stats = ScpStats(any_db)
    stats.store(SC, 0, 0.004)
    with any_db.begin() as conn:
        conn.execute(text("ALTER TABLE rai_cstore_stat RENAME TO rai_cstore_away"))
    assert stats.flush() is False
    with any_db.begin() as conn:
        conn.execute(text("ALTER TABLE rai_cstore_away RENAME TO rai_cstore_stat"))
    stats.store(SC, 0, 0.020)
    assert stats.flush() is True
    with any_db.connect() as conn:
        rows = sorted(conn.execute(text("SELECT le_ms, events FROM rai_cstore_stat")).all())
    assert rows == [(10, 1), (25, 1)]  # 4 ms ≤ 10 ms, 20 ms in (10, 25]: both kept


def test_refusals_at_accept_and_refused_contexts_are_counted_as_their_help_says(any_db: Engine, tmp_path: Path) -> None:
    """Connections the SCP closes at accept (before any byte is read, so no A-ASSOCIATE-RJ) are counted in
    rai_association_rejections with the A-ASSOCIATE-RJ reasons: a source no peer's whitelist admits
    (ADDRESS_NOT_ALLOWED), one over dicom.max_handshakes_per_source (HANDSHAKE_LIMIT, a DCMTK echoscu); a wrong
    calling AE (echoscu) is CALLING_AE_NOT_RECOGNISED. rai_sop_class_refused_total counts, per accepted
    association, a proposed SOP class that got no context, by PS3.8 result: 3 for a class not supported (CT),
    4 for a supported class offered only in a transfer syntax not supported (SC in MPEG2, storescu -xm)."""
    import socket
    import time

    ctx = make_ctx(any_db, "http://127.0.0.1:9/", **dicom_section(tmp_path / "storage", sop_classes=[SC, COMPREHENSIVE_SR],
                                                                  max_handshakes_per_source=2))
    scp = StorageScp(ctx)
    scp.start()
    api = start_api(any_db, tmp_path)
    silent: list[socket.socket] = []
    try:
        stranger = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        stranger.bind(("127.0.0.2", 0))  # on loopback, but no peer's address (and not this host's own 127.0.0.1)
        stranger.settimeout(5)
        stranger.connect(("127.0.0.1", scp.port))
        assert stranger.recv(1) == b"", "closed at accept: not a byte read or sent"
        stranger.close()

        silent = [socket.create_connection(("127.0.0.1", scp.port), timeout=5) for _ in range(2)]
        time.sleep(0.3)  # both accepted and in the handshake (no A-ASSOCIATE-RQ sent)
        out = dcmtk.echoscu(scp.port, "DEMO_AI", "RIS_AI")  # the third from 127.0.0.1 in the handshake
        assert out.returncode != 0, out.stdout + out.stderr
        for s in silent:
            s.close()
        assert wait_until(lambda: dcmtk.echoscu(scp.port, "DEMO_AI", "RIS_AI").returncode == 0, timeout=10)

        out = dcmtk.echoscu(scp.port, "WRONG_AE", "RIS_AI")
        assert out.returncode != 0 and "Calling AE Title Not Recognized" in out.stdout + out.stderr, out.stderr
        make.sc(tmp_path / "ct.dcm", sop_class=CT)
        make.sc(tmp_path / "sc.dcm")
        dcmtk.storescu(scp.port, tmp_path / "ct.dcm", extra=ONLY_REQUIRED)
        out = dcmtk.storescu(scp.port, tmp_path / "sc.dcm", extra=(*ONLY_REQUIRED, "-xm"))  # SC in MPEG2 only
        assert "No Acceptable Presentation Contexts" in out.stdout + out.stderr, out.stdout + out.stderr

        def rejections(m: dict) -> dict[str, float]:
            return {dict(k[1])["reason"]: v for k, v in m.items() if k[0] == "rai_association_rejections"}

        def settled() -> dict | None:
            m = _samples(api)
            r = rejections(m)
            return m if {"ADDRESS_NOT_ALLOWED", "HANDSHAKE_LIMIT", "CALLING_AE_NOT_RECOGNISED"} <= set(r) and \
                ("rai_sop_class_refused_total", (("result", "4"), ("sop_class", SC))) in m else None

        assert wait_until(settled, timeout=15), rejections(_samples(api))
        m = _samples(api)
        assert rejections(m) == {"ADDRESS_NOT_ALLOWED": 1, "HANDSHAKE_LIMIT": 1, "CALLING_AE_NOT_RECOGNISED": 1}
        assert m[("rai_sop_class_refused_total", (("result", "3"), ("sop_class", CT)))] == 1
        assert m[("rai_sop_class_refused_total", (("result", "4"), ("sop_class", SC)))] == 1
        assert not [k for k in m if k[0] == "rai_cstore_handling_seconds_count"], "no C-STORE could be sent"
    finally:
        for s in silent:
            s.close()
        api.server.stop()
        api.ctx.engine.dispose()
        scp.stop()
        scp.ctx.engine.dispose()


@pytest.mark.parametrize("any_db", ["sqlite", "postgresql"], indirect=True)
def test_a_refusal_below_the_storage_watermark_is_counted(any_db: Engine, tmp_path: Path) -> None:
    """Below storage.watermark_free a peer's association gets A-ASSOCIATE-RJ rejected-transient, service-provider
    (presentation), local-limit-exceeded (PS3.8 Table 9-21): DCMTK echoscu sees it, the metric counts it."""
    import shutil

    (tmp_path / "storage").mkdir()
    watermark = shutil.disk_usage(tmp_path).free + 64 * 1024**3  # always below it
    ctx = make_ctx(any_db, "http://127.0.0.1:9/", **dicom_section(tmp_path / "storage", {"watermark_free": watermark}))
    scp = StorageScp(ctx)
    scp.start()
    api = start_api(any_db, tmp_path)
    try:
        out = dcmtk.echoscu(scp.port, "DEMO_AI", "RIS_AI")
        said = out.stdout + out.stderr
        assert out.returncode != 0 and "Rejected Transient" in said and "Local Limit Exceeded" in said, said
        key = ("rai_association_rejections", (("reason", "LOCAL_LIMIT_EXCEEDED"),))
        assert wait_until(lambda: _samples(api).get(key) == 1, timeout=15), _samples(api).get(key)
    finally:
        api.server.stop()
        api.ctx.engine.dispose()
        scp.stop()
        scp.ctx.engine.dispose()
