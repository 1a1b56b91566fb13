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


def _abort_of(sock, timeout: float = 5.0) -> bytes | None:
    """The (source, reason) bytes of the A-ABORT that came next, or None when something else (or nothing) came."""
    answer = raw.read_pdu(sock, timeout)
    return answer[1][2:4] if answer is not None and answer[0] == 0x07 else None


def test_a_pdv_on_a_context_not_accepted_is_aborted_2_6_and_nothing_kept(start_scp, tmp_path: Path) -> None:
    """A C-STORE on a presentation context never proposed (99) or rejected (CT, abstract syntax not supported):
    invalid-PDU-parameter value (PS3.8 Table 9-26). Before: a KeyError traceback in pynetdicom's state machine
    and the connection dropped without any A-ABORT."""
    env = start_scp()
    ds = make.sc(tmp_path / "sc.dcm")
    del ds.file_meta
    command = _command(CommandField=0x0001, MessageID=1, Priority=0, CommandDataSetType=0x0000,
                       AffectedSOPClassUID=make.SC, AffectedSOPInstanceUID=ds.SOPInstanceUID)
    for contexts, context_id in (((make.SC,), 99), ((make.SC, make.CT), 3)):
        sock = raw.associated(env.port, contexts=contexts)
        with sock:
            _send_pdv(sock, context_id, command, command=True)
            _send_pdv(sock, context_id, _encode(ds), command=False)
            assert _abort_of(sock) == bytes([0x02, 0x06])
            assert raw.closed_within(sock, 5) is not None
    assert env.objects() == [] and list((env.storage / ".tmp").iterdir()) == []
    assert dcmtk.echoscu(env.port).returncode == 0


@pytest.mark.parametrize("name,fields,data_context", [
    ("Priority 7", dict(Priority=7), SC_CONTEXT),
    ("no Affected SOP Instance UID", dict(AffectedSOPInstanceUID=None), SC_CONTEXT),
    ("no Affected SOP Class UID", dict(AffectedSOPClassUID=None), SC_CONTEXT),
    ("unknown Command Field", dict(CommandField=0x0777), SC_CONTEXT),
    ("data set on another context than its command", {}, 3),
    ("C-ECHO announcing a data set", dict(CommandField=0x0030, Priority=None, AffectedSOPInstanceUID=None,
                                          AffectedSOPClassUID=raw.VERIFICATION), SC_CONTEXT),
])
def test_a_broken_dimse_message_is_aborted_by_the_service_user(start_scp, tmp_path: Path, name: str, fields: dict,
                                                              data_context: int) -> None:
    """DIMSE protocol errors (PS3.7 §9.3.1, Annex E: one message on one context): A-ABORT, source 0 (the UL
    service-user, where DIMSE sits), as DCMTK answers a command it cannot parse. Before: tracebacks, a bare
    close, or (other context) the object stored."""
    env = start_scp()
    ds = make.sc(tmp_path / "sc.dcm")
    del ds.file_meta
    base = dict(CommandField=0x0001, MessageID=1, Priority=0, CommandDataSetType=0x0000,
                AffectedSOPClassUID=make.SC, AffectedSOPInstanceUID=ds.SOPInstanceUID)
    base.update(fields)
    sock = raw.associated(env.port, contexts=(make.SC, make.SC))  # two contexts, same abstract syntax
    with sock:
        _send_pdv(sock, SC_CONTEXT, _command(**{k: v for k, v in base.items() if v is not None}), command=True)
        _send_pdv(sock, data_context, _encode(ds), command=False)
        assert _abort_of(sock) == bytes([0x00, 0x00]), name
    assert env.objects() == []
    assert dcmtk.echoscu(env.port).returncode == 0


def test_a_data_set_before_its_command_is_aborted(start_scp, tmp_path: Path) -> None:
    env = start_scp()
    ds = make.sc(tmp_path / "sc.dcm")
    del ds.file_meta
    sock = raw.associated(env.port, contexts=(make.SC,))
    with sock:
        _send_pdv(sock, SC_CONTEXT, _encode(ds), command=False)
        assert _abort_of(sock) == bytes([0x00, 0x00])
    assert env.objects() == []


