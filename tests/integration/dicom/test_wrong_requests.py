"""Every wrong C-STORE gets the standard answer (PS3.4 Annex B, PS3.7 §9.1.1) and nothing is stored:
raw C-STORE requests over an association negotiated with SC and SR contexts (explicit VR little endian)."""

from __future__ import annotations

import os

from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.uid import generate_uid

from tests.integration.dicom import objects as make
from tests.integration.dicom import raw

SR_CONTEXT, SC_CONTEXT = 3, 1  # raw.associated proposes contexts with ids 1, 3, ... in order


def _encode(ds: Dataset, implicit: bool = False) -> bytes:
    fp = DicomBytesIO()
    fp.is_little_endian = True
    fp.is_implicit_VR = implicit
    write_dataset(fp, ds)
    return fp.getvalue()


def _objects(tmp_path, make_ds):
    path = tmp_path / "x.dcm"
    ds = make_ds(path)
    del ds.file_meta
    return ds


def _store(env, ds_bytes: bytes, sop_class: str, sop: str, context: int) -> int | None:
    sock = raw.associated(env.port, calling="DEMO_AI", contexts=(make.SC, make.COMPREHENSIVE_SR))
    try:
        return raw.c_store(sock, ds_bytes, sop_class, sop, context_id=context)
    finally:
        raw.release(sock)
        sock.close()


def test_an_sr_on_the_secondary_capture_context_is_refused_0xa900(start_scp, tmp_path) -> None:
    ds = _objects(tmp_path, make.sr)
    status = _store(start_scp_env := start_scp(), _encode(ds), make.COMPREHENSIVE_SR, ds.SOPInstanceUID, SC_CONTEXT)
    assert status == 0xA900
    assert start_scp_env.objects() == []


def test_the_same_sr_on_its_own_context_is_stored(start_scp, tmp_path) -> None:
    ds = _objects(tmp_path, make.sr)
    env = start_scp()
    assert _store(env, _encode(ds), make.COMPREHENSIVE_SR, ds.SOPInstanceUID, SR_CONTEXT) == 0x0000
    assert [r.sop_instance_uid for r in env.objects()] == [ds.SOPInstanceUID]


def test_random_bytes_as_a_data_set_are_0xc000(start_scp) -> None:
    env = start_scp()
    for seed in range(3):
        blob = os.urandom(4096 + seed)
        assert _store(env, blob, make.SC, generate_uid(), SC_CONTEXT) == 0xC000
    assert env.objects() == []


def test_implicit_vr_bytes_on_an_explicit_vr_context_are_refused(start_scp, tmp_path) -> None:
    ds = _objects(tmp_path, make.sc)
    env = start_scp()
    status = _store(env, _encode(ds, implicit=True), make.SC, ds.SOPInstanceUID, SC_CONTEXT)
    assert status is not None and status != 0x0000 and status >= 0xA000
    assert env.objects() == []


def _with_raw_uid(ds: Dataset, keyword: str, value: bytes) -> bytes:
    """The data set encoded with ``keyword``'s value bytes exactly as given (pydicom would pad/strip)."""
    marker = str(getattr(ds, keyword)).encode()
    encoded = _encode(ds)
    at = encoded.find(marker)
    length_at = at - 2
    old = int.from_bytes(encoded[length_at:at], "little")
    return encoded[:length_at] + len(value).to_bytes(2, "little") + value + encoded[at + old:]


def test_uids_with_spaces_are_refused_but_the_trailing_nul_pad_is_legal(start_scp, tmp_path) -> None:
    env = start_scp()
    for bad in (b" 1.2.826.0.1.3680043.10.1", b"1.2.826.0.1.3680043.10.12 ", b"1.2.826.0.1.3680043.10.1 \0"):
        ds = _objects(tmp_path, make.sc)
        blob = _with_raw_uid(ds, "SeriesInstanceUID", bad)
        assert _store(env, blob, make.SC, ds.SOPInstanceUID, SC_CONTEXT) == 0xC010, bad
    assert env.objects() == []
    ds = _objects(tmp_path, make.sc)
    blob = _with_raw_uid(ds, "SeriesInstanceUID", b"1.2.826.0.1.3680043.10.1\0")  # PS3.5 §9.1: NUL pad
    assert _store(env, blob, make.SC, ds.SOPInstanceUID, SC_CONTEXT) == 0x0000
    assert [r.series_uid for r in env.objects()] == ["1.2.826.0.1.3680043.10.1"]
