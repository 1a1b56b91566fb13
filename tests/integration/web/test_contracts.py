"""Contracts a monitoring system and an API client rely on: GET /metrics in the Prometheus text format with
the queue, reports and rejections as the database holds them; GET /openapi.json true to the routes, and
every answer to a battery of good and bad requests documented there (status and body schema), never a 5xx.

The battery below is generated from the document's own parameter schemas (valid values, boundaries, wrong
types, empty, oversized, odd path segments); test_schemathesis.py runs schemathesis over the same document."""

from __future__ import annotations

import json
import re
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema
import pytest
from openapi_spec_validator import validate as validate_spec
from prometheus_client.parser import text_string_to_metric_families
from referencing import Registry, Resource
from sqlalchemy import insert, update
from sqlalchemy.engine import Engine

from ris_ai_module.db.tables import assoc_reject, report_state, task, task_attempt
from ris_ai_module.web.app import make_app
from tests.integration.tasks.conftest import add_exam
from tests.integration.web.conftest import MONITOR_TOKEN, OPERATOR, VIEWER, Api

SPEC = json.loads(resources.files("ris_ai_module.web").joinpath("openapi.json").read_text(encoding="utf-8"))
BEARER = {"Authorization": f"Bearer {MONITOR_TOKEN}"}


def _metrics(api: Api) -> dict[tuple[str, tuple], float]:
    resp = api.get("/metrics", auth=None, headers=BEARER)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(resp.text) for s in family.samples}


def test_metrics_say_what_the_database_holds(api: Api, any_db: Engine) -> None:
    Path(api.ctx.config.storage.root).mkdir(parents=True, exist_ok=True)
    add_exam(any_db, "M1", status="STARTED")  # the trigger queues an EXAM_PUSH
    add_exam(any_db, "M2", status="STARTED")
    now = datetime.utcnow()
    with any_db.begin() as conn:
        conn.execute(update(task).where(task.c.exam_key == "M2").values(status="FAILED"))
        failed = conn.execute(task.select().where(task.c.exam_key == "M2")).first().task_id
        conn.execute(insert(task_attempt), [
            {"task_id": failed, "attempt_no": 1, "started_at": now, "latency_ms": 40, "outcome": "RETRY"},
            {"task_id": failed, "attempt_no": 2, "started_at": now, "latency_ms": 700, "outcome": "FAILED"},
            {"task_id": failed, "attempt_no": 3, "started_at": now, "latency_ms": 12000, "outcome": "FAILED"}])
        conn.execute(insert(assoc_reject).values(rejected_at=now, calling_ae="EVIL", called_ae="RAI",
                                                 address="10.0.0.9", reason="calling AE not recognised",
                                                 reason_code="CALLING_AE_NOT_RECOGNISED"))
        conn.execute(insert(report_state).values(exam_key="M1", state="PENDING", updated_at=now))
    m = _metrics(api)
    assert m[("rai_tasks", (("kind", "EXAM_PUSH"), ("status", "SCHEDULED")))] == 1
    assert m[("rai_tasks", (("kind", "EXAM_PUSH"), ("status", "FAILED")))] == 1
    assert m[("rai_task_oldest_pending_seconds", (("kind", "EXAM_PUSH"),))] >= 0
    # 40 ms, 700 ms, 12 s: cumulative buckets by hand
    bucket = {le: m[("rai_push_latency_seconds_bucket", (("le", le),))] for le in ("0.05", "0.5", "1.0", "10.0", "30.0", "+Inf")}
    assert bucket == {"0.05": 1, "0.5": 1, "1.0": 2, "10.0": 2, "30.0": 3, "+Inf": 3}
    assert m[("rai_push_latency_seconds_count", ())] == 3
    assert m[("rai_push_latency_seconds_sum", ())] == pytest.approx(12.74)
    assert m[("rai_association_rejections", (("reason", "CALLING_AE_NOT_RECOGNISED"),))] == 1
    assert m[("rai_sr_reports", (("state", "PENDING"),))] == 1
    assert m[("rai_storage_free_bytes", ())] > 0
    assert api.get("/metrics", auth=None).status_code == 401, "credentials needed (Prometheus: bearer_token)"


