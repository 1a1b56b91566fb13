"""The DICOM subcommands, run through the real entry point: objects, link, import-sr, echo."""

from __future__ import annotations

from pathlib import Path

import pytest

from ris_ai_module.cli.main import main
from tests.integration.dicom import objects as make
from tests.integration.dicom.conftest import demo_engine
from tests.support import free_port


@pytest.fixture
def installation(tmp_path: Path) -> Path:
    engine = demo_engine(tmp_path / "ris.db")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO ris_exam (exam_id, patient_id, accession_no, exam_status) "
                             "VALUES ('E1', 'P1', 'ACC1', 'STARTED')")
    engine.dispose()
    config = tmp_path / "ris-ai-module.toml"
    config.write_text('''
[database]
url = "sqlite:///ris.db"
[worker]
enabled = false
[storage]
root = "storage"
min_free = "1MB"
''', encoding="utf-8")
    return config


def test_import_list_and_link_by_hand(installation: Path, tmp_path: Path, capsys) -> None:
    sr = make.sr(tmp_path / "sr.dcm", accession="UNKNOWN", patient_id="NOBODY")
    cfg = str(installation)
    assert main(["--config", cfg, "import-sr", str(tmp_path / "sr.dcm")]) == 0
    assert "unlinked" in capsys.readouterr().out
    assert main(["--config", cfg, "objects", "--unlinked"]) == 0
    assert sr.SOPInstanceUID in capsys.readouterr().out
    assert main(["--config", cfg, "link", sr.SOPInstanceUID, "NO_SUCH_EXAM"]) == 2
    assert "not in RAI_V_EXAM" in capsys.readouterr().err
    # NOBODY is not E1's patient (P1): a plain link is refused, a forced one needs a reason
    assert main(["--config", cfg, "link", sr.SOPInstanceUID, "E1"]) == 2
    assert "Patient ID NOBODY is not the exam's (P1)" in capsys.readouterr().err
    assert main(["--config", cfg, "link", sr.SOPInstanceUID, "E1", "--force"]) == 2
    assert "needs a reason" in capsys.readouterr().err
    assert main(["--config", cfg, "link", sr.SOPInstanceUID, "E1", "--force", "--reason", "AI host test patient"]) == 0
    out = capsys.readouterr().out
    assert "confirmed for exam E1" in out and "SR_APPLY task" in out
    assert main(["--config", cfg, "objects", "--unlinked"]) == 0
    assert "no objects" in capsys.readouterr().out
    assert main(["--config", cfg, "objects", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"exam_key": "E1"' in out and '"link": "MANUAL"' in out
    assert main(["--config", cfg, "import-sr", str(tmp_path / "sr.dcm")]) == 0
    assert "already stored" in capsys.readouterr().out


def test_import_sr_with_exam_links_manually(installation: Path, tmp_path: Path, capsys) -> None:
    make.sr(tmp_path / "sr.dcm", patient_id="P1")
    assert main(["--config", str(installation), "import-sr", str(tmp_path / "sr.dcm"), "--exam", "E1"]) == 0
    out = capsys.readouterr().out
    assert "exam E1 (MANUAL)" in out and "SR_APPLY task" in out


def test_import_sr_refuses_images_and_non_dicom(installation: Path, tmp_path: Path, capsys) -> None:
    make.sc(tmp_path / "sc.dcm")
    (tmp_path / "junk.dcm").write_bytes(b"not dicom at all")
    assert main(["--config", str(installation), "import-sr", str(tmp_path / "sc.dcm")]) == 2
    assert "not an SR document" in capsys.readouterr().err
    assert main(["--config", str(installation), "import-sr", str(tmp_path / "junk.dcm")]) == 2
    assert "not a DICOM file" in capsys.readouterr().err


def test_echo_reports_latency_refusal_and_rejection_reason(start_scp, tmp_path: Path, capsys) -> None:
    env = start_scp()
    assert main(["echo", "--host", "127.0.0.1", "--port", str(env.port), "--aet", "RIS_AI",
                 "--calling-aet", "DEMO_AI"]) == 0
    assert " ms" in capsys.readouterr().out
    assert main(["echo", "--host", "127.0.0.1", "--port", str(env.port), "--aet", "RIS_AI",
                 "--calling-aet", "STRANGER"]) == 1
    assert "Calling AE title not recognised" in capsys.readouterr().err
    # A wrong called AE fails as the peer answers it (issue 13), never "ok".
    assert main(["echo", "--host", "127.0.0.1", "--port", str(env.port), "--aet", "NOT_OURS",
                 "--calling-aet", "DEMO_AI"]) == 1
    err = capsys.readouterr().err
    assert "Called AE title not recognised" in err and ": ok" not in err
    assert main(["echo", "--host", "127.0.0.1", "--port", str(free_port()), "--aet", "X", "--timeout", "3"]) == 1
    assert "refused" in capsys.readouterr().err


def test_echo_by_peer_name(start_scp, tmp_path: Path, capsys) -> None:
    env = start_scp()
    config = tmp_path / "echo.toml"
    config.write_text(f'''
[database]
url = "sqlite:///ris.db"
[worker]
enabled = false
[dicom]
ae_title = "DEMO_AI"
[[dicom.peers]]
name = "scp"
ae_title = "RIS_AI"
host = "127.0.0.1"
port = {env.port}
''', encoding="utf-8")
    assert main(["--config", str(config), "echo", "scp"]) == 0
    assert "ok" in capsys.readouterr().out
    assert main(["--config", str(config), "echo", "nobody"]) == 2
    assert "no [[dicom.peers]] named 'nobody'" in capsys.readouterr().err
