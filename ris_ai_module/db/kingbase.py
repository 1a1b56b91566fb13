"""人大金仓 KingbaseES through its own driver, ksycopg2 (a psycopg2 built on Kingbase's client library).

KingbaseES speaks PostgreSQL's protocol and SQL, so the module uses SQLAlchemy's PostgreSQL dialect; only
the driver differs. SQLAlchemy's psycopg2 dialect imports ``psycopg2`` by name (for the DB-API, its
extensions and extras); this subclass hands it ``ksycopg2`` instead and registers the URL scheme
``kingbase://`` (``kingbase+ksycopg2://``), so a configuration names the database it is really on.
The dialect's ``name`` stays ``postgresql``: every statement, type and script rule is PostgreSQL's.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from sqlalchemy import util
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.postgresql.psycopg2 import PGDialect_psycopg2

#: The URL schemes that select this dialect.
SCHEMES = ("kingbase", "kingbase+ksycopg2")

#: KingbaseES's default port (PostgreSQL's is 5432).
DEFAULT_PORT = 54321


class KingbaseDialect(PGDialect_psycopg2):
    """PostgreSQL's psycopg2 dialect with ksycopg2 as the driver."""

    driver = "ksycopg2"
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> ModuleType:
        import ksycopg2

        return ksycopg2

    @util.memoized_property
    def _psycopg2_extensions(cls) -> Any:  # noqa: N805 (SQLAlchemy names it so)
        from ksycopg2 import extensions

        return extensions

    @util.memoized_property
    def _psycopg2_extras(cls) -> Any:  # noqa: N805
        from ksycopg2 import extras

        return extras


def register() -> None:
    """Make ``kingbase://`` URLs resolve to this dialect (idempotent)."""
    for scheme in SCHEMES:
        registry.register(scheme, __name__, "KingbaseDialect")


register()