def _routes(app: Any) -> set[tuple[str, str]]:
    out = set()
    for route in app.routes:
        path = re.sub(r"<(\w+)(?::[^>]*)?>", r"{\1}", route.rule)
        out.add((route.method.lower(), path))
    return out


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_openapi_document_is_valid_and_names_exactly_the_routes(api: Api) -> None:
    validate_spec(SPEC)
    documented = {(method, path) for path, ops in SPEC["paths"].items() for method in ops}
    assert documented == _routes(make_app(api.ctx))
    served = api.get("/openapi.json", auth=None)
    assert served.status_code == 200 and served.json() == SPEC


def _schema_validator(schema: dict) -> jsonschema.protocols.Validator:
    registry = Registry().with_resource("urn:spec", Resource.from_contents({**SPEC, "$schema": "https://json-schema.org/draft/2020-12/schema"}))
    wrapped = json.loads(json.dumps(schema).replace('"#/components', '"urn:spec#/components'))
    return jsonschema.Draft202012Validator(wrapped, registry=registry)


def _values(schema: dict) -> list[str]:
    kind = schema.get("type")
    if "enum" in schema:
        return [schema["enum"][0], "NOPE", ""]
    if kind == "integer":
        lo, hi = schema.get("minimum", 0), schema.get("maximum", 10**6)
        return [str(lo), str(hi), str(lo - 1), str(hi + 1), "abc", "1.5", ""]
    if schema.get("format") == "date":
        return ["2026-11-20", "2026-02-30", "20261120", "yesterday", ""]
    return ["张", "zhang s", "", "x" * 65, "%", "'; DROP TABLE rai_task; --", "\u0000"]


def _battery() -> list[tuple[str, str, dict, dict]]:
    """(method, path template, query, path values) for every operation, from the document's schemas."""
    cases = []
    for path, ops in SPEC["paths"].items():
        for method, op in ops.items():
            params = op.get("parameters", [])
            queries = [{}] + [{p["name"]: v} for p in params if p["in"] == "query" for v in _values(p["schema"])]
            path_values = [{}]
            if "{" in path:
                path_values = [{p["name"]: v} for p in params if p["in"] == "path"
                               for v in (["R1", "张三", "..", "x" * 300, "0", "-1", "\u0000"] if p["schema"]["type"] == "string"
                                         else ["1", "0", "999999999"])]
            cases += [(method, path, qv, pv) for qv in queries for pv in path_values]
    return cases


@pytest.mark.parametrize("any_db", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_every_answer_is_documented_and_none_is_a_5xx(api: Api, any_db: Engine) -> None:
    add_exam(any_db, "R1", status="STARTED", name="张三")
    seen = 0
    for method, template, query, path_values in _battery():
        path = template
        for name, value in path_values.items():
            path = path.replace("{" + name + "}", quote(value, safe=""))
        op = SPEC["paths"][template][method]
        for auth in (VIEWER, OPERATOR, None):
            if method == "post":
                resp = api.post(path, auth=auth, params=query, json={"name": "viewer", "password": "x"}
                                if template == "/login" else None)
            else:
                resp = api.get(path, auth=auth, params=query)
            seen += 1
            where = f"{method.upper()} {path} {query} as {auth and auth[0]}"
            assert resp.status_code < 500, f"{where}: {resp.status_code} {resp.text[:200]}"
            documented = op["responses"].get(str(resp.status_code))
            assert documented is not None, f"{where}: {resp.status_code} is not in the document"
            content = documented.get("content", {})
            ctype = resp.headers.get("Content-Type", "").split(";")[0]
            assert ctype in content or not content, f"{where}: {ctype} not documented"
            if ctype == "application/json":
                errors = list(_schema_validator(content[ctype]["schema"]).iter_errors(resp.json()))
                assert not errors, f"{where}: {errors[0].message}"
    assert seen > 300
