"""Engine from DatabaseConfig, with the settings a long-running service next to a RIS needs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from ris_ai_module.config.schema import DatabaseConfig
from ris_ai_module.errors import ConfigError

#: Examples for the message of an unknown dialect (the README lists every supported database).
URL_EXAMPLES = ("postgresql+psycopg://user@host/db", "mysql+pymysql://user@host/db",
                "oracle+oracledb://user@host:1521/?service_name=RIS", "mssql+pymssql://user@host/db",
                "kingbase://user@host:54321/db", "dm+dmPython://user@host:5236/", "sqlite:///ris.db")


def check_url(raw: str) -> URL:
    """``database.url`` parsed, its dialect known and its driver importable; else ConfigError naming the key.

    Checked by ``config check`` and before every engine is made, so a wrong URL is a one-line configuration
    error, never a traceback from deep inside ``run``.
    """
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError("database.url", f"not a database URL: {raw!r} (e.g. {URL_EXAMPLES[0]})") from None
    if url.get_backend_name() == "kingbase":
        from ris_ai_module.db import kingbase

        kingbase.register()
    elif url.get_backend_name() == "dm":
        from ris_ai_module.db import dm

        dm.register()
    try:
        dialect = url.get_dialect()
    except NoSuchModuleError:
        raise ConfigError("database.url", f"unknown database dialect {url.drivername!r}; expected one of "
                                          f"{', '.join(URL_EXAMPLES)}") from None
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        raise ConfigError("database.url", f"the driver {url.get_driver_name()!r} for {url.get_backend_name()} is not "
                                          f"installed ({exc.name or exc}); install it or name another driver") from None
    return url


def make_engine(cfg: DatabaseConfig) -> Engine:
    """Create the engine: pre-ping (hospital firewalls kill idle sessions), UTF-8, WAL on SQLite."""
    url = check_url(cfg.url)
    if cfg.password:
        url = url.set(password=cfg.password)
    kwargs: dict[str, Any] = {"pool_pre_ping": True, "echo": cfg.echo_sql}
    connect_args: dict[str, Any] = {}
    backend = url.get_backend_name()
    kwargs["pool_size"] = cfg.pool_size
    kwargs["max_overflow"] = cfg.pool_size
    if backend == "sqlite":
        # A file in this process, no server to spare: a connection for every thread that needs one (SQLAlchemy's
        # default 5 + 10 made the 16th of 24 HTTP threads wait for the pool, not for the database); the pool
        # keeps pool_size of them open.
        kwargs["max_overflow"] = -1
        connect_args["timeout"] = 30
        connect_args["check_same_thread"] = False
        # A file, not a server: no firewall can drop the connection, and the ping's SELECT 1 per checkout
        # was ~5 % of the C-STORE path (bench/ingest.py profile).
        kwargs["pool_pre_ping"] = False
    else:
        kwargs["pool_recycle"] = 1800
        if backend in ("postgresql", "kingbase"):
            connect_args["connect_timeout"] = int(cfg.connect_timeout)
        elif backend in ("mysql", "mariadb"):
            connect_args["connect_timeout"] = int(cfg.connect_timeout)
            if "charset" not in url.query:
                url = url.update_query_dict({"charset": "utf8mb4"})
        elif backend == "oracle":
            connect_args["tcp_connect_timeout"] = float(cfg.connect_timeout)
        elif backend == "mssql":
            # pymssql and python-tds both take login_timeout; NVARCHAR keeps Chinese whatever the collation
            connect_args["login_timeout"] = int(cfg.connect_timeout)
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    if backend == "sqlite":
        _tune_sqlite(engine)
    return engine


#: Execution option of a connection that only reads (``read_only``).
READ_ONLY = "rai_read_only"
#: Execution option of a connection whose transactions read the database and write only its own TEMP tables
#: (the name index's first build stages its terms so): on SQLite a deferred BEGIN, no write lock taken.
DEFERRED = "rai_deferred"


def read_only(engine: Engine) -> Connection:
    """A connection for work that only reads (the look-up, an exam's trace, the lockout check).

    On SQLite its transactions are a plain deferred ``BEGIN`` under ``PRAGMA query_only``: in WAL mode a
    reader takes no lock, reads its snapshot and runs beside the writer and the other readers. Every other
    transaction is ``BEGIN IMMEDIATE`` (``_tune_sqlite``), i.e. takes the database's one write lock: before,
    every HTTP look-up did, so 24 HTTP threads queued for that lock behind each other and behind the name
    index's writer. A write on this connection fails ("attempt to write a readonly database") instead of
    upgrading to the write lock mid-transaction. Elsewhere an ordinary connection (the option is ignored).
    """
    return engine.connect().execution_options(**{READ_ONLY: True})


def _tune_sqlite(engine: Engine) -> None:
    """WAL lets readers (web API, reports) run while the worker writes; IMMEDIATE avoids upgrade deadlocks.

    synchronous=FULL: a commit is on disk before it returns, so an acknowledged C-STORE's index row survives
    a power cut too (NORMAL would only survive a process crash); it costs ~0.15 ms per commit here. It stays
    FULL for every table, the name index included: the task table shares the one WAL file, and a synchronous
    level is per connection, not per table.

    A writer's transaction (``engine.begin()``, or any connection not ``read_only``) is BEGIN IMMEDIATE: it
    waits for the write lock up front (busy_timeout), instead of failing with SQLITE_BUSY when a deferred
    reader tries to upgrade after another writer committed. A ``read_only`` connection's is a deferred BEGIN
    under ``PRAGMA query_only`` (set and cleared on the pooled connection only when its use changes).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's begin event issue BEGIN IMMEDIATE
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()
        record.info[READ_ONLY] = False

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        reading = bool(options.get(READ_ONLY))
        info = conn.connection.info
        if info.get(READ_ONLY) != reading:
            conn.exec_driver_sql(f"PRAGMA query_only={int(reading)}")
            info[READ_ONLY] = reading
        conn.exec_driver_sql("BEGIN" if reading or options.get(DEFERRED) else "BEGIN IMMEDIATE")
