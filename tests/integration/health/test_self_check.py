"""The module C-ECHOes its own SCP on its real listening address; ``check-now`` exits non-zero on a failure."""

from __future__ import annotations

from pathlib import Path

from ris_ai_module.cli.main import main
from ris_ai_module.context import make_context
from ris_ai_module.dicom.scp import StorageScp
from ris_ai_module.settings import load_config
from tests.support import free_port


def test_self_check_and_check_now_exit_status(sqlite_db, tmp_path: Path, capsys) -> None:
    port = free_port()
    (tmp_path / "storage").mkdir()
    config = tmp_path / "rai.toml"
    config.write_text(f'''
[database]
url = "{sqlite_db.url.render_as_string()}"
[worker]
enabled = false
[dicom]
enabled = true
ae_title = "RIS_AI"
host = "0.0.0.0"
port = {port}
[[dicom.peers]]
name = "demo-ai"
ae_title = "DEMO_AI"
addresses = ["127.0.0.1"]
[storage]
root = "storage"
min_free = "1MB"
[health]
echo_timeout = "3s"
''', encoding="utf-8")
    ctx = make_context(load_config(config))
    scp = StorageScp(ctx)
    scp.start()
    try:
        assert main(["-c", str(config), "check-now"]) == 0
        out = capsys.readouterr().out
        assert f"RIS_AI -> RIS_AI@127.0.0.1:{port}" in out  # 0.0.0.0 is checked over loopback
        assert "FAIL" not in out
    finally:
        scp.stop()
        ctx.engine.dispose()
    assert main(["-c", str(config), "check-now"]) == 1
    captured = capsys.readouterr()
    assert f"refused: nothing listens on 127.0.0.1:{port}" in captured.out
    assert "1 of 6 checks failed" in captured.err  # queue x3, disk, storage:watermark, self
