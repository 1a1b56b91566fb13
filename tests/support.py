"""Small helpers shared by tests: free loopback ports, bounded waits, required real peers."""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Callable

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def missing_peer(reason: str) -> None:
    """A real peer is missing: fail under CI=true, skip on a developer machine."""
    if IN_CI:
        pytest.fail(f"required peer missing in CI: {reason}")
    pytest.skip(reason)


#: pynetdicom installs console scripts with these DCMTK names; only the real DCMTK tool counts.
DCMTK_NAMES = frozenset({"storescu", "echoscu", "storescp", "findscu", "getscu", "movescu"})


def require_tool(name: str) -> str:
    if name in DCMTK_NAMES:
        from tests.integration.dicom.dcmtk import tool

        return tool(name)
    path = shutil.which(name)
    if path is None:
        missing_peer(f"{name} not installed")
    return path or name


def as_patient(ds, patient_id: str, patient_name: str):  # type: ignore[no-untyped-def]
    """A test object made out for the exam's own patient (the patient check links nothing else)."""
    ds.PatientID = patient_id
    ds.PatientName = patient_name
    ds.SpecificCharacterSet = "ISO_IR 192"
    return ds


#: The demo RIS's first exam (ris_ai_module/demo.py DEMO_EXAMS): E0001 is 张三, P000123.
DEMO_E0001 = ("P000123", "张三")


def client_cert(tmp, ca):
    """A client certificate and key signed by the test CA at ``ca`` (its key beside it as ``ca.key``), as a
    hospital's PKI issues one to the module for a mutual-TLS peer."""
    import subprocess

    key, csr, crt = tmp / "c.key", tmp / "c.csr", tmp / "c.crt"
    for args in (["req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
                  "-subj", "/CN=ris-ai-module"],
                 ["x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca.parent / "ca.key"),
                  "-CAcreateserial", "-out", str(crt), "-days", "2"]):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)
    return crt, key
