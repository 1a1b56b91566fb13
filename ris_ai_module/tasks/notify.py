"""PostgreSQL LISTEN/NOTIFY as a wake-up hint for the worker. Never a source of truth: the worker
polls anyway, a lost notification only costs up to ``worker.idle_wait``."""

from __future__ import annotations

import logging
import threading

from ris_ai_module.context import AppContext

log = logging.getLogger(__name__)
CHANNEL = "rai_task"


class PgListener:
    name = "pg-listener"

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.thread = threading.Thread(target=self._loop, name="rai-pg-listen", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.ctx.stop.set()
        self.thread.join(timeout)

    def _loop(self) -> None:
        import psycopg

        url = self.ctx.engine.url
        while not self.ctx.stop.is_set():
            try:
                with psycopg.connect(
                    host=url.host, port=url.port or 5432, user=url.username, password=url.password,
                    dbname=url.database, autocommit=True, connect_timeout=10,
                ) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    while not self.ctx.stop.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self.ctx.wake.set()
            except Exception as exc:  # a lost listener only delays; say so and reconnect
                log.warning("LISTEN %s failed (%s); reconnecting in 5 s", CHANNEL, exc)
                self.ctx.stop.wait(5)


def make_component(ctx: AppContext) -> PgListener | None:
    if ctx.engine.dialect.name == "postgresql" and ctx.config.worker.pg_notify and ctx.config.worker.enabled:
        return PgListener(ctx)
    return None
