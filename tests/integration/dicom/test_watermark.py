"""The free-space watermark: below it a new association gets A-ASSOCIATE-RJ rejected-transient, and the SCP takes
associations again once space returns; 0xA700 per C-STORE stays the last line of defence.

Expected values from PS3.8 Table 9-21 (A-ASSOCIATE-RJ PDU fields): Result 2 = rejected-transient; Source 3 =
DICOM UL service-provider (presentation related function); Reason 2 (for source 3) = local-limit-exceeded.
The volume is the real one (watermark set above its real free space) and a small tmpfs filled for real.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from ris_ai_module.db.tables import assoc_reject
from ris_ai_module.dicom.storage import space_state
from tests.integration.dicom import dcmtk
from tests.integration.dicom import objects as make
from tests.integration.dicom.conftest import PEER_AET, SCP_AET
from tests.support import missing_peer, wait_until

RESULT_REJECTED_TRANSIENT = 2
SOURCE_PROVIDER_PRESENTATION = 3
REASON_LOCAL_LIMIT_EXCEEDED = 2
MB = 1024 * 1024


def _rj_fields(port: int, calling: str = PEER_AET) -> tuple[int, int, int] | None:
    """(result, source, reason) of the A-ASSOCIATE-RJ a pynetdicom SCU receives; None when accepted."""
    from pynetdicom import AE
    from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

    ae = AE(ae_title=calling)
    # a loaded CI machine may take longer than pynetdicom's default 30 s to answer; the answer is what counts
    ae.acse_timeout = ae.network_timeout = ae.connection_timeout = 90
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", port, ae_title=SCP_AET)
    try:
        if assoc.is_established:
            return None
        assert assoc.is_rejected, f"neither accepted nor rejected (aborted: {assoc.is_aborted})"
        rj = assoc.acceptor.primitive
        return int(rj.result), int(rj.result_source), int(rj.diagnostic)
    finally:
        if assoc.is_established:
            assoc.release()
        ae.shutdown()


def _rejections(env) -> list[str]:
    with env.ctx.engine.connect() as conn:
        return [r.reason for r in conn.execute(select(assoc_reject).order_by(assoc_reject.c.reject_id))]


def _placed(storage: Path) -> list[Path]:
    return [p for p in storage.rglob("*.dcm") if ".tmp" not in p.parts]


def test_the_rule_bytes_percent_whichever_is_higher() -> None:
    gb = 1024**3
    assert space_state(5 * gb, 100 * gb, 2 * gb, 0).refusing is None
    assert "storage.watermark_free" in space_state(1 * gb, 100 * gb, 2 * gb, 0).refusing
    # 10 % of 100 GB = 10 GB is above 2 GB: the percent decides
    low = space_state(5 * gb, 100 * gb, 2 * gb, 10)
    assert low.watermark == 10 * gb and "storage.watermark_percent" in low.refusing
    assert space_state(0, 100 * gb, 0, 0).refusing is None  # off


def test_below_the_watermark_of_the_real_volume_dcmtk_gets_rejected_transient(start_scp, tmp_path: Path) -> None:
    free = shutil.disk_usage(tmp_path).free
    env = start_scp(storage_keys={"watermark_free": free + 64 * 1024**3})  # above the real free space
    make.sc(tmp_path / "sc.dcm")
    stored = dcmtk.storescu(env.port, tmp_path / "sc.dcm")
    assert stored.returncode != 0
    out = stored.stdout + stored.stderr
    assert "Association Rejected" in out, out
    assert "Rejected Transient" in out and "Service Provider (Presentation Related)" in out, out
    assert "Local Limit Exceeded" in out, out
    assert "Received Store Response" not in out and env.objects() == [] and _placed(env.storage) == []
    echoed = dcmtk.echoscu(env.port)
    assert echoed.returncode != 0 and "Rejected Transient" in echoed.stdout + echoed.stderr
    assert _rj_fields(env.port) == (RESULT_REJECTED_TRANSIENT, SOURCE_PROVIDER_PRESENTATION,
                                    REASON_LOCAL_LIMIT_EXCEEDED)
    assert wait_until(lambda: len(_rejections(env)) == 3, 10)  # recorded just after the RJ went out
    reasons = _rejections(env)
    assert all("watermark" in r and "storage.watermark_free" in r for r in reasons)
    # a stranger is still told "not recognised" (permanent), not "come back later"
    assert _rj_fields(env.port, calling="STRANGER") == (1, 1, 3)
    # our own self-check C-ECHO is admitted: it tells the SCP runs; the watermark has its own health check
    assert dcmtk.echoscu(env.port, calling=SCP_AET).returncode == 0


@pytest.fixture
def small_volume(tmp_path: Path):
    """A 48 MB tmpfs (root only): the storage volume whose free space the test really uses up and frees."""
    mount = tmp_path / "vol"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m,mode=0755", "tmpfs", str(mount)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        missing_peer(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path, leave_free: int) -> Path:
    """A filler file that leaves about ``leave_free`` bytes free on the volume."""
    filler = folder / "filler.bin"
    size = shutil.disk_usage(folder).free - leave_free
    with open(filler, "wb") as fh:
        chunk = b"\0" * MB
        while size > 0:
            fh.write(chunk[: min(size, MB)])
            size -= MB
        fh.flush()
        os.fsync(fh.fileno())
    return filler


def test_a_filled_volume_refuses_associations_and_takes_them_again_when_space_returns(
        start_scp, small_volume: Path, tmp_path: Path) -> None:
    env = start_scp(storage=small_volume / "storage", storage_keys={"min_free": "4MB", "watermark_free": "16MB"})
    make.sc(tmp_path / "sc1.dcm")
    make.sc(tmp_path / "sc2.dcm")
    assert dcmtk.store_statuses(dcmtk.storescu(env.port, tmp_path / "sc1.dcm").stderr) == ["Success"]

    filler = _fill(small_volume, leave_free=8 * MB)  # 8 MB free: below 16 MB
    assert env.scp.area.space().refusing is not None
    refused = dcmtk.storescu(env.port, tmp_path / "sc2.dcm")
    assert "Rejected Transient" in refused.stdout + refused.stderr and len(env.objects()) == 1
    assert _rj_fields(env.port) == (RESULT_REJECTED_TRANSIENT, SOURCE_PROVIDER_PRESENTATION,
                                    REASON_LOCAL_LIMIT_EXCEEDED)

    filler.unlink()  # space returns
    assert env.scp.area.space().refusing is None
    assert dcmtk.echoscu(env.port).returncode == 0
    assert dcmtk.store_statuses(dcmtk.storescu(env.port, tmp_path / "sc2.dcm").stderr) == ["Success"]
    assert len(env.objects()) == 2


def test_a_disk_that_fills_during_the_transfer_still_answers_a700_and_keeps_no_half_file(
        start_scp, small_volume: Path, tmp_path: Path) -> None:
    """The last line of defence: admitted above the watermark, then the disk fills while the object arrives."""
    env = start_scp(storage=small_volume / "storage", storage_keys={"min_free": "1MB", "watermark_free": "2MB"})
    make.big_multiframe(tmp_path / "big.dcm", 12 * MB)
    _fill(small_volume, leave_free=4 * MB)  # 4 MB free: above the watermark, too little for 12 MB
    result = dcmtk.storescu(env.port, tmp_path / "big.dcm")
    assert dcmtk.store_statuses(result.stderr) == ["Refused: OutOfResources"], result.stderr
    assert env.objects() == [] and _placed(env.storage) == []
    assert list((env.storage / ".tmp").iterdir()) == []
