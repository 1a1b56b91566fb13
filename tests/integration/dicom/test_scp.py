"""The SCP against DCMTK echoscu/storescu: admission, storage, duplicates, failures, and robustness."""

from __future__ import annotations

import hashlib
import socket
import time
from pathlib import Path

from pydicom import dcmread
from sqlalchemy import create_engine, select

from ris_ai_module.db.tables import assoc_reject
from tests.integration.dicom import dcmtk
from tests.integration.dicom import objects as make
from tests.integration.dicom.conftest import PEER_AET
from tests.support import wait_until


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rejections(env, expect: int = 0) -> list:
    """The rejection rows; the SCP answers first and records after, so wait (bounded) for ``expect`` rows."""

    def rows() -> list:
        with env.ctx.engine.connect() as conn:
            return list(conn.execute(select(assoc_reject)))

    wait_until(lambda: len(rows()) >= expect, timeout=5)
    return rows()


def _placed_files(storage: Path) -> list[Path]:
    return [p for p in storage.rglob("*.dcm") if ".tmp" not in p.parts]


def test_echo_from_allowed_peer_succeeds(start_scp) -> None:
    env = start_scp()
    result = dcmtk.echoscu(env.port)
    assert result.returncode == 0, result.stderr
    assert _rejections(env) == []


def test_unknown_calling_ae_is_rejected_with_reason_3_and_recorded(start_scp) -> None:
    env = start_scp()
    result = dcmtk.echoscu(env.port, calling="STRANGER")
    assert result.returncode != 0
    assert "Rejected Permanent, Source: Service User" in result.stderr
    assert "Calling AE Title Not Recognized" in result.stderr
    rows = _rejections(env, 1)
    assert [(r.address, r.calling_ae, r.called_ae) for r in rows] == [("127.0.0.1", "STRANGER", "RIS_AI")]
    assert "not a configured peer" in rows[0].reason


def test_known_ae_from_wrong_address_is_rejected_with_reason_3(start_scp) -> None:
    env = start_scp(peers=[{"name": "ai", "ae_title": PEER_AET, "addresses": ["10.20.30.0/24"]}])
    result = dcmtk.echoscu(env.port)
    assert result.returncode != 0
    assert "Calling AE Title Not Recognized" in result.stderr
    rows = _rejections(env, 1)
    assert len(rows) == 1 and "not allowed from 127.0.0.1" in rows[0].reason


def test_wrong_called_ae_is_rejected_with_reason_7(start_scp) -> None:
    env = start_scp()
    result = dcmtk.echoscu(env.port, called="NOT_US")
    assert result.returncode != 0
    assert "Called AE Title Not Recognized" in result.stderr
    assert len(_rejections(env, 1)) == 1


def test_sc_and_sr_are_stored_with_file_row_and_hash(start_scp, tmp_path: Path) -> None:
    env = start_scp()
    with env.ctx.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO ris_exam (exam_id, patient_id, patient_name, accession_no, exam_status, exam_date) "
            "VALUES ('E0001', 'P000123', '张三', 'A20261127001', 'STARTED', '2026-11-27 09:00:00')"
        )
    sc = make.sc(tmp_path / "sc.dcm", accession="A20261127001")
    sr = make.sr(tmp_path / "sr.dcm", accession="A20261127001")
    result = dcmtk.storescu(env.port, tmp_path / "sc.dcm", tmp_path / "sr.dcm")
    assert result.returncode == 0, result.stderr
    assert dcmtk.store_statuses(result.stderr) == ["Success", "Success"]

    rows = {r.sop_instance_uid: r for r in env.objects()}
    assert set(rows) == {sc.SOPInstanceUID, sr.SOPInstanceUID}
    for sent, source in ((sc, tmp_path / "sc.dcm"), (sr, tmp_path / "sr.dcm")):
        row = rows[sent.SOPInstanceUID]
        stored = env.storage / row.file_path
        assert row.file_path == f"{sent.StudyInstanceUID}/{sent.SeriesInstanceUID}/{sent.SOPInstanceUID}.dcm"
        assert row.sha256 == _sha(stored) and row.file_size == stored.stat().st_size
        assert (row.source, row.sender_ae, row.sender_address) == ("DICOM", PEER_AET, "127.0.0.1")
        assert (row.exam_key, row.link_method) == ("E0001", "ACCESSION")
        back = dcmread(stored)
        assert back == dcmread(source)  # the data set as sent, byte for byte in content
    tasks = env.tasks()
    assert len(tasks) == 1 and tasks[0].exam_key == "E0001" and sr.SOPInstanceUID in tasks[0].payload
    assert list((env.storage / ".tmp").iterdir()) == []


