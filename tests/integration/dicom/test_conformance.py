"""Conformance probes an independent tester would run (PS3.4 Annex B, PS3.5, PS3.7, PS3.8), each expected
answer taken from the standard's tables: the SCP against DCMTK storescu with its transfer-syntax options and
against raw upper-layer bytes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset

from tests.integration.dicom import dcmtk, raw
from tests.integration.dicom import objects as make

SC_CONTEXT = 1


def _encode(ds) -> bytes:
    fp = DicomBytesIO()
    fp.is_little_endian = True
    fp.is_implicit_VR = False
    write_dataset(fp, ds)
    return fp.getvalue()


def _placed(storage: Path) -> list[Path]:
    return [p for p in storage.rglob("*.dcm") if ".tmp" not in p.parts]


def test_a_data_set_shorter_than_its_last_element_is_0xc000_and_not_stored(start_scp, tmp_path: Path) -> None:
    """PS3.4 B.2.2: success says "stored". A data set cut inside its Pixel Data (the peer's last fragment came
    early) is not the object; before, it was acknowledged 0x0000 and the half file kept."""
    env = start_scp()
    ds = make.sc(tmp_path / "sc.dcm")
    del ds.file_meta
    blob = _encode(ds)
    sock = raw.associated(env.port, contexts=(make.SC,))
    try:
        assert raw.c_store(sock, blob[:-100], make.SC, ds.SOPInstanceUID, context_id=SC_CONTEXT) == 0xC000
        assert raw.c_store(sock, blob, make.SC, ds.SOPInstanceUID, context_id=SC_CONTEXT) == 0x0000  # whole: stored
    finally:
        raw.release(sock)
        sock.close()
    assert [r.sop_instance_uid for r in env.objects()] == [ds.SOPInstanceUID]
    assert len(_placed(env.storage)) == 1


def _dcmtk(tool: str, *args: str) -> None:
    result = dcmtk.run(tool, *args)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("option,convert,syntax", [
    ("-xi", None, "1.2.840.10008.1.2"),
    ("-xd", None, "1.2.840.10008.1.2.1.99"),
    ("--propose-lossless", "dcmcjpeg", "1.2.840.10008.1.2.4.70"),
    ("--propose-rle", "dcmcrle", "1.2.840.10008.1.2.5"),
    ("--propose-jls-lossless", "dcmcjpls", "1.2.840.10008.1.2.4.80"),
])
def test_every_transfer_syntax_is_stored_as_received(start_scp, tmp_path: Path, option: str, convert: str | None,
                                                    syntax: str) -> None:
    """PS3.5: implicit VR, deflated and encapsulated (JPEG lossless, RLE, JPEG-LS) objects are stored in the
    negotiated transfer syntax, untouched; the file meta says which (PS3.10 §7.1)."""
    env = start_scp()
    ds = make.sc(tmp_path / "sc.dcm")
    sent = tmp_path / "sent.dcm"
    if convert:
        _dcmtk(convert, str(tmp_path / "sc.dcm"), str(sent))
    else:
        sent = tmp_path / "sc.dcm"
    result = dcmtk.storescu(env.port, sent, extra=(option,))
    assert dcmtk.store_statuses(result.stderr) == ["Success"], result.stderr
    [row] = env.objects()
    stored = dcmread(env.storage / row.file_path)
    assert str(stored.file_meta.TransferSyntaxUID) == syntax
    assert str(stored.file_meta.MediaStorageSOPInstanceUID) == ds.SOPInstanceUID
    assert str(stored.file_meta.MediaStorageSOPClassUID) == make.SC
    original = dcmread(sent)
    if convert:
        assert stored.PixelData == original.PixelData  # the compressed fragments byte for byte
    assert [(e.tag, e.value) for e in stored] == [(e.tag, e.value) for e in original]  # VRs may differ (implicit)
    check = subprocess.run([dcmtk.tool("dcmdump"), "-q", str(env.storage / row.file_path)], capture_output=True,
                           text=True, timeout=30)
    assert check.returncode == 0 and "E:" not in check.stderr, check.stderr


def test_an_application_context_other_than_dicoms_is_rejected_1_1_2(start_scp) -> None:
    """PS3.7 A.2.1 defines one application context name, 1.2.840.10008.3.1.1.1; PS3.8 Table 9-21: rejected-
    permanent (1), DICOM UL service-user (1), application-context-name-not-supported (2). It was accepted."""
    env = start_scp()
    request = raw.associate_rq().replace(b"1.2.840.10008.3.1.1.1", b"1.2.840.10008.3.1.1.9")
    with raw.connect(env.port) as sock:
        sock.sendall(request)
        assert raw.read_pdu(sock) == (0x03, bytes([0x00, 0x01, 0x01, 0x02]))
        assert raw.closed_within(sock, 5) is not None
    from sqlalchemy import select

    from ris_ai_module.db.tables import assoc_reject
    from tests.support import wait_until

    def rows() -> list:
        with env.ctx.engine.connect() as conn:
            return list(conn.execute(select(assoc_reject)))

    assert wait_until(lambda: len(rows()) == 1, timeout=5)
    assert rows()[0].reason_code == "APP_CONTEXT_NOT_SUPPORTED" and "1.2.840.10008.3.1.1.9" in rows()[0].reason
    assert dcmtk.echoscu(env.port).returncode == 0  # the real DICOM context is still accepted


def _command(**fields) -> bytes:
    """An implicit VR little endian command set with its group length (PS3.7 §6.3.1, §E.1)."""
    from pydicom.dataset import Dataset
    from pynetdicom.dsutils import encode

    cs = Dataset()
    for keyword, value in fields.items():
        setattr(cs, keyword, value)
    body = encode(cs, True, True)
    length = Dataset()
    length.CommandGroupLength = len(body)
    return encode(length, True, True) + body


def _send_pdv(sock, context_id: int, payload: bytes, command: bool, last: bool = True) -> None:
    import struct

    item = struct.pack(">LB", len(payload) + 2, context_id) + bytes([(1 if command else 0) | (2 if last else 0)]) + payload
    sock.sendall(struct.pack(">BBL", 0x04, 0, len(item)) + item)


def _response(sock, timeout: float = 10.0):
    """The next response's command set (decoded), or (PDU type, body) when another PDU came, or None."""
    import struct
    from io import BytesIO

    from pynetdicom.dsutils import decode

    buffer = bytearray()
    while True:
        answer = raw.read_pdu(sock, timeout)
        if answer is None or answer[0] != 0x04:
            return answer
        body, offset = answer[1], 0
        while offset < len(body):
            (length,) = struct.unpack(">L", body[offset:offset + 4])
            control = body[offset + 5]
            buffer += body[offset + 6:offset + 4 + length]
            offset += 4 + length
            if control & 0x03 == 0x03:
                return decode(BytesIO(bytes(buffer)), True, True)


