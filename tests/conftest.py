"""Fixtures shared by every test folder. Database helpers live in tests/dbs.py.

``any_db``: an SQLAlchemy Engine on a fresh database, once per kind (sqlite, postgresql, mariadb),
with the RAI_* tables created and the demo RIS, the view RAI_V_EXAM and the exam-start trigger
installed from sql/<dialect>/. PostgreSQL and MariaDB cases carry the ``postgres`` / ``mariadb``
markers and skip (fail under CI=true) when their server is unreachable.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings
from sqlalchemy.engine import Engine

from tests.dbs import engine_for, fresh_database

# Subprocesses (`python -m ris_ai_module …` from a temporary folder) import the tree under test, also when
# the module is not installed (a source checkout or a git worktree): put its root first on PYTHONPATH.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, os.environ.get("PYTHONPATH", "")) if p)

# CI runs the property tests on a fixed seed so that a landing does not depend on luck; developers get fresh
# random examples on every run (and the long runs done by hand: 4,000 corrupted files, 800 generated trees).
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI", "").lower() == "true":
    settings.load_profile("ci")

DB_KINDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    pytest.param("mariadb", id="mariadb", marks=pytest.mark.mariadb),
]


def create_rai_tables(engine: Engine) -> None:
    """The module's own tables, created the way a hospital creates them: the Alembic migrations."""
    from ris_ai_module.db import migrate

    migrate.upgrade(engine)


@pytest.fixture(params=DB_KINDS)
def any_db(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    from ris_ai_module.db import scripts

    with fresh_database(request.param, directory=tmp_path) as url:
        engine = engine_for(url)
        try:
            create_rai_tables(engine)
            scripts.install(engine, demo_ris=True)
            yield engine
        finally:
            engine.dispose()
