"""Retry policy and HTTP classification are pure: tested with no clock and no network."""

from __future__ import annotations

import pytest

from ris_ai_module.push.client import classify
from ris_ai_module.tasks.retry import RetryPolicy


def test_backoff_doubles_from_30s_to_a_10_minute_cap_then_gives_up() -> None:
    policy = RetryPolicy(initial=30, multiplier=2, max_delay=600, max_attempts=8)
    delays = [policy.next_delay(n) for n in range(1, 9)]
    assert delays == [30, 60, 120, 240, 480, 600, 600, None]


def test_single_attempt_policy_fails_at_once() -> None:
    assert RetryPolicy(max_attempts=1).next_delay(1) is None


@pytest.mark.parametrize(
    ("status", "verdict"),
    [(200, "DONE"), (201, "DONE"), (202, "DONE"), (204, "DONE"),
     (408, "RETRY"), (429, "RETRY"), (500, "RETRY"), (502, "RETRY"), (503, "RETRY"), (504, "RETRY"), (599, "RETRY"),
     (400, "FAILED"), (401, "FAILED"), (403, "FAILED"), (404, "FAILED"), (409, "FAILED"), (422, "FAILED"),
     (301, "FAILED")],
)
def test_http_status_classes(status: int, verdict: str) -> None:
    assert classify(status) == verdict
