"""``ris-ai-module parse-sr`` as a subprocess: JSON contract, table for people, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.sr_fixtures.cases import write_all


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_all(tmp_path_factory.mktemp("cli"))


def run(*args):
    return subprocess.run([sys.executable, "-m", "ris_ai_module", "parse-sr", *map(str, args)],
                          capture_output=True, text=True, encoding="utf-8", timeout=120)


def test_json_one_object_per_file(files):
    one = run(files["ob_twins"])
    assert one.returncode == 0, one.stderr
    data = json.loads(one.stdout)
    assert data["document"]["template"] == "5000"
    two = json.loads(run(files["ob_twins"], files["carotid"], "--format", "json").stdout)
    assert isinstance(two, list) and len(two) == 2


def test_table_shows_chinese_names(files):
    out = run(files["adult_echo_full"], "--format", "table")
    assert out.returncode == 0
    assert "左室舒张末期内径" in out.stdout and "Zhang^San=张^三" in out.stdout


def test_malformed_sr_is_exit_zero_but_not_dicom_is_not(files):
    assert run(files["malformed_values"], files["deep"]).returncode == 0
    bad = run(files["not_dicom"], files["carotid"])
    assert bad.returncode != 0
    assert len(bad.stderr.strip().splitlines()) == 1 and "not_dicom.dcm" in bad.stderr
    assert json.loads(bad.stdout)["document"]["template"] == "5100"  # the readable file is still printed


def _closed_early(args: list[str], read_first_line: bool) -> subprocess.CompletedProcess[str]:
    """``parse-sr … | head -1``: the reader takes one line (or nothing) and closes the pipe."""
    proc = subprocess.Popen([sys.executable, "-m", "ris_ai_module", "parse-sr", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    if read_first_line:
        proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode("utf-8", "replace")
    return subprocess.CompletedProcess(args, proc.wait(timeout=120), "", err)


@pytest.mark.parametrize("read_first_line", [False, True], ids=["closed-at-once", "head-1"])
def test_a_pipe_closed_early_ends_quietly(files, read_first_line):
    # enough output that it cannot all sit in the pipe buffer before the reader goes (64 KiB on Linux)
    many = [str(files["adult_echo_full"])] * 40 + ["--format", "table"]
    out = _closed_early(many, read_first_line)
    assert "Traceback" not in out.stderr and "BrokenPipe" not in out.stderr, out.stderr
    assert out.stderr == "", out.stderr
    assert out.returncode == 141  # as a Unix tool ended by SIGPIPE
