"""An in-process SCP on a fresh SQLite demo RIS, on a free loopback port, shut down after the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine

from ris_ai_module.context import AppContext
from ris_ai_module.db import migrate, scripts
from ris_ai_module.db.tables import dicom_object, task
from ris_ai_module.dicom.scp import StorageScp
from ris_ai_module.settings import Config, config_from_dict

SCP_AET = "RIS_AI"
PEER_AET = "DEMO_AI"


def dicom_section(storage: Path, storage_keys: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    dicom = {
        "enabled": True, "ae_title": SCP_AET, "host": "127.0.0.1", "port": 0, "acse_timeout": "5s",
        "dimse_timeout": "30s", "network_timeout": "30s",
        "peers": [{"name": "demo-ai", "ae_title": PEER_AET, "addresses": ["127.0.0.1"]}],
    }
    dicom.update(overrides)
    return {"dicom": dicom, "storage": {"root": str(storage), "min_free": "1MB", **(storage_keys or {})}}


def make_config(db_url: str, storage: Path, storage_keys: dict[str, Any] | None = None, **overrides: Any) -> Config:
    raw = {"database": {"url": db_url}, "worker": {"enabled": False}}
    raw.update(dicom_section(storage, storage_keys, **overrides))
    return config_from_dict(raw)


def demo_engine(path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    scripts.install(engine, demo_ris=True)
    return engine


@dataclass
class ScpEnv:
    ctx: AppContext
    scp: StorageScp
    storage: Path

    @property
    def port(self) -> int:
        return self.scp.port

    def objects(self) -> list[Any]:
        with self.ctx.engine.connect() as conn:
            return list(conn.execute(select(dicom_object)))

    def tasks(self) -> list[Any]:
        with self.ctx.engine.connect() as conn:
            return list(conn.execute(select(task).where(task.c.kind == "SR_APPLY")))


@pytest.fixture
def start_scp(tmp_path: Path) -> Iterator[Callable[..., ScpEnv]]:
    from ris_ai_module.context import make_context

    started: list[ScpEnv] = []

    def _start(storage_keys: dict[str, Any] | None = None, storage: Path | None = None, **overrides: Any) -> ScpEnv:
        db = tmp_path / "ris.db"
        if not db.exists():
            demo_engine(db).dispose()
        root = storage or tmp_path / "storage"
        config = make_config(f"sqlite:///{db}", root, storage_keys, **overrides)
        ctx = make_context(config)
        scp = StorageScp(ctx)
        scp.start()
        env = ScpEnv(ctx, scp, root)
        started.append(env)
        return env

    yield _start
    for env in started:
        env.scp.stop()
        env.ctx.engine.dispose()