def test_wrong_pdus_get_the_abort_the_state_table_names(start_scp) -> None:
    """PS3.8 Table 9-10. Before the association (Sta2) an unknown PDU type is Evt19 -> AA-1: A-ABORT of
    service-user source, at once (it waited ARTIM, then closed silently). Inside it (Sta6) AA-8, A-ABORT of
    service-provider source with Table 9-26's reason: 1 unrecognized-PDU, 2 unexpected-PDU (an A-ASSOCIATE-RQ),
    6 invalid-PDU-parameter value (P-DATA items that do not add up, a release PDU of length 10); they said 0."""
    import time

    env = start_scp(acse_timeout="10s")
    with raw.connect(env.port) as sock:
        started = time.monotonic()
        sock.sendall(raw.header(0x09, 4) + b"\0\0\0\0")
        assert _abort_of(sock) == bytes([0x00, 0x00])
        assert time.monotonic() - started < 3
    for early in (bytes([0x02, 0, 0, 0, 0, 4, 0, 0, 0, 0]), raw.header(0x04, 6) + b"\0\0\0\2\1\3",
                  bytes([0x05, 0, 0, 0, 0, 4, 0, 0, 0, 0])):  # A-ASSOCIATE-AC, P-DATA, A-RELEASE-RQ in Sta2: AA-1
        with raw.connect(env.port) as sock:
            sock.sendall(early)
            assert _abort_of(sock) == bytes([0x00, 0x00]), early.hex()
    cases = [
        (raw.header(0x09, 4) + b"\0\0\0\0", bytes([0x02, 0x01])),
        (raw.associate_rq(), bytes([0x02, 0x02])),
        (raw.header(0x04, 3) + b"\1\2\3", bytes([0x02, 0x06])),
        (raw.header(0x04, 8) + (100).to_bytes(4, "big") + b"\1\3\0\0", bytes([0x02, 0x06])),
        (raw.header(0x05, 10) + b"\0" * 10, bytes([0x02, 0x06])),
    ]
    for pdu, expected in cases:
        sock = raw.associated(env.port)
        with sock:
            sock.sendall(pdu)
            assert _abort_of(sock) == expected, pdu[:12].hex()
            assert raw.closed_within(sock, 5) is not None
    assert dcmtk.echoscu(env.port).returncode == 0


def test_an_associate_rq_whose_items_overrun_it_is_aborted_once(start_scp) -> None:
    """An A-ASSOCIATE-RQ whose PDU length is 20 bytes short of its items: Evt19 in Sta2 -> AA-1, one A-ABORT
    (before: a decoder traceback, then the rest read as a 825 MB 'PDU')."""
    request = bytearray(raw.associate_rq())
    request[2:6] = (int.from_bytes(request[2:6], "big") - 20).to_bytes(4, "big")
    env = start_scp()
    with raw.connect(env.port) as sock:
        sock.sendall(bytes(request))
        assert _abort_of(sock) == bytes([0x00, 0x00])
        assert raw.closed_within(sock, 5) is not None
    assert dcmtk.echoscu(env.port).returncode == 0


def test_a_refusal_about_one_attribute_names_it_as_offending_element(start_scp, tmp_path: Path) -> None:
    """PS3.4 Table B.2-1: A9xx and Cxxx carry (0000,0901) Offending Element with (0000,0902) Error Comment."""
    from pynetdicom import AE, _config

    env = start_scp()
    bad = make.sc(tmp_path / "bad.dcm")
    bad.StudyInstanceUID = "1.2.3.abc"
    other = make.sc(tmp_path / "other.dcm")
    data = (tmp_path / "other.dcm").read_bytes()
    uid = str(other.SOPInstanceUID).encode()
    second = data.index(uid, data.index(uid) + 1)  # the data set's copy, after the file meta's
    (tmp_path / "other.dcm").write_bytes(data[:second] + uid[:-1] + (b"1" if uid[-1:] != b"1" else b"2")
                                         + data[second + len(uid):])
    ae = AE(ae_title="DEMO_AI")
    ae.add_requested_context(make.SC)
    assoc = ae.associate("127.0.0.1", env.port, ae_title="RIS_AI")
    try:
        assert assoc.is_established
        status = assoc.send_c_store(bad)
        assert (status.Status, status.OffendingElement) == (0xC010, 0x0020000D)
        _config.STORE_SEND_CHUNKED_DATASET = True
        try:
            status = assoc.send_c_store(tmp_path / "other.dcm")
        finally:
            _config.STORE_SEND_CHUNKED_DATASET = False
        assert (status.Status, status.OffendingElement) == (0xA900, 0x00080018)
        assert "SOPInstanceUID differs" in status.ErrorComment
    finally:
        assoc.release()
        ae.shutdown()
    assert env.objects() == []


