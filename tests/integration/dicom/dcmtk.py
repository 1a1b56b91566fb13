"""DCMTK command-line tools as the real peer.

pynetdicom installs console scripts with the same names (storescu, echoscu, storescp), and they can come
first on PATH (pyenv shims do): a tool counts only if ``--version`` says DCMTK.
"""

from __future__ import annotations

import os
import re
import subprocess
from functools import cache
from pathlib import Path

from tests.support import missing_peer

#: Debian's DCMTK waits ~40 ms per PDU (Nagle + delayed ACK) unless this is set.
ENV = dict(os.environ, TCP_NODELAY="1")


@cache
def _find(name: str) -> str | None:
    for folder in os.environ.get("PATH", "").split(os.pathsep) + ["/usr/bin", "/usr/local/bin"]:
        candidate = Path(folder) / name
        if not candidate.is_file() or not os.access(candidate, os.X_OK):
            continue
        try:
            out = subprocess.run([str(candidate), "--version"], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if "$dcmtk" in out.stdout + out.stderr:
            return str(candidate)
    return None


def tool(name: str) -> str:
    path = _find(name)
    if path is None:
        missing_peer(f"DCMTK {name} not installed")
    return path or name


def run(name: str, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool(name), *args], capture_output=True, text=True, timeout=timeout, env=ENV)


def echoscu(port: int, calling: str = "DEMO_AI", called: str = "RIS_AI", *extra: str) -> subprocess.CompletedProcess[str]:
    return run("echoscu", "-aet", calling, "-aec", called, *extra, "127.0.0.1", str(port), timeout=30)


def storescu(port: int, *files: str | Path, calling: str = "DEMO_AI", called: str = "RIS_AI",
             extra: tuple[str, ...] = (), timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    return run("storescu", "-v", "-aet", calling, "-aec", called, *extra, "127.0.0.1", str(port),
               *map(str, files), timeout=timeout)


def store_statuses(output: str) -> list[str]:
    """The response status of each C-STORE, in sending order (storescu -v), e.g. ["Success", "0xa700"]."""
    return re.findall(r"Received Store Response \(([^)]*)\)", output)
