"""Alembic environment: target metadata is ris_ai_module.db.tables.metadata.

Run through ``ris-ai-module init-db`` (which passes the engine in ``config.attributes["connection"]``),
or with the alembic CLI: ``alembic -x url=postgresql+psycopg://... upgrade head``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from ris_ai_module.db.tables import metadata

config = context.config
target_metadata = metadata


def run_migrations_offline() -> None:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                      version_table="rai_schema_version")
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
        with create_engine(url).connect() as conn:
            _run(conn)
    else:
        _run(connection)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=target_metadata,
                      version_table="rai_schema_version", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
