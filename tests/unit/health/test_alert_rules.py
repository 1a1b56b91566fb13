"""The alert state machine without a database: when IT hears about a target, and how often."""

from __future__ import annotations

from datetime import datetime, timedelta

from ris_ai_module.health.alerts import DOWN, UP, TargetState, alert_for, due, step

T0 = datetime(2026, 11, 27, 8, 0, 0)
THROTTLE = 900.0


def feed(st: TargetState, outcomes: str, start: datetime = T0, every: float = 60, threshold: int = 3,
         sent: list | None = None) -> TargetState:
    """Apply 'x' (failure) / '.' (success) one per minute; announce what is due, as the engine does."""
    now = start
    for c in outcomes:
        st = step(st, c == ".", None if c == "." else "refused", threshold, now)
        if due(st, THROTTLE, now):
            if sent is not None:
                sent.append((alert_for(st, now).event, now))
            st = TargetState(**{**st.__dict__, "sent_state": st.state, "sent_at": now, "changes": 0})
        now += timedelta(seconds=every)
    return st


def test_down_only_after_n_consecutive_failures() -> None:
    sent: list = []
    st = feed(TargetState("PACS", "ECHO"), "xx.xx", sent=sent)
    assert st.state == UP and sent == []
    st = feed(st, "x", sent=sent)
    assert st.state == DOWN and [e for e, _ in sent] == ["DOWN"]


def test_recovered_on_the_next_success_and_each_change_sent_once() -> None:
    sent: list = []
    st = feed(TargetState("PACS", "ECHO"), "xxxxxx.....", sent=sent)
    assert st.state == UP
    assert [e for e, _ in sent] == ["DOWN", "RECOVERED"]
    assert sent[0][1] == T0 + timedelta(minutes=2)  # third failure
    assert sent[1][1] == T0 + timedelta(minutes=6)  # first success


def test_flapping_link_is_throttled_and_ends_announced() -> None:
    sent: list = []
    # fail threshold 1: DOWN/UP every minute for 20 minutes, then down for good
    st = feed(TargetState("AI", "HTTP"), "x." * 10 + "x" * 20, threshold=1, sent=sent)
    events = [e for e, _ in sent]
    assert st.state == DOWN and events[-1] == "DOWN"
    downs = [t for e, t in sent if e == "DOWN"]
    assert all((b - a).total_seconds() >= THROTTLE for a, b in zip(downs, downs[1:], strict=False))
    times = [t for _, t in sent]
    assert all(sum(1 for u in times if t <= u < t + timedelta(seconds=THROTTLE)) <= 2 for t in times)
    assert len(sent) == 5  # instead of 21 messages over 30 minutes


def test_collapsed_changes_are_counted_in_the_next_message() -> None:
    st = TargetState("AI", "HTTP", sent_state=DOWN, state=DOWN, sent_at=T0)
    st = step(st, True, None, 1, T0 + timedelta(minutes=1))
    assert due(st, THROTTLE, T0 + timedelta(minutes=1))  # recovery: at once
    down_again = step(TargetState(**{**st.__dict__, "sent_state": UP, "sent_at": T0 + timedelta(minutes=1),
                                     "changes": 0}), False, "timeout", 1, T0 + timedelta(minutes=2))
    assert not due(down_again, THROTTLE, T0 + timedelta(minutes=2))
    flapped = step(step(down_again, True, None, 1, T0 + timedelta(minutes=3)), False, "timeout", 1,
                   T0 + timedelta(minutes=4))
    later = T0 + timedelta(minutes=17)
    assert due(flapped, THROTTLE, later)
    assert alert_for(flapped, later).changes == 3
