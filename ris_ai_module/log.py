"""Logging to console and a rotating file, with patient names and IDs masked unless configured otherwise.

Code never logs a patient name or ID raw: it wraps them in ``phi_name()`` / ``phi_id()``, which mask
while ``logging.mask_phi`` is true (the default; 等保 and the Personal Information Protection Law).
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

from ris_ai_module.config.schema import LoggingConfig

_mask = True
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"


def phi_name(name: str | None) -> str:
    """张三丰 -> 张**, ZHANG^SAN -> Z********; unchanged when masking is off."""
    if not name:
        return ""
    return name if not _mask else name[0] + "*" * (len(name) - 1)


def phi_id(value: str | None) -> str:
    """P1234567 -> P1****67: enough for IT to tell two patients apart in a log, not to identify one."""
    if not value:
        return ""
    if not _mask:
        return value
    if len(value) <= 4:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def set_masking(on: bool) -> None:
    """What ``setup_logging`` sets for ``phi_*``, for a process that logs elsewhere (the SR_APPLY pool)."""
    global _mask
    _mask = on


def setup_logging(cfg: LoggingConfig) -> None:
    set_masking(cfg.mask_phi)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_rai", False):
            root.removeHandler(handler)
    root.setLevel(cfg.level)
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(logging.Formatter(FORMAT))
    console._rai = True  # type: ignore[attr-defined]
    root.addHandler(console)
    if cfg.file:
        Path(cfg.file).parent.mkdir(parents=True, exist_ok=True)
        rotating = logging.handlers.RotatingFileHandler(
            cfg.file, maxBytes=int(cfg.max_bytes), backupCount=cfg.backup_count, encoding="utf-8"
        )
        rotating.setFormatter(logging.Formatter(FORMAT))
        rotating._rai = True  # type: ignore[attr-defined]
        root.addHandler(rotating)
    for noisy in ("pynetdicom", "apscheduler", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(cfg.level)))
