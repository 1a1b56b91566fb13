"""What every component of a running module shares: configuration, engine, identity, stop signal."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from ris_ai_module.hooks import Hooks

if TYPE_CHECKING:
    from ris_ai_module.settings import Config


@dataclass
class AppContext:
    config: Config
    engine: Engine
    #: Lease owner name: unique per process, readable by a DBA (host:pid).
    owner: str = ""
    stop: threading.Event = field(default_factory=threading.Event)
    #: Set to wake the worker early (a PostgreSQL NOTIFY, a new SR stored by the SCP).
    wake: threading.Event = field(default_factory=threading.Event)
    #: The hospital's extension hooks (``[hooks] module``), loaded by name.
    hooks: Hooks | None = None

    def __post_init__(self) -> None:
        if not self.owner:
            self.owner = f"{self.config.module.instance_name}:{os.getpid()}"
        if self.hooks is None:
            self.hooks = Hooks.from_config(self.config.hooks)


def make_context(config: Config) -> AppContext:
    from ris_ai_module.db.engine import make_engine

    return AppContext(config=config, engine=make_engine(config.database))
