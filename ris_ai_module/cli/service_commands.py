"""``service install|remove|start|stop``: the Windows service. On Linux the systemd unit
(deploy/ris-ai-module.service) does this job, and these commands say so."""

from __future__ import annotations

import argparse
from pathlib import Path
from types import ModuleType

from ris_ai_module.cli.session import read_secret
from ris_ai_module.errors import RaiError


def windows_service() -> ModuleType:
    try:
        from ris_ai_module.service import windows
    except ImportError as exc:
        raise RaiError("the service commands need Windows and pywin32 (installed with the Windows kit); "
                       "on Linux install deploy/ris-ai-module.service with systemd") from exc
    return windows


def cmd_service(args: argparse.Namespace) -> int:
    from ris_ai_module.cli.core import need_config

    svc = windows_service()
    if args.action == "install":
        need_config(args)  # refuse to register a service that cannot start
        password = None
        if args.user and not args.user.upper().startswith("NT SERVICE\\"):
            password = read_secret(f"password of {args.user}: ", option="")
        svc.install(Path(args.config).resolve(), args.user, password)
        print(f"service {svc.SERVICE_NAME} installed (automatic start) with {Path(args.config).resolve()}\n"
              f"start it with: ris-ai-module service start   /  服务已安装，启动：ris-ai-module service start")
    elif args.action == "remove":
        svc.remove()
        print(f"service {svc.SERVICE_NAME} removed")
    elif args.action == "start":
        svc.start()
        print(f"service {svc.SERVICE_NAME} starting")
    else:
        svc.stop()
        print(f"service {svc.SERVICE_NAME} stopping (in-flight work finishes first)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("service", help="Windows service: install, remove, start, stop / Windows 服务")
    p.add_argument("action", choices=("install", "remove", "start", "stop"))
    p.add_argument("--user", help="account to run as, e.g. 'NT SERVICE\\ris-ai-module' (default LocalSystem)")
    p.set_defaults(func=cmd_service)
