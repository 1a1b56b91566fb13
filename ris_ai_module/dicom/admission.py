"""Who gets a connection, and how many: the SCP's admission bookkeeping.

A TCP connection is in the *handshake* from accept until its A-ASSOCIATE-RQ is admitted (or it closes); then it
is an *association* until it closes. Handshakes are capped globally and per source address
(``dicom.max_handshakes``, ``dicom.max_handshakes_per_source``) and checked at accept time, before any byte is
read. Only admitted associations count against ``dicom.max_associations``: a port scan or a silent connection
costs a handshake slot for at most the ARTIM time, never an association slot. An address that had an
association admitted in the last hour (the AI host) is held only to its per-source cap, not the global one.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

HANDSHAKE = "handshake"
ASSOCIATED = "associated"
CLOSED = "closed"

#: A ticket never bound to an association (its connection thread failed early) is dropped after this long.
UNBOUND_GRACE = 30.0
#: An address that had an association admitted within this time is a known peer: the global handshake cap
#: does not apply to it (only its per-source cap), so a crowd of strangers cannot lock the AI host out.
KNOWN_FOR = 3600.0
KNOWN_MAX = 1024


@dataclass(eq=False)
class Ticket:
    """One accepted connection."""

    address: str
    opened: float = field(default_factory=time.monotonic)
    phase: str = HANDSHAKE
    #: A weak reference: the gate must never keep a finished association (and its buffers) alive.
    assoc: weakref.ReferenceType[Any] | None = None

    def dead(self, now: float) -> bool:
        if self.phase == CLOSED:
            return True
        if self.assoc is None:
            return now - self.opened > UNBOUND_GRACE
        assoc = self.assoc()
        if assoc is None:
            return True
        thread_started = getattr(assoc, "ident", None) is not None
        return thread_started and not assoc.is_alive()


class AdmissionGate:
    """Thread-safe counts of handshakes (per source) and admitted associations."""

    def __init__(self, max_handshakes: int, max_per_source: int, max_associations: int) -> None:
        self.max_handshakes = max_handshakes
        self.max_per_source = max_per_source
        self.max_associations = max_associations
        self._lock = threading.Lock()
        self._tickets: set[Ticket] = set()
        self._known: dict[str, float] = {}  # address -> when an association from it was last admitted

    def enter(self, address: str) -> tuple[Ticket | None, str]:
        """A ticket for a new connection from ``address``, or (None, why not)."""
        with self._lock:
            self._prune()
            handshakes = [t for t in self._tickets if t.phase == HANDSHAKE]
            known = time.monotonic() - self._known.get(address, -KNOWN_FOR) < KNOWN_FOR
            if len(handshakes) >= self.max_handshakes and not known:
                return None, f"{len(handshakes)} connections in the handshake (dicom.max_handshakes)"
            from_source = sum(1 for t in handshakes if t.address == address)
            if from_source >= self.max_per_source:
                return None, f"{from_source} connections from {address} in the handshake (dicom.max_handshakes_per_source)"
            ticket = Ticket(address)
            self._tickets.add(ticket)
            return ticket, "ok"

    def bind(self, ticket: Ticket, assoc: Any) -> None:
        with self._lock:
            ticket.assoc = weakref.ref(assoc)

    def admit(self, ticket: Ticket) -> bool:
        """Handshake -> association, if fewer than ``max_associations`` are admitted."""
        with self._lock:
            if ticket.phase == ASSOCIATED:
                return True
            self._prune()
            if sum(1 for t in self._tickets if t.phase == ASSOCIATED) >= self.max_associations:
                return False
            ticket.phase = ASSOCIATED
            self._tickets.add(ticket)
            if len(self._known) >= KNOWN_MAX:
                for address in sorted(self._known, key=self._known.__getitem__)[:KNOWN_MAX // 4]:
                    del self._known[address]
            self._known[ticket.address] = time.monotonic()
            return True

    def close(self, ticket: Ticket) -> None:
        with self._lock:
            ticket.phase = CLOSED
            self._tickets.discard(ticket)

    def counts(self) -> dict[str, int]:
        """{"handshake": n, "associated": m} (for tests, the log and the benchmark)."""
        with self._lock:
            self._prune()
            counted = Counter(t.phase for t in self._tickets)
            return {HANDSHAKE: counted[HANDSHAKE], ASSOCIATED: counted[ASSOCIATED]}

    def _prune(self) -> None:
        now = time.monotonic()
        for ticket in [t for t in self._tickets if t.dead(now)]:
            self._tickets.discard(ticket)


class Throttle:
    """At most one log line per key per ``interval`` seconds (a scan must not flood the log)."""

    def __init__(self, interval: float = 10.0, max_keys: int = 4096) -> None:
        self.interval, self.max_keys = interval, max_keys
        self._last: dict[object, float] = {}
        self._suppressed: Counter[object] = Counter()
        self._lock = threading.Lock()

    def allow(self, key: object) -> tuple[bool, int]:
        """(log now?, how many were suppressed since the last line for this key)."""
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.interval:
                self._suppressed[key] += 1
                return False, 0
            if len(self._last) >= self.max_keys:
                self._last.clear()
            self._last[key] = now
            return True, self._suppressed.pop(key, 0)
