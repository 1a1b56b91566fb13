"""PostgreSQL LISTEN/NOTIFY as a wake-up hint for the worker. Never a source of truth: the worker
polls anyway, a lost notification only costs up to ``worker.idle_wait``."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.engine import URL

log = logging.getLogger(__name__)
CHANNEL = "rai_task"


class PgListener:
    name = "pg-listener"

    def __init__(self, url: URL, stop: threading.Event, wake: threading.Event) -> None:
        self.url = url
        self.stop_event = stop
        self.wake = wake
        self.thread = threading.Thread(target=self._loop, name="rai-pg-listen", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)

    def _loop(self) -> None:
        import psycopg

        url = self.url
        while not self.stop_event.is_set():
            try:
                with psycopg.connect(
                    host=url.host, port=url.port or 5432, user=url.username, password=url.password,
                    dbname=url.database, autocommit=True, connect_timeout=10,
                ) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    while not self.stop_event.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self.wake.set()
            except Exception as exc:  # a lost listener only delays; say so and reconnect
                log.warning("LISTEN %s failed (%s); reconnecting in 5 s", CHANNEL, exc)
                self.stop_event.wait(5)
