"""``ris-ai-module run`` as a subprocess on a fresh SQLite demo RIS (for crash and memory tests and the bench)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.integration.dicom import dcmtk
from tests.integration.dicom.conftest import demo_engine
from tests.support import free_port, wait_until


def write_config(folder: Path, port: int, extra: str = "") -> Path:
    path = folder / "ris-ai-module.toml"
    path.write_text(f'''
[database]
url = "sqlite:///ris.db"
[worker]
enabled = false
[dicom]
enabled = true
host = "127.0.0.1"
port = {port}
[[dicom.peers]]
name = "ai"
ae_title = "DEMO_AI"
addresses = ["127.0.0.1"]
[storage]
root = "storage"
min_free = "1MB"
[logging]
level = "WARNING"
file = ""
{extra}
''', encoding="utf-8")
    return path


class RunningModule:
    """One ``ris-ai-module run`` process; the SCP is up when ``start`` returns."""

    def __init__(self, folder: Path, extra: str = "") -> None:
        self.folder = folder
        self.port = free_port()
        if not (folder / "ris.db").exists():
            demo_engine(folder / "ris.db").dispose()
        self.config = write_config(folder, self.port, extra)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> RunningModule:
        log = open(self.folder / "run.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ris_ai_module", "--config", str(self.config), "run"],
            cwd=self.folder, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
        log.close()
        up = wait_until(lambda: self.proc.poll() is not None or dcmtk.echoscu(self.port).returncode == 0,
                        timeout=30, interval=0.2)
        if not up or self.proc.poll() is not None:
            self.stop()
            raise AssertionError("ris-ai-module run did not come up:\n" + (self.folder / "run.log").read_text())
        return self

    def peak_rss_kb(self) -> int:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise AssertionError("no VmHWM")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
