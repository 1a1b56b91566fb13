"""The report rig (tests/integration/report/conftest.py) with a delivery registry of the test's choosing."""

from __future__ import annotations

from tests.integration.report.conftest import RIS_MEASURE, RIS_REPORT, Rig, rig  # noqa: F401 - fixture