VERIFICATION_CX, SC_CX, STGCMT_CX = 1, 3, 5
STGCMT = "1.2.840.10008.1.20.1"


@pytest.mark.parametrize("name,context,fields,rsp_field,status", [
    # an operation the context's SOP class does not have: 0x0211 Unrecognized operation (PS3.7 C.5.16), in a
    # response of the request's own type (before: a C-STORE-RSP to an N-ACTION, or an abort and a traceback)
    ("N-ACTION on Secondary Capture", SC_CX,
     dict(CommandField=0x0130, MessageID=5, CommandDataSetType=0x0101, RequestedSOPClassUID=make.SC,
          RequestedSOPInstanceUID="1.2.3", ActionTypeID=1), 0x8130, 0x0211),
    ("C-FIND on Secondary Capture", SC_CX,
     dict(CommandField=0x0020, MessageID=6, Priority=0, CommandDataSetType=0x0101, AffectedSOPClassUID=make.SC),
     0x8020, 0x0211),
    ("C-STORE on Verification", VERIFICATION_CX,
     dict(CommandField=0x0001, MessageID=7, Priority=0, CommandDataSetType=0x0101, AffectedSOPClassUID=make.SC,
          AffectedSOPInstanceUID="1.2.3.4"), 0x8001, 0x0211),
    ("N-GET on Storage Commitment", STGCMT_CX,
     dict(CommandField=0x0110, MessageID=8, CommandDataSetType=0x0101, RequestedSOPClassUID=STGCMT,
          RequestedSOPInstanceUID="1.2.840.10008.1.20.1.1"), 0x8110, 0x0211),
    # a C-ECHO that names another SOP class than Verification: 0x0122 Refused: SOP Class not supported
    ("C-ECHO naming Secondary Capture", VERIFICATION_CX,
     dict(CommandField=0x0030, MessageID=9, CommandDataSetType=0x0101, AffectedSOPClassUID=make.SC), 0x8030, 0x0122),
    # a C-STORE-RQ without a data set (PS3.7 9.3.1.1 requires one): 0xC000, not 0xA7FF "retry later"
    ("C-STORE without a data set", SC_CX,
     dict(CommandField=0x0001, MessageID=10, Priority=0, CommandDataSetType=0x0101, AffectedSOPClassUID=make.SC,
          AffectedSOPInstanceUID="1.2.3.4.5"), 0x8001, 0xC000),
])
def test_a_request_its_context_does_not_carry_gets_its_own_response_type(start_scp, name: str, context: int,
                                                                         fields: dict, rsp_field: int,
                                                                         status: int) -> None:
    env = start_scp()
    sock = raw.associated(env.port, contexts=(raw.VERIFICATION, make.SC, STGCMT))
    try:
        _send_pdv(sock, context, _command(**fields), command=True)
        rsp = _response(sock)
        assert rsp is not None and not isinstance(rsp, tuple), rsp
        assert (rsp.CommandField, rsp.Status, rsp.MessageIDBeingRespondedTo) == (rsp_field, status, fields["MessageID"])
        assert rsp.ErrorComment
        assert dcmtk.echoscu(env.port).returncode == 0
    finally:
        raw.release(sock)
        sock.close()
    assert env.objects() == []
