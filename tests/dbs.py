"""Fresh, throw-away databases on the real servers of the test machine.

    from tests.dbs import fresh_database, engine_for

    with fresh_database("postgresql") as url:      # or "sqlite", "mariadb"
        engine = engine_for(url)
        ...
        engine.dispose()                             # before the database is dropped

* ``sqlite``: a file ``rai.db`` in a new temporary folder (or in ``directory=``), removed afterwards.
* ``postgresql``: ``rai_test_<random>`` created from template0 (UTF8) on 127.0.0.1:5432 as user
  postgres (trust auth), dropped ``WITH (FORCE)`` afterwards, so leftover connections do not matter.
* ``mariadb``: ``rai_test_<random>`` (utf8mb4) on 127.0.0.1:3306 as root without password, dropped
  afterwards (drivers: psycopg 3, PyMySQL with ``charset=utf8mb4``).

A server that cannot be reached skips the test, or fails it when the environment has ``CI=true``
(CI must exercise every database). Reachability is checked once per process with a short timeout.
The admin URLs can be changed with ``RAI_TEST_PG_URL`` / ``RAI_TEST_MARIADB_URL``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import NullPool

KINDS = ("sqlite", "postgresql", "mariadb")

PG_ADMIN_URL = os.environ.get("RAI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
MARIADB_ADMIN_URL = os.environ.get("RAI_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/?charset=utf8mb4")

_CONNECT_TIMEOUT = 3


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def unavailable(reason: str) -> None:
    """Skip the calling test, or fail it under CI=true."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: every database must be available)", pytrace=False)
    pytest.skip(reason)


def _admin_url(kind: str) -> URL:
    return make_url(PG_ADMIN_URL if kind == "postgresql" else MARIADB_ADMIN_URL)


@cache
def _admin_engine(kind: str) -> Engine:
    return create_engine(
        _admin_url(kind),
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
        connect_args={"connect_timeout": _CONNECT_TIMEOUT},
    )


@cache
def server_problem(kind: str) -> str | None:
    """None when the server answers, else why not (checked once per process)."""
    try:
        with _admin_engine(kind).connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "not usable here"
        return f"{kind} server at {_admin_url(kind).render_as_string()} unreachable: {type(exc).__name__}: {exc}"
    return None


def require_server(kind: str) -> None:
    problem = server_problem(kind) if kind != "sqlite" else None
    if problem:
        unavailable(problem)


@contextmanager
def fresh_database(kind: str, directory: Path | str | None = None) -> Iterator[str]:
    """Create an empty database of ``kind`` and yield its SQLAlchemy URL (password-free string)."""
    if kind == "sqlite":
        owned = directory is None
        folder = Path(tempfile.mkdtemp(prefix="rai_test_")) if owned else Path(directory)
        try:
            yield f"sqlite:///{folder / 'rai.db'}"
        finally:
            if owned:
                shutil.rmtree(folder, ignore_errors=True)
        return
    if kind not in KINDS:
        raise ValueError(f"unknown database kind {kind!r}; expected one of {KINDS}")
    require_server(kind)
    name = f"rai_test_{secrets.token_hex(6)}"
    admin = _admin_engine(kind)
    with admin.connect() as conn:
        if kind == "postgresql":
            conn.exec_driver_sql(
                f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
            )
        else:
            conn.exec_driver_sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
    try:
        yield _admin_url(kind).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            if kind == "postgresql":
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            else:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")


def engine_for(url: str, **kwargs) -> Engine:
    """An engine for a test database: UTF-8 everywhere, a busy timeout on SQLite."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = create_engine(u, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    if u.get_backend_name() in ("mysql", "mariadb") and "charset" not in u.query:
        u = u.update_query_dict({"charset": "utf8mb4"})
    kwargs.setdefault("connect_args", {"connect_timeout": _CONNECT_TIMEOUT})
    return create_engine(u, **kwargs)