def test_duplicate_sop_instance_is_acknowledged_once_stored_once(start_scp, tmp_path: Path) -> None:
    env = start_scp()
    with env.ctx.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO ris_exam (exam_id, patient_id, accession_no, exam_status) "
                             "VALUES ('E0002', 'P000456', 'ACC2', 'STARTED')")
    sr = make.sr(tmp_path / "sr.dcm", accession="ACC2", patient_id="P000456")
    first = dcmtk.storescu(env.port, tmp_path / "sr.dcm")
    stored = env.storage / env.objects()[0].file_path
    before = (_sha(stored), stored.stat().st_mtime_ns)
    make.sr(tmp_path / "sr2.dcm", study=sr.StudyInstanceUID, series=sr.SeriesInstanceUID, sop=sr.SOPInstanceUID,
            accession="ACC2", patient_id="P000456", value=70.0)  # same UID, different content
    second = dcmtk.storescu(env.port, tmp_path / "sr2.dcm", tmp_path / "sr.dcm")
    assert dcmtk.store_statuses(first.stderr + second.stderr) == ["Success"] * 3
    assert len(env.objects()) == 1
    assert len(env.tasks()) == 1
    assert (_sha(stored), stored.stat().st_mtime_ns) == before
    assert len(_placed_files(env.storage)) == 1


def test_overwrite_same_source_replaces_changed_content_and_applies_again(start_scp, tmp_path: Path) -> None:
    env = start_scp(overwrite="SAME_SOURCE")
    with env.ctx.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO ris_exam (exam_id, patient_id, accession_no, exam_status) "
                             "VALUES ('E0003', 'P000789', 'ACC3', 'STARTED')")
    sr = make.sr(tmp_path / "sr.dcm", accession="ACC3", patient_id="P000789", value=55.0)
    make.sr(tmp_path / "sr2.dcm", study=sr.StudyInstanceUID, series=sr.SeriesInstanceUID, sop=sr.SOPInstanceUID,
            accession="ACC3", patient_id="P000789", value=57.0)
    result = dcmtk.storescu(env.port, tmp_path / "sr.dcm", tmp_path / "sr2.dcm")
    assert dcmtk.store_statuses(result.stderr) == ["Success", "Success"]
    [row] = env.objects()
    assert dcmread(env.storage / row.file_path).ContentSequence[0].MeasuredValueSequence[0].NumericValue == 57
    assert row.sha256 == _sha(env.storage / row.file_path)
    assert len(env.tasks()) == 2


def test_unsupported_sop_class_fails_and_stores_nothing(start_scp, tmp_path: Path) -> None:
    env = start_scp()
    make.sc(tmp_path / "ct.dcm", sop_class=make.CT)
    result = dcmtk.storescu(env.port, tmp_path / "ct.dcm")
    assert result.returncode != 0
    assert "No presentation context" in result.stderr
    assert env.objects() == [] and _placed_files(env.storage) == []
    assert dcmtk.echoscu(env.port).returncode == 0


def test_below_min_free_answers_a700_and_keeps_nothing(start_scp, tmp_path: Path) -> None:
    env = start_scp()
    env.scp.area.min_free = 10**18  # more than any disk: "storage full"
    env.scp.area.watermark_free = 0  # the watermark off (on, it would refuse the association: test_watermark.py)
    make.sc(tmp_path / "sc.dcm")
    result = dcmtk.storescu(env.port, tmp_path / "sc.dcm")
    assert dcmtk.store_statuses(result.stderr) == ["Refused: OutOfResources"]
    assert result.returncode != 0
    assert env.objects() == [] and _placed_files(env.storage) == []
    assert list((env.storage / ".tmp").iterdir()) == []


def test_unreachable_database_answers_failure_and_keeps_nothing(start_scp, tmp_path: Path) -> None:
    env = start_scp()
    env.ctx.engine = create_engine(f"sqlite:///{tmp_path}/no/such/folder/ris.db")  # cannot be opened
    make.sc(tmp_path / "sc.dcm")
    result = dcmtk.storescu(env.port, tmp_path / "sc.dcm", extra=("-d",))
    assert "DIMSE Status                  : 0xa710: Refused: Out of resources" in result.stderr
    assert "ErrorComment" in result.stderr and "index database unavailable" in result.stderr
    assert _placed_files(env.storage) == []
    assert list((env.storage / ".tmp").iterdir()) == []


def test_commit_failure_after_the_file_was_placed_removes_it(start_scp, tmp_path: Path) -> None:
    """The row and the file go together: a COMMIT that fails (here a deferred constraint) takes the file away."""
    env = start_scp()
    with env.ctx.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t_parent (id INTEGER PRIMARY KEY)")
        conn.exec_driver_sql("CREATE TABLE t_child (pid INTEGER REFERENCES t_parent(id) DEFERRABLE INITIALLY DEFERRED)")
        conn.exec_driver_sql("CREATE TRIGGER t_fail AFTER INSERT ON rai_object BEGIN INSERT INTO t_child VALUES (1); END")
    make.sc(tmp_path / "sc.dcm")
    result = dcmtk.storescu(env.port, tmp_path / "sc.dcm", extra=("-d",))
    assert "DIMSE Status                  : 0xa710: Refused: Out of resources" in result.stderr
    assert env.objects() == [] and _placed_files(env.storage) == []


