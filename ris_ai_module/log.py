"""Logging to console and a rotating file, with patient names and IDs masked unless configured otherwise.

Code never logs a patient name or ID raw: it wraps them in ``phi_name()`` / ``phi_id()``, which mask
while ``logging.mask_phi`` is true (the default; 等保 and the Personal Information Protection Law).

Each line's time is in ``module.timezone`` (the machine's when empty), labelled with its UTC offset
(``2026-12-02 18:00:00,123 +08:00``), as every other time the module shows a person (db/clock.shown): the
engineer who reads the log beside the status page or an alert never has to guess whether it is UTC.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import threading
from datetime import datetime, timezone, tzinfo
from pathlib import Path

from ris_ai_module.config.schema import LoggingConfig
from ris_ai_module.db.clock import display_zone, label

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


class ZonedFormatter(logging.Formatter):
    """``%(asctime)s`` in one zone with its offset, whatever the process's TZ (logging's own is local, unlabelled)."""

    def __init__(self, fmt: str = FORMAT, zone: tzinfo | None = None) -> None:
        super().__init__(fmt)
        self.zone = zone if zone is not None else display_zone()

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        local = datetime.fromtimestamp(record.created, timezone.utc).astimezone(self.zone)
        if datefmt:
            return local.strftime(datefmt)
        return f"{local:%Y-%m-%d %H:%M:%S},{int(record.msecs):03d} {label(local)}"


def set_masking(on: bool) -> None:
    """What ``setup_logging`` sets for ``phi_*``, for a process that logs elsewhere (the SR_APPLY pool)."""
    global _mask
    _mask = on


_cut = threading.local()


def mark_connection_cut() -> None:
    """This (DUL) thread's connection was closed on purpose, with our own log line saying why: what pynetdicom
    logs on this thread from now on ("the received PDU is shorter than expected", ...) is its consequence."""
    _cut.flag = True


class PynetdicomNoise(logging.Filter):
    """pynetdicom logs a peer's malformed PDU or message as an ERROR with a traceback. A traceback says "bug" to
    whoever reads the log; these are a peer's mistakes, answered per the standard and described by our own
    warning. So: records on a thread whose connection we cut are dropped, and a pynetdicom traceback becomes one
    line naming the exception (kept whole when the level is DEBUG)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("pynetdicom"):
            return True
        if getattr(_cut, "flag", False):
            return False
        if record.exc_info and logging.getLogger().getEffectiveLevel() > logging.DEBUG:
            exc = record.exc_info[1]
            text = record.getMessage().strip()
            detail = f"{exc.__class__.__name__}: {exc}" if exc is not None else ""
            record.msg = f"{text} ({detail})" if text and detail else (text or detail)
            record.args = None
            record.exc_info = None
            record.exc_text = None
            if not record.msg:
                return False
        return True


def setup_logging(cfg: LoggingConfig, zone_name: str = "") -> None:
    """Console and (``logging.file``) rotating file handlers; times in ``zone_name`` (``module.timezone``)."""
    set_masking(cfg.mask_phi)
    formatter = ZonedFormatter(FORMAT, display_zone(zone_name))
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_rai", False):
            root.removeHandler(handler)
    root.setLevel(cfg.level)
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(formatter)
    console._rai = True  # type: ignore[attr-defined]
    console.addFilter(PynetdicomNoise())
    root.addHandler(console)
    if cfg.file:
        Path(cfg.file).parent.mkdir(parents=True, exist_ok=True)
        rotating = logging.handlers.RotatingFileHandler(
            cfg.file, maxBytes=int(cfg.max_bytes), backupCount=cfg.backup_count, encoding="utf-8"
        )
        rotating.setFormatter(formatter)
        rotating._rai = True  # type: ignore[attr-defined]
        rotating.addFilter(PynetdicomNoise())
        root.addHandler(rotating)
    for noisy in ("pynetdicom", "apscheduler", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(cfg.level)))