def test_a_pdu_after_the_peers_release_request_is_unexpected(start_scp) -> None:
    """After A-RELEASE-RQ the SCP is in Sta8; another A-RELEASE-RQ (Evt12) or a P-DATA (Evt10) there is AA-8:
    A-ABORT, service-provider, unexpected-PDU (it said reason 0). An A-RELEASE-RP may leave first."""
    env = start_scp()
    release = bytes([0x05, 0x00, 0, 0, 0, 4, 0, 0, 0, 0])
    sock = raw.associated(env.port)
    with sock:
        sock.sendall(release + release)
        seen = []
        while (answer := raw.read_pdu(sock, 5)) is not None:
            seen.append(answer)
        assert seen and seen[-1] == (0x07, bytes([0, 0, 0x02, 0x02])), seen
        assert all(pdu_type in (0x06, 0x07) for pdu_type, _ in seen)
    sock = raw.associated(env.port)
    with sock:
        sock.sendall(release)  # one release: the A-RELEASE-RP, as always
        assert raw.read_pdu(sock, 5) == (0x06, bytes(4))
    assert dcmtk.echoscu(env.port).returncode == 0


@pytest.mark.parametrize("ids", [(2, 4), (1, 1)])
def test_presentation_context_ids_must_be_odd_and_used_once(start_scp, ids: tuple[int, int]) -> None:
    """PS3.8 §9.3.2.2: presentation context IDs are odd integers 1-255, each naming one context. An even ID
    made pynetdicom's state machine fail (traceback, no answer); a repeated one was accepted once, leaving the
    peer to guess for which abstract syntax. Both are an invalid A-ASSOCIATE-RQ: Evt19 in Sta2, AA-1."""
    env = start_scp()
    request = bytearray(raw.associate_rq(contexts=(raw.VERIFICATION, make.SC)))
    offset, n = 74, 0
    while offset < len(request):
        length = int.from_bytes(request[offset + 2:offset + 4], "big")
        if request[offset] == 0x20:
            request[offset + 4] = ids[n]
            n += 1
        offset += 4 + length
    assert n == 2
    with raw.connect(env.port) as sock:
        sock.sendall(bytes(request))
        assert _abort_of(sock) == bytes([0x00, 0x00])
    assert dcmtk.echoscu(env.port).returncode == 0


def _without(request: bytes, item_type: int, sub_type: int | None = None) -> bytes:
    """The A-ASSOCIATE-RQ without its items of ``item_type`` (or, with ``sub_type``, without that sub-item of
    the user information item), lengths fixed up."""
    items, offset = [], 74
    while offset < len(request):
        length = int.from_bytes(request[offset + 2:offset + 4], "big")
        item = request[offset:offset + 4 + length]
        if item[0] == 0x50 and sub_type is not None:
            subs, at, kept = item[4:], 0, b""
            while at < len(subs):
                n = int.from_bytes(subs[at + 2:at + 4], "big")
                if subs[at] != sub_type:
                    kept += subs[at:at + 4 + n]
                at += 4 + n
            item = bytes([0x50, 0]) + len(kept).to_bytes(2, "big") + kept
        if item[0] != item_type or sub_type is not None:
            items.append(item)
        offset += 4 + length
    body = request[6:74] + b"".join(items)
    return bytes([0x01, 0x00]) + len(body).to_bytes(4, "big") + body


@pytest.mark.parametrize("item,sub", [(0x20, None), (0x50, None), (0x50, 0x51), (0x50, 0x52)])
def test_a_request_without_a_mandatory_item_is_rejected_1_2_1(start_scp, item: int, sub: int | None) -> None:
    """No presentation context item (PS3.8 9.3.2), no user information item, or no maximum length (PS3.7
    D.3.3.1) / implementation class UID (D.3.3.2) sub-item: not acceptable by the service-provider (AE-6):
    A-ASSOCIATE-RJ rejected-permanent, service-provider ACSE, no-reason-given. Before: accepted (without user
    information, after a traceback)."""
    env = start_scp()
    with raw.connect(env.port) as sock:
        sock.sendall(_without(raw.associate_rq(), item, sub))
        assert raw.read_pdu(sock) == (0x03, bytes([0x00, 0x01, 0x02, 0x01]))
        assert raw.closed_within(sock, 5) is not None
    assert dcmtk.echoscu(env.port).returncode == 0


def test_a_store_on_the_self_check_association_is_not_authorized_0x0124(start_scp, tmp_path: Path) -> None:
    """Our own AE title from this host is admitted for the health check's C-ECHO only. Its C-STORE is refused
    0x0124 Refused: Not authorized (PS3.7 C.5): the SOP class is supported, the association may not store
    (it said 0x0122, SOP Class not supported)."""
    from pynetdicom import AE

    env = start_scp()
    ds = make.sc(tmp_path / "sc.dcm")
    ae = AE(ae_title="RIS_AI")
    ae.add_requested_context(make.SC)
    assoc = ae.associate("127.0.0.1", env.port, ae_title="RIS_AI")
    try:
        assert assoc.is_established
        status = assoc.send_c_store(ds)
        assert status.Status == 0x0124 and "self-check" in status.ErrorComment
    finally:
        assoc.release()
        ae.shutdown()
    assert env.objects() == []
