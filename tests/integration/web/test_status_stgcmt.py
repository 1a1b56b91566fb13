"""/api/status shows Storage Commitment (SQLite, PostgreSQL, MariaDB): the archive's answers to our requests
and the reports we still owe to peers, counted from RAI_STGCMT."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from ris_ai_module.dicom import stgcmt as sc
from tests.integration.web.conftest import Api


def test_status_counts_commitment_states(api: Api, any_db: Engine) -> None:
    rows = [(sc.OUT, sc.COMMITTED), (sc.OUT, sc.COMMITTED), (sc.OUT, sc.FAILED), (sc.OUT, "CLOSED"),
            (sc.OUT, sc.REQUESTED), (sc.OUT, sc.EXPIRED), (sc.IN, sc.PENDING), (sc.IN, sc.SENDING), (sc.IN, sc.REPORTED)]
    with any_db.begin() as conn:
        for n, (direction, state) in enumerate(rows):
            sc.add(conn, f"1.2.3.{n}", direction, state, "PEER", "127.0.0.1", [("1.2.840.10008.5.1.4.1.1.7", f"1.9.{n}")])
    body = api.get("/api/status").json()
    assert body["commitment"] == {"committed": 2, "failed": 2, "waiting": 1, "expired": 1, "reports_owed": 2,
                                  "reported": 1}
