"""The header read of an incoming object: from the bytes kept in memory, or from the file when they fall short."""

from __future__ import annotations

from pydicom import dcmread

from ris_ai_module.dicom import storage
from ris_ai_module.dicom.ingest import HEADER_TAGS, read_header
from tests.integration.dicom import objects as make


def _received(area_root, data: bytes) -> storage.TempObject:
    temp = storage.TempObject(area_root)
    for i in range(0, len(data), 7000):
        temp.write(data[i:i + 7000])
    temp.finish()
    return temp


def _tags(ds):
    return {k: str(ds.get(k)) for k in HEADER_TAGS}


def test_header_from_memory_matches_the_file(tmp_path):
    path = tmp_path / "sr.dcm"
    make.sr(path, accession="A1")
    temp = _received(tmp_path / "tmp", path.read_bytes())
    assert bytes(temp.head) == path.read_bytes()[: storage.HEAD_BYTES]
    assert _tags(read_header(temp)) == _tags(dcmread(path))


def test_header_behind_a_large_element_is_read_from_the_file(tmp_path):
    """A 200 KB element before the UIDs: the in-memory head ends inside it, the file has the rest."""
    path = tmp_path / "sc.dcm"
    make.sc(path)
    ds = dcmread(path)
    ds.add_new(0x00091010, "OB", b"\0" * 200_000)  # private, before (0020,000D)
    ds.save_as(path, enforce_file_format=True)
    temp = _received(tmp_path / "tmp", path.read_bytes())
    assert len(temp.head) == storage.HEAD_BYTES < temp.size
    assert _tags(read_header(temp)) == _tags(dcmread(path))
