"""The acceptance kit's journal: every write it is about to make is appended (and fsynced) *before* it is
made, so that ``acceptance --cleanup`` can undo a run that failed or was interrupted half-way.

One JSON object per line in ``DIR/journal.jsonl``; a run starts with ``start`` and ends, once cleaned up,
with ``cleaned``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

JOURNAL_NAME = "journal.jsonl"


class Journal:
    def __init__(self, folder: Path, run_id: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / JOURNAL_NAME
        self.run_id = run_id

    def write(self, action: str, **data: Any) -> None:
        entry = {"run": self.run_id, "at": time.time(), "action": action, **data}
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
            fh.flush()
            os.fsync(fh.fileno())


def read_runs(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """Entries per run, in order; a line cut by a crash is ignored."""
    path = folder / JOURNAL_NAME
    runs: dict[str, list[dict[str, Any]]] = {}
    if not path.exists():
        return runs
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        runs.setdefault(str(entry.get("run")), []).append(entry)
    return runs


def open_runs(folder: Path) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Runs that wrote something and were not cleaned up yet."""
    for run_id, entries in read_runs(folder).items():
        if not any(e["action"] == "cleaned" for e in entries):
            yield run_id, entries
