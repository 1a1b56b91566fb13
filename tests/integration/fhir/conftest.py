"""The report rig (tests/integration/report/conftest.py) for the FHIR delivery."""

from tests.integration.report.conftest import rig  # noqa: F401 - fixture
