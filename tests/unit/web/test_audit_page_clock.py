"""The auditor's page shows each audit time (RAI_AUDIT keeps naive UTC) in module.timezone, labelled."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ris_ai_module.web.routes_admin import _page


def test_audit_times_in_the_configured_zone() -> None:
    row = {"audit_id": 1, "audit_at": datetime(2026, 12, 2, 10, 0, 0), "actor": "op", "source": "web",
           "action": "exam_read", "target": "E1", "detail": None, "ok": True}
    assert "<td>2026-12-02 18:00:00 +08:00</td>" in _page([row], "", "", 180, ZoneInfo("Asia/Shanghai"))
    assert "<td>2026-12-02 10:00:00 +00:00</td>" in _page([row], "", "", 180, ZoneInfo("UTC"))
