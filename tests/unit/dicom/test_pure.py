"""Pure parts of the DICOM area: UID gate, whitelist, Error Comments, paths, temp hashing, [dicom] config."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ris_ai_module.dicom import statuses
from ris_ai_module.dicom.linking import parse_da
from ris_ai_module.dicom.section import DicomPeerConfig
from ris_ai_module.dicom.storage import StorageArea, TempObject
from ris_ai_module.dicom.uids import is_valid_uid
from ris_ai_module.dicom.whitelist import Whitelist
from ris_ai_module.errors import ConfigError
from ris_ai_module.settings import config_from_dict


@pytest.mark.parametrize("uid", ["1.2.840.10008.5.1.4.1.1.7", "2.25.329800735698586629295641978511506172918", "0.0"])
def test_valid_uids(uid: str) -> None:
    assert is_valid_uid(uid)


@pytest.mark.parametrize("uid", ["", "1", "1..2", "1.2.", ".1.2", "1.02", "1.2/3", "../1.2", "1.2.3\x00", "1.2 ",
                                 "1." + "1" * 63, None, 12])
def test_invalid_uids(uid: object) -> None:
    assert not is_valid_uid(uid)


@given(st.text(max_size=80))
def test_a_valid_uid_is_a_safe_path_component(text: str) -> None:
    if is_valid_uid(text):
        assert set(text) <= set("0123456789.") and ".." not in text and not text.startswith(".")


def test_relative_path_refuses_what_is_not_a_uid() -> None:
    assert StorageArea.relative_path("1.2", "1.3", "1.4") == "1.2/1.3/1.4.dcm"
    with pytest.raises(ValueError):
        StorageArea.relative_path("1.2", "..", "1.4")


def test_whitelist_needs_ae_and_address() -> None:
    wl = Whitelist([
        DicomPeerConfig(name="ai", ae_title="AI_HOST", addresses=("10.1.2.30", "10.1.3.0/24")),
        DicomPeerConfig(name="v6", ae_title="V6", addresses=("fd00::/8",)),
    ])
    assert wl.admit("AI_HOST", "10.1.2.30").accepted
    assert wl.admit("AI_HOST ", "10.1.3.77").peer == "ai"
    assert wl.admit("AI_HOST", "::ffff:10.1.3.77").accepted  # dual-stack socket
    assert not wl.admit("AI_HOST", "10.1.4.1").accepted
    assert not wl.admit("ai_host", "10.1.2.30").accepted  # AE titles are case-sensitive
    assert not wl.admit("OTHER", "10.1.2.30").accepted
    assert wl.admit("V6", "fd00::1").accepted and not wl.admit("V6", "10.1.2.30").accepted
    assert "not allowed from 10.1.4.1" in wl.admit("AI_HOST", "10.1.4.1").reason


def test_error_comment_is_short_single_line_ascii() -> None:
    text = statuses.comment("数据库\nunavailable " + "x" * 100)
    assert len(text) == 64 and "\n" not in text and text.isascii()


def test_temp_object_hashes_while_writing(tmp_path: Path) -> None:
    temp = TempObject(tmp_path)
    temp.write(b"abc")
    temp.file.flush()
    temp.write(memoryview(b"def"))
    temp.finish()
    assert temp.sha256 == hashlib.sha256(b"abcdef").hexdigest() and temp.size == 6
    assert Path(temp.name).read_bytes() == b"abcdef"
    temp.close()  # idempotent (pynetdicom closes it again)
    temp.discard()
    assert not Path(temp.name).exists()


def test_parse_da() -> None:
    assert str(parse_da("20261127")) == "2026-11-27"
    assert parse_da("2026-11-27") is None and parse_da("20261340") is None and parse_da(None) is None


def _cfg(**dicom: object) -> object:
    return config_from_dict({"database": {"url": "sqlite:///x.db"}, "worker": {"enabled": False}, "dicom": dicom})


def test_dicom_config_defaults_and_checks() -> None:
    cfg = _cfg()
    assert not cfg.dicom.enabled and cfg.dicom.overwrite == "NEVER" and "1.2.840.10008.5.1.4.1.1.88.33" in cfg.dicom.sop_classes
    with pytest.raises(ConfigError) as err:
        _cfg(enabled=True)
    assert err.value.key == "dicom.peers"
    with pytest.raises(ConfigError) as err:
        _cfg(peers=[{"name": "a", "ae_title": "A", "addresses": ["10.0.0.300"]}])
    assert err.value.key == "dicom.peers[0].addresses[0]"
    with pytest.raises(ConfigError) as err:
        _cfg(sop_classes=["1.2.x"])
    assert err.value.key == "dicom.sop_classes[0]"
    with pytest.raises(ConfigError) as err:
        _cfg(overwrite="SOMETIMES")
    assert err.value.key == "dicom.overwrite"
    with pytest.raises(ConfigError) as err:
        _cfg(tls={"enabled": True, "certificate": "c.pem", "private_key": "k.pem"})
    assert err.value.key == "dicom.tls.ca_file"
    with pytest.raises(ConfigError) as err:
        _cfg(ae_title="THIS_AE_TITLE_IS_TOO_LONG")
    assert err.value.key == "dicom.ae_title"


def test_pynetdicom_tracebacks_become_one_line_and_a_cut_connection_is_quiet() -> None:
    """A peer's broken PDU is answered per the standard and described by our own warning; pynetdicom's
    traceback of the same event must not reach the log as a traceback (log.PynetdicomNoise)."""
    import logging
    import sys
    import threading

    from ris_ai_module.log import PynetdicomNoise, mark_connection_cut

    noise = PynetdicomNoise()
    try:
        raise AssertionError("item length")
    except AssertionError:
        record = logging.LogRecord("pynetdicom.dul", logging.ERROR, __file__, 1, "Unable to decode %s", ("PDU",),
                                   sys.exc_info())
    assert noise.filter(record)
    assert record.exc_info is None and record.getMessage() == "Unable to decode PDU (AssertionError: item length)"
    ours = logging.LogRecord("ris_ai_module.dicom", logging.ERROR, __file__, 1, "x", None, None)

    def on_a_cut_thread(out: list[bool]) -> None:
        mark_connection_cut()
        late = logging.LogRecord("pynetdicom.dul", logging.ERROR, __file__, 1, "shorter than expected", None, None)
        out.extend([noise.filter(late), noise.filter(ours)])

    seen: list[bool] = []
    thread = threading.Thread(target=on_a_cut_thread, args=(seen,))
    thread.start()
    thread.join()
    assert seen == [False, True]
    assert noise.filter(logging.LogRecord("pynetdicom.dul", logging.ERROR, __file__, 1, "other thread", None, None))
