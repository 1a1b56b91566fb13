"""schemathesis against the served ``/openapi.json`` (issue 13): every operation of the document, called on
the real HTTP server with generated arguments (valid and invalid), answers without a 5xx and with a status,
content type and body the document declares; schema-valid input is accepted; a request without valid
credentials is refused. Bounded: a few examples per operation, no shrinking.

Left to their own tests: ``POST /soap`` (SOAP 1.1 §6.2 answers every fault with HTTP 500; its contract is
the WSDL, tested with zeep in test_soap.py) and the ``campus`` filter (valid only where ``ris.campus_column``
is configured, which this RIS is not; test_campus_lookup.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy.engine import Engine

from ris_ai_module.web.auth import token_hash
from tests.integration.web.conftest import Api, start_api

OPERATOR_TOKEN = "schemathesis-operator-token-0123456789abcdef"


@pytest.fixture
def served(any_db: Engine, tmp_path: Path) -> Iterator[Api]:
    tokens = [{"name": "ci", "token_hash": token_hash(OPERATOR_TOKEN), "role": "operator"}]
    # schemathesis sends many requests with wrong credentials on purpose: a lockout (429, tested in
    # test_security.py) would answer them before the authentication it checks.
    running = start_api(any_db, tmp_path, tokens=tokens, lockout_failures=100000, lockout_address_failures=100000)
    Path(running.ctx.config.storage.root).mkdir(parents=True, exist_ok=True)
    try:
        yield running
    finally:
        running.server.stop()
        running.ctx.engine.dispose()


@pytest.fixture
def served_schema(served: Api) -> schemathesis.BaseSchema:
    """The document as served, less the ``campus`` filter (see the module docstring)."""
    document = requests.get(served.base + "/openapi.json", timeout=30).json()
    for operation in document["paths"].get("/api/exams", {}).values():
        if isinstance(operation, dict):
            operation["parameters"] = [p for p in operation.get("parameters", []) if p.get("name") != "campus"]
    loaded = schemathesis.openapi.from_dict(document)
    loaded.config.update(base_url=served.base)
    return loaded


schema = schemathesis.pytest.from_fixture("served_schema").exclude(path="/soap")


@schemathesis.auth()
class OperatorToken:
    """The credentials, given the way schemathesis can also take them away (its check that a request
    without them, or with wrong ones, is refused)."""

    def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str:
        return OPERATOR_TOKEN

    def set(self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schemathesis.serializer("application/dicom")
def dicom_bytes(context: schemathesis.SerializationContext, value: object) -> bytes:
    """The manual SR upload's body: whatever was generated, as bytes (the server must refuse non-DICOM)."""
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


@schema.parametrize()
@settings(max_examples=5, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case: schemathesis.Case) -> None:
    # Any bytes are schema-valid for the SR upload; only DICOM is accepted (its own tests cover both).
    skip = [positive_data_acceptance] if case.operation.path == "/api/sr" else []
    case.call_and_validate(timeout=30, excluded_checks=skip)
