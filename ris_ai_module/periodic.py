"""A component of ``run`` that calls one function on a timer, in its own thread, until stopped.

Used by the poller and the pending-report checker. An exception in a round is logged and the next round
tries again: a database outage must not end the thread. A round that returns a positive count of new
tasks sets ``wake``, so the worker takes them at once instead of after its idle wait.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class PeriodicComponent:
    def __init__(self, name: str, round_: Callable[[], object], interval: float, stop: threading.Event,
                 wake: threading.Event | None = None, first_round_now: bool = True) -> None:
        self.name = name
        self.round = round_
        self.interval = interval
        self.first_round_now = first_round_now
        self.process_stop = stop
        self.wake = wake
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"rai-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _stopping(self) -> bool:
        return self._stop.is_set() or self.process_stop.is_set()

    def _loop(self) -> None:
        if not self.first_round_now and self._stop.wait(self.interval):
            return
        while not self._stopping():
            try:
                found = self.round()
                if self.wake is not None and isinstance(found, int) and found > 0:
                    self.wake.set()
            except Exception:
                log.exception("%s round failed; trying again in %gs", self.name, self.interval,
                              extra={"action": f"{self.name}_error"})
            if self._stop.wait(self.interval):
                return