def test_mismatching_and_unsafe_uids_are_refused_without_escaping_the_root(start_scp, tmp_path: Path) -> None:
    """A pynetdicom SCU sends what storescu would not: invalid UIDs, and a command that contradicts its data set."""
    from pynetdicom import AE, _config

    env = start_scp()
    ds = make.sc(tmp_path / "sc.dcm")
    ds.StudyInstanceUID = "1.2.3/../../../../escaped"
    other = make.sc(tmp_path / "other.dcm")
    raw = (tmp_path / "other.dcm").read_bytes()  # the command carries the file meta's UID; change the data set's
    uid = str(other.SOPInstanceUID).encode()
    second = raw.index(uid, raw.index(uid) + 1)
    changed = uid[:-1] + (b"1" if uid[-1:] != b"1" else b"2")
    (tmp_path / "other.dcm").write_bytes(raw[:second] + changed + raw[second + len(uid):])
    ae = AE(ae_title=PEER_AET)
    ae.add_requested_context(make.SC)
    assoc = ae.associate("127.0.0.1", env.port, ae_title="RIS_AI")
    try:
        assert assoc.is_established
        status = assoc.send_c_store(ds)
        assert status.Status == 0xC010 and "StudyInstanceUID" in status.ErrorComment
        _config.STORE_SEND_CHUNKED_DATASET = True  # command UIDs from the file meta, data set as is
        try:
            status = assoc.send_c_store(tmp_path / "other.dcm")
        finally:
            _config.STORE_SEND_CHUNKED_DATASET = False
        assert status.Status == 0xA900 and "SOPInstanceUID differs" in status.ErrorComment
    finally:
        assoc.release()
        ae.shutdown()
    assert env.objects() == []
    assert not (tmp_path / "escaped").exists()
    assert _placed_files(env.storage) == []


def test_garbage_and_truncated_pdus_do_not_stop_the_next_peer(start_scp) -> None:
    env = start_scp()
    with socket.create_connection(("127.0.0.1", env.port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        s.settimeout(5)
        try:
            s.recv(100)  # the SCP aborts or closes
        except (TimeoutError, ConnectionResetError):
            pass
    assert dcmtk.echoscu(env.port).returncode == 0
    with socket.create_connection(("127.0.0.1", env.port), timeout=5) as s:
        s.sendall(bytes([0x01, 0x00]) + (2000).to_bytes(4, "big") + b"\x00\x01\x00\x00RIS_AI")  # A-ASSOCIATE-RQ cut
        assert dcmtk.echoscu(env.port).returncode == 0  # served while the truncated one hangs
    assert dcmtk.echoscu(env.port).returncode == 0


def test_half_open_connections_do_not_exhaust_associations(start_scp) -> None:
    env = start_scp(max_associations=2, acse_timeout="1s")
    idle = [socket.create_connection(("127.0.0.1", env.port), timeout=5) for _ in range(2)]
    try:
        started = time.monotonic()
        assert wait_until(lambda: dcmtk.echoscu(env.port).returncode == 0, timeout=10, interval=0.3)
        assert time.monotonic() - started < 10
    finally:
        for s in idle:
            s.close()


def test_own_ae_from_loopback_may_echo_but_not_store(start_scp, tmp_path: Path) -> None:
    """The health check C-ECHOes this SCP with our own AE title; that must not fill RAI_ASSOC_REJECT."""
    env = start_scp()
    assert dcmtk.echoscu(env.port, calling="RIS_AI").returncode == 0
    make.sc(tmp_path / "sc.dcm")
    result = dcmtk.storescu(env.port, tmp_path / "sc.dcm", calling="RIS_AI")
    assert result.returncode != 0 and dcmtk.store_statuses(result.stderr) != ["Success"]
    assert env.objects() == [] and _rejections(env) == []


def test_a_peer_that_dies_mid_object_leaves_no_temp_file(start_scp, tmp_path: Path) -> None:
    import signal
    import subprocess

    env = start_scp()
    make.big_multiframe(tmp_path / "big.dcm", 400 * 1024**2)
    sender = subprocess.Popen([dcmtk.tool("storescu"), "-aet", PEER_AET, "-aec", "RIS_AI", "127.0.0.1", str(env.port),
                               str(tmp_path / "big.dcm")], env=dcmtk.ENV, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    temp = env.storage / ".tmp"
    try:
        assert wait_until(lambda: any(p.stat().st_size > 5 * 1024**2 for p in temp.iterdir()), timeout=30)
    finally:
        sender.send_signal(signal.SIGKILL)
        sender.wait(timeout=10)
    assert wait_until(lambda: list(temp.iterdir()) == [], timeout=10)
    assert env.objects() == [] and _placed_files(env.storage) == []
    assert dcmtk.echoscu(env.port).returncode == 0
