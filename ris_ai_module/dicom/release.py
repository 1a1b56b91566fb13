"""Release an association within a bound, else abort it.

pynetdicom's ``Association.release()`` first waits, with no limit, for the association's reactor thread to pause
before it sends the A-RELEASE-RQ. A reactor still inside an event handler (a peer's N-EVENT-REPORT being recorded
while the database is slow, say) holds the caller there: a task worker or a health check would hang for ever, and
with it every task behind it. Past the bound the association is aborted (A-ABORT to the peer, PS3.8 7.3) and the
caller goes on; what the association was for is judged by the caller from what it already received.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger(__name__)

#: Long enough for any real peer's A-RELEASE-RP (DCMTK and pynetdicom answer in milliseconds).
RELEASE_WITHIN = 30.0


def release(assoc: Any, within: float = RELEASE_WITHIN) -> bool:
    """Release ``assoc`` if it is established; True when released, False when it had to be aborted."""
    if not assoc.is_established:
        return True
    worker = threading.Thread(target=assoc.release, name="rai-release", daemon=True)
    worker.start()
    worker.join(within)
    if not worker.is_alive():
        return True
    log.warning("association with %s not released within %gs: aborted (A-ABORT)",
                getattr(getattr(assoc, "acceptor", None), "ae_title", "the peer"), within)
    assoc.abort()  # also lets release()'s wait go (kill marks the reactor paused); the worker ends by itself
    return False
