"""Durability and memory of the SCP hosted by ``ris-ai-module run`` (a real process, killed for real)."""

from __future__ import annotations

import hashlib
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from ris_ai_module.db.tables import dicom_object
from tests.integration.dicom import dcmtk
from tests.integration.dicom import objects as make
from tests.integration.dicom.process import RunningModule
from tests.support import wait_until


def dataset_bytes(path: Path) -> bytes:
    """The bytes after the File Meta Information: what the peer sent, whoever wrote the meta."""
    data = path.read_bytes()
    assert data[128:132] == b"DICM" and data[132:136] == b"\x02\x00\x00\x00"
    group_length = int.from_bytes(data[140:144], "little")
    return data[144 + group_length:]


def _rows(folder: Path) -> dict[str, object]:
    engine = create_engine(f"sqlite:///{folder / 'ris.db'}")
    try:
        with engine.connect() as conn:
            return {r.sop_instance_uid: r for r in conn.execute(select(dicom_object))}
    finally:
        engine.dispose()


def _count(folder: Path) -> int:
    engine = create_engine(f"sqlite:///{folder / 'ris.db'}")
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(dicom_object)).scalar_one())
    finally:
        engine.dispose()


def test_sigkill_during_a_burst_loses_no_acknowledged_object(tmp_path: Path) -> None:
    dcmtk.tool("storescu")
    sources = tmp_path / "send"
    sources.mkdir()
    files, by_uid = [], {}
    for i in range(300):
        path = sources / f"{i:03d}.dcm"
        ds = make.sc(path, side=128)
        files.append(path)
        by_uid[str(ds.SOPInstanceUID)] = path
    module = RunningModule(tmp_path).start()
    try:
        sender = subprocess.Popen(
            [dcmtk.tool("storescu"), "-v", "-aet", "DEMO_AI", "-aec", "RIS_AI", "127.0.0.1", str(module.port),
             *map(str, files)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dcmtk.ENV,
        )
        # storescu sends each object only after the previous one's answer: 101 stored means it has received
        # at least 100 acknowledgements (with 100 stored, the 100th answer may still be in flight at the kill)
        assert wait_until(lambda: _count(tmp_path) >= 101, timeout=60, interval=0.005)
        module.kill()
        output, _ = sender.communicate(timeout=60)
    finally:
        module.kill()
    statuses = dcmtk.store_statuses(output)
    acknowledged = 0
    for status in statuses:
        if status != "Success":
            break
        acknowledged += 1
    assert 100 <= acknowledged < 300, output[-2000:]

    rows = _rows(tmp_path)
    storage = tmp_path / "storage"
    for path in files[:acknowledged]:  # storescu sends in order, one at a time
        uid = next(u for u, p in by_uid.items() if p == path)
        row = rows[uid]
        stored = storage / row.file_path
        assert stored.is_file(), f"acknowledged {uid} has no file"
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == row.sha256
        assert dataset_bytes(stored) == dataset_bytes(path)
    placed = [p for p in storage.rglob("*.dcm") if ".tmp" not in p.relative_to(storage).parts]
    for stored in placed:  # nothing partial in place: every file is a complete copy of what was sent
        assert dataset_bytes(stored) == dataset_bytes(by_uid[stored.stem])
    assert len(placed) >= acknowledged

    module.start()  # the same installation again
    try:
        assert list((storage / ".tmp").iterdir()) == []  # leftovers of the crash cleaned at start
    finally:
        module.stop()


@pytest.mark.slow
def test_one_gigabyte_multiframe_keeps_memory_flat(tmp_path: Path) -> None:
    big = tmp_path / "big.dcm"
    sop = make.big_multiframe(big, 1024**3)
    module = RunningModule(tmp_path).start()
    try:
        before = module.peak_rss_kb()
        started = time.monotonic()
        result = dcmtk.storescu(module.port, big, timeout=120)
        elapsed = time.monotonic() - started
        assert dcmtk.store_statuses(result.stderr) == ["Success"], result.stderr[-2000:]
        peak = module.peak_rss_kb()
    finally:
        module.stop()
    row = _rows(tmp_path)[sop]
    stored = tmp_path / "storage" / row.file_path
    assert stored.stat().st_size == row.file_size > 1024**3
    print(f"1 GB object: {elapsed:.1f}s, peak RSS {before / 1024:.0f} MB before, {peak / 1024:.0f} MB after")
    assert peak < 200 * 1024, f"peak RSS {peak / 1024:.0f} MB"
