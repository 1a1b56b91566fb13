"""The Windows service (pywin32's service framework, hosted by ``pythonservice.exe``).

``ris-ai-module --config C:\\ris-ai-module\\ris-ai-module.toml service install`` registers it (automatic
start; the configuration path is kept in the service's registry Parameters), ``service start|stop|remove``
control it. Warnings and errors go to the Application event log (source ``ris-ai-module``), everything to
the rotating file of ``[logging] file``. Stop and system shutdown set the same event as SIGTERM on Linux.

This module imports pywin32 and so only loads on Windows; the logic around it is in ``host.py``.
"""

from __future__ import annotations

import threading
from pathlib import Path

import servicemanager  # type: ignore[import-not-found]
import win32service  # type: ignore[import-not-found]
import win32serviceutil  # type: ignore[import-not-found]

from ris_ai_module.service.host import serve

SERVICE_NAME = "ris-ai-module"
DISPLAY_NAME = "ris-ai-module (RIS - ultrasound AI connector)"
DESCRIPTION = "Connects the ultrasound AI host with the RIS/PACS: exam push, DICOM SCP, SR into RIS reports."
CONFIG_OPTION = "config"
#: How long the service control manager waits for a stop, as TimeoutStopSec=60 in the systemd unit.
STOP_WAIT_MS = 60_000


class RisAiModuleService(win32serviceutil.ServiceFramework):  # type: ignore[misc]
    _svc_name_ = SERVICE_NAME
    _svc_display_name_ = DISPLAY_NAME
    _svc_description_ = DESCRIPTION

    def __init__(self, args: object) -> None:
        super().__init__(args)
        self.stop_requested = threading.Event()
        self.exit_code: int | None = None

    def GetAcceptedControls(self) -> int:  # noqa: N802  (pywin32's names)
        return int(super().GetAcceptedControls()) | win32service.SERVICE_ACCEPT_SHUTDOWN

    def SvcStop(self) -> None:  # noqa: N802
        self.ReportServiceStatus(win32service.SERVICE_STOP_PENDING, waitHint=STOP_WAIT_MS)
        self.stop_requested.set()

    SvcShutdown = SvcStop  # noqa: N815

    def SvcDoRun(self) -> None:  # noqa: N802
        servicemanager.LogMsg(servicemanager.EVENTLOG_INFORMATION_TYPE, servicemanager.PYS_SERVICE_STARTED,
                              (self._svc_name_, ""))
        config = win32serviceutil.GetServiceCustomOption(self._svc_name_, CONFIG_OPTION, "")
        self.exit_code = serve(config, self.stop_requested, servicemanager)
        servicemanager.LogMsg(servicemanager.EVENTLOG_INFORMATION_TYPE, servicemanager.PYS_SERVICE_STOPPED,
                              (self._svc_name_, f" (exit code {self.exit_code})"))


def install(config: Path, user: str | None = None, password: str | None = None) -> None:
    """Register the service for automatic start, running ``config`` (an absolute path)."""
    win32serviceutil.InstallService(
        win32serviceutil.GetServiceClassString(RisAiModuleService), SERVICE_NAME, DISPLAY_NAME,
        startType=win32service.SERVICE_AUTO_START, userName=user, password=password, description=DESCRIPTION)
    win32serviceutil.SetServiceCustomOption(SERVICE_NAME, CONFIG_OPTION, str(config))


def remove() -> None:
    win32serviceutil.RemoveService(SERVICE_NAME)


def start() -> None:
    win32serviceutil.StartService(SERVICE_NAME)


def stop() -> None:
    win32serviceutil.StopService(SERVICE_NAME)
