"""The SR parser helper process used by ``run``: same result as in-process, and a dead helper costs nothing."""

from __future__ import annotations

import os
import signal

import pytest

from ris_ai_module.report import parse_process
from ris_ai_module.sr.parse import parse_sr_file
from tests.integration.dicom import objects as make


@pytest.fixture
def helper():
    component = parse_process.ParserProcess()
    component.start()
    assert parse_process._helper is not None, "the helper process did not start"
    yield parse_process._helper
    component.stop()
    assert parse_process._helper is None


def _summary(parsed):
    return [(m.key, m.value, m.unit, m.selected, m.path) for m in parsed.measurements]


def test_helper_parses_like_in_process(helper, tmp_path):
    path = tmp_path / "sr.dcm"
    make.sr(path)
    expected = parse_sr_file(path)
    assert expected.measurements, "the test SR must hold measurements"
    assert _summary(parse_process.parse(path)) == _summary(expected)


def test_unreadable_file_raises_the_in_process_error(helper, tmp_path):
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"not dicom at all")
    with pytest.raises(Exception) as in_process:
        parse_sr_file(bad)
    with pytest.raises(type(in_process.value)):
        parse_process.parse(bad)


def test_killed_helper_falls_back_and_is_replaced(helper, tmp_path):
    path = tmp_path / "sr.dcm"
    make.sr(path)
    old_pid = helper._process.pid
    os.kill(old_pid, signal.SIGKILL)
    helper._process.join(10)
    assert _summary(parse_process.parse(path)) == _summary(parse_sr_file(path))  # parsed in-process
    assert helper._process is not None and helper._process.pid != old_pid  # and a new helper runs
    assert _summary(parse_process.parse(path)) == _summary(parse_sr_file(path))
