"""The Windows service, off Windows: pywin32 is replaced by small recording stand-ins of the calls the
service makes (the service control manager cannot run here), while everything behind them is real: the
demo configuration, ``run`` with its components, the HTTP API, the rotating log file.

What this proves: install registers the right class for automatic start and remembers the configuration;
a stop request (or shutdown) reports STOP_PENDING with a wait hint and stops ``run`` the same graceful way
SIGTERM does; warnings and errors reach the event log; a missing configuration is an event-log error, not
a silent exit. What it cannot prove: pythonservice.exe hosting and the real event log (see README).
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
import time
import types
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from ris_ai_module.cli.main import main
from ris_ai_module.demo import write_demo
from ris_ai_module.service.host import EventLogHandler, serve
from tests.support import free_port, wait_until


class Recorder:
    """Stands in for a pywin32 module: records calls, answers a few with given values."""

    def __init__(self, name: str, **attrs: Any) -> None:
        self.__name__ = name
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.answers: dict[str, Any] = {}
        self.__dict__.update(attrs)

    def __getattr__(self, item: str) -> Any:
        if item.startswith("__"):
            raise AttributeError(item)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((item, args, kwargs))
            return self.answers.get(item)
        return call


@pytest.fixture
def pywin32(monkeypatch: pytest.MonkeyPatch) -> types.SimpleNamespace:
    class ServiceFramework:
        def __init__(self, args: object) -> None:
            self.statuses: list[tuple[int, dict[str, Any]]] = []

        def GetAcceptedControls(self) -> int:  # noqa: N802
            return 1  # SERVICE_ACCEPT_STOP

        def ReportServiceStatus(self, status: int, **kwargs: Any) -> None:  # noqa: N802
            self.statuses.append((status, kwargs))

    win32service = Recorder("win32service", SERVICE_AUTO_START=2, SERVICE_STOP_PENDING=3, SERVICE_ACCEPT_SHUTDOWN=4)
    servicemanager = Recorder("servicemanager", EVENTLOG_INFORMATION_TYPE=4, PYS_SERVICE_STARTED=0x40001000,
                              PYS_SERVICE_STOPPED=0x40001002)
    util = Recorder("win32serviceutil", ServiceFramework=ServiceFramework, answers={},
                    GetServiceClassString=lambda cls: f"C:\\venv\\Lib\\site-packages\\ris_ai_module\\service\\"
                                                      f"windows.{cls.__name__}")
    for name, module in (("win32service", win32service), ("servicemanager", servicemanager),
                         ("win32serviceutil", util)):
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.delitem(sys.modules, "ris_ai_module.service.windows", raising=False)
    windows = importlib.import_module("ris_ai_module.service.windows")
    yield types.SimpleNamespace(windows=windows, util=util, service=win32service, manager=servicemanager)
    sys.modules.pop("ris_ai_module.service.windows", None)
    vars(sys.modules["ris_ai_module.service"]).pop("windows", None)  # the stand-ins leave nothing behind


def test_install_registers_automatic_start_with_the_configuration(pywin32, tmp_path: Path, monkeypatch) -> None:
    config = write_demo(tmp_path / "demo", free_port(), free_port(), "http://127.0.0.1:9/api/exams")
    monkeypatch.chdir(tmp_path)
    assert main(["--config", "demo/ris-ai-module.toml", "service", "install"]) == 0
    (name, args, kwargs), (option, opt_args, _) = pywin32.util.calls
    assert name == "InstallService" and option == "SetServiceCustomOption"
    assert args[0].endswith("windows.RisAiModuleService") and args[1] == "ris-ai-module"
    assert kwargs["startType"] == 2 and kwargs["userName"] is None
    assert opt_args == ("ris-ai-module", "config", str(config.resolve()))  # absolute: services start in System32
    for action, call in (("start", "StartService"), ("stop", "StopService"), ("remove", "RemoveService")):
        assert main(["service", action]) == 0
        assert pywin32.util.calls[-1][:2] == (call, ("ris-ai-module",))


def test_install_refuses_a_configuration_that_cannot_start(pywin32, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[database]\nurl = "sqlite:///x.db"\n[push]\nurl = "http://127.0.0.1:9/"\nnope = 1\n', encoding="utf-8")
    assert main(["--config", str(bad), "service", "install"]) == 2
    assert "nope" in capsys.readouterr().err
    assert pywin32.util.calls == []


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
            return resp.status == 200
    except OSError:
        return False


def test_stop_request_stops_run_gracefully_and_logs_to_the_event_log(pywin32, tmp_path: Path, monkeypatch) -> None:
    http_port = free_port()
    config = write_demo(tmp_path / "demo", free_port(), http_port, "http://127.0.0.1:9/api/exams")
    monkeypatch.chdir(tmp_path)  # the service changes to the configuration's folder; restored afterwards
    pywin32.util.answers["GetServiceCustomOption"] = str(config)
    svc = pywin32.windows.RisAiModuleService(("ris-ai-module",))
    assert svc.GetAcceptedControls() & 4, "system shutdown must reach SvcShutdown (the same graceful stop)"
    worker = threading.Thread(target=svc.SvcDoRun)
    worker.start()
    try:
        assert wait_until(lambda: _healthy(http_port), timeout=60), "the service did not come up"
        logging.getLogger("ris_ai_module.test").warning("disk almost full")
        logging.getLogger("ris_ai_module.test").info("only in the file")
        asked = time.monotonic()
        svc.SvcStop()
        worker.join(45)
        took = time.monotonic() - asked
    finally:
        svc.stop_requested.set()
        worker.join(60)
    assert not worker.is_alive() and svc.exit_code == 0
    assert svc.statuses == [(3, {"waitHint": 60_000})] and took < 40
    assert not _healthy(http_port)
    calls = [(name, args) for name, args, _ in pywin32.manager.calls]
    assert calls[0] == ("LogMsg", (4, 0x40001000, ("ris-ai-module", "")))
    assert calls[-1] == ("LogMsg", (4, 0x40001002, ("ris-ai-module", " (exit code 0)")))
    assert ("LogWarningMsg", ("ris_ai_module.test: disk almost full",)) in calls
    assert not any("only in the file" in str(args) for _, args in calls)
    text = (config.parent / "logs" / "ris-ai-module.log").read_text(encoding="utf-8")
    assert "only in the file" in text and "ris-ai-module stopped" in text
    assert not [h for h in logging.getLogger().handlers if isinstance(h, EventLogHandler)]


def test_missing_configuration_is_an_event_log_error(tmp_path: Path, monkeypatch) -> None:
    sink = Recorder("servicemanager")
    monkeypatch.chdir(tmp_path)
    assert serve(str(tmp_path / "gone.toml"), threading.Event(), sink) == 2
    (name, args, _), = sink.calls
    assert name == "LogErrorMsg" and "gone.toml" in args[0] and "service install" in args[0]


def test_service_commands_on_linux_point_to_systemd(capsys) -> None:
    if sys.platform == "win32":
        pytest.skip("Linux behaviour")
    assert main(["service", "start"]) == 2
    assert "systemd" in capsys.readouterr().err
