"""Can this Python serve the SOAP facade? One answer for ``config check``, the start-up log and ``POST /soap``.

spyne (the ``soap`` extra) is optional: the offline kit leaves it out, and spyne 2.14.0 (its latest release,
2022) does not import on Python 3.12 or newer: its bundled six 1.14 registers a ``find_module``-only importer
for ``spyne.util.six.moves``, which the 3.12 import system no longer calls (six 1.16 added ``find_spec``);
on 3.13 it also imports the standard-library module ``cgi``, removed there (PEP 594). Tried on this machine
with pyenv's 3.12.1 and 3.13.0. Either way the rest of the module runs; the SOAP route answers 501 with the
reason, ``config check`` and the start-up log say it, and nobody sees a traceback. Only spyne's own import is
judged here: an import error in our ``soap_service`` is a bug and is raised as such.
"""

from __future__ import annotations

import importlib
import platform
import sys

#: What soap_service takes from spyne; importing these is the whole test.
SPYNE_MODULES = ("spyne", "spyne.protocol.soap", "spyne.server.wsgi")


def soap_unavailable() -> str | None:
    """None when spyne imports; else one line naming the missing piece and what to do."""
    for name in SPYNE_MODULES:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            return why_not(exc)
    return None


def why_not(exc: ImportError) -> str:
    missing = exc.name or ""
    here = f"Python {platform.python_version()}"
    if missing == "spyne":
        if sys.version_info >= (3, 12):
            return (f"spyne is not installed, and spyne 2.14 (its latest release) does not run on {here}: "
                    "the SOAP facade needs Python 3.10 or 3.11")
        return "spyne is not installed: pip install 'ris-ai-module[soap]'"
    if missing.startswith("spyne.util.six"):
        return (f"spyne 2.14 does not import on {here} (its bundled six 1.14 has no find_spec, which Python 3.12 "
                f"requires: module {missing} not found): the SOAP facade needs Python 3.10 or 3.11")
    if missing == "cgi":
        return (f"spyne 2.14 imports the module cgi, which {here} no longer has (removed in 3.13): the SOAP "
                "facade needs Python 3.10 or 3.11")
    if missing:
        return f"spyne cannot be imported on {here}: module {missing} is missing"
    return f"spyne cannot be imported on {here}: {exc}"


def soap_summary() -> str:
    """The line of ``config check`` (and of the start-up log)."""
    why = soap_unavailable()
    return "SOAP facade (/soap): available" if why is None else f"SOAP facade (/soap): off, {why}"
