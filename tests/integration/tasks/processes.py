"""Run ``ris-ai-module run`` as real processes against a test database (for kill and concurrency tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


def write_config(path: Path, db_url: str, push_url: str, lease: str = "10s", threads: int = 2,
                 extra: str = "") -> Path:
    path.write_text(
        f"""
[module]
instance_name = "{path.stem}"
[database]
url = "{db_url}"
[worker]
threads = {threads}
lease = "{lease}"
idle_wait = "50ms"
batch_size = 20
[push]
url = "{push_url}"
connect_timeout = "2s"
read_timeout = "20s"
[push.retry]
initial = "100ms"
max_delay = "500ms"
[logging]
level = "WARNING"
file = "{path.parent / (path.stem + '.log')}"
{extra}
""",
        encoding="utf-8",
    )
    return path


def start_run(config: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "ris_ai_module", "--config", str(config), "run"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30) -> str:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate(timeout=10)
    return out.decode("utf-8", "replace") if out else ""
