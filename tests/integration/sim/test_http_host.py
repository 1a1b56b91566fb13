"""The simulator's exam endpoint over real HTTP: schema check with the field named, one exam per
Idempotency-Key, and the misbehaviour switches (fixed status, failure share, delay, hang)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import requests

from ris_ai_module.sim.http_host import AiHostHttp

BODY = {
    "patientName": "张三", "patientId": "P000123", "sex": "M", "birthDate": "1968-03-14",
    "accessionNumber": "A1", "studyDate": "2026-12-02T10:15:00", "studyDescription": "超声心动图",
    "studyInstanceUid": "2.25.42", "examItems": "心脏彩超", "modality": "US", "examKey": "E0001",
}


@pytest.fixture
def host() -> Iterator[AiHostHttp]:
    seen: list[tuple[dict, str]] = []
    server = AiHostHttp(on_exam=lambda body, key: seen.append((body, key))).start()
    server.state.validate = True
    server.seen = seen  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        server.stop()


def _post(server: AiHostHttp, body: object, key: str = "k-1", timeout: float = 5) -> requests.Response:
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if key:
        headers["Idempotency-Key"] = key
    return requests.post(f"http://127.0.0.1:{server.port}/api/exams", timeout=timeout, headers=headers,
                         data=json.dumps(body, ensure_ascii=False).encode("utf-8"))


def test_a_valid_push_is_one_exam_however_often_it_is_repeated(host: AiHostHttp) -> None:
    first = _post(host, BODY)
    again = _post(host, BODY)
    assert first.status_code == again.status_code == 200
    assert first.json()["duplicate"] is False and again.json()["duplicate"] is True
    assert [(b["examKey"], k) for b, k in host.seen] == [("E0001", "k-1")]  # type: ignore[attr-defined]
    assert host.state.unique_keys() == 1 and host.state.duplicates() == 1


def test_a_bad_body_is_refused_with_the_field_named(host: AiHostHttp) -> None:
    bad = dict(BODY, studyInstanceUid="not-a-uid")
    del bad["patientId"]
    resp = _post(host, bad)
    assert resp.status_code == 400
    assert {p["field"] for p in resp.json()["problems"]} == {"studyInstanceUid", "patientId"}
    no_key = _post(host, BODY, key="")
    assert no_key.status_code == 400 and no_key.json()["field"] == "Idempotency-Key"
    assert host.seen == []  # type: ignore[attr-defined]


def test_status_and_failure_share_and_delay(host: AiHostHttp) -> None:
    host.state.status = 500
    assert _post(host, BODY, "k-500").status_code == 500
    host.state.status, host.state.fail_rate, host.state.fail_status = 200, 0.5, 503
    codes = [_post(host, dict(BODY, examKey=f"E{n}"), f"k-{n}").status_code for n in range(40)]
    assert set(codes) == {200, 503} and 8 <= codes.count(503) <= 32
    host.state.fail_rate, host.state.delay = 0.0, 0.4
    started = time.monotonic()
    assert _post(host, BODY, "k-slow").status_code == 200
    assert time.monotonic() - started >= 0.4


def test_hang_accepts_and_never_answers(host: AiHostHttp) -> None:
    host.state.hang = True
    with pytest.raises(requests.exceptions.ReadTimeout):
        _post(host, BODY, "k-hang", timeout=0.5)


def test_a_sites_renamed_fields_validate_once_mapped_back(host: AiHostHttp) -> None:
    host.state.renames = {"patientName": "name", "accessionNumber": "accNo"}
    host.state.constants = {"hospitalCode": "H0001"}
    vendor = {("name" if k == "patientName" else "accNo" if k == "accessionNumber" else k): v for k, v in BODY.items()}
    vendor["hospitalCode"] = "H0001"
    assert _post(host, vendor, "k-vendor").status_code == 200
    assert host.seen[-1][0]["patientName"] == "张三"  # type: ignore[attr-defined]
    del vendor["accNo"]
    resp = _post(host, vendor, "k-vendor-2")
    assert resp.status_code == 400 and resp.json()["field"] == "accNo"  # the site's own name for it


def test_a_client_that_resets_the_connection_leaves_no_traceback(host: AiHostHttp,
                                                                 capfd: pytest.CaptureFixture[str]) -> None:
    """The demo prints the simulator's stderr to the newcomer: a probe that hangs up is not a crash."""
    import socket
    import struct

    for _ in range(3):
        probe = socket.create_connection(("127.0.0.1", host.port), timeout=5)
        probe.sendall(b"GET /api/ex")  # half a request line, then a reset (RST, not FIN)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        probe.close()
    time.sleep(0.3)
    assert _post(host, BODY).status_code == 200  # still serving
    err = capfd.readouterr().err
    assert "Traceback" not in err and "ConnectionResetError" not in err
