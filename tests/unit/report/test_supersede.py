"""Which SR's value is current, per key (issue 9): revisions replace wholly; unrelated SRs merge per key;
device clocks are compared within one device only."""

from __future__ import annotations

from datetime import datetime

from ris_ai_module.report.display import ReportItem
from ris_ai_module.report.supersede import Source, newer, newest, resolve

T0 = datetime(2026, 11, 27, 9, 0)


def item(key: str, value: str, sop: str) -> ReportItem:
    return ReportItem(key, key, key, float(value), "%", value, "%", sop, key)


def src(sop: str, arrived_min: int, device: str = "V|M|1", content_min: int | None = None,
        predecessors: tuple[str, ...] = ()) -> Source:
    content = None if content_min is None else datetime(2026, 11, 27, 8, content_min)
    return Source(sop, datetime(2026, 11, 27, 9, arrived_min), device, content, None, predecessors)


def test_same_device_content_time_decides_whatever_the_arrival_order() -> None:
    late_but_older = src("A", arrived_min=5, content_min=10)
    early_but_newer = src("B", arrived_min=1, content_min=30)
    assert newer(early_but_newer, late_but_older) and not newer(late_but_older, early_but_newer)


def test_different_devices_are_ordered_by_arrival_only() -> None:
    a = src("A", arrived_min=5, device="V|M|1", content_min=10)
    b = src("B", arrived_min=1, device="W|X|2", content_min=50)  # its clock says later, but it came first
    assert newer(a, b)


def test_unrelated_srs_merge_per_key_and_keep_each_others_keys() -> None:
    echo = src("ECHO", 1, content_min=10)
    rerun = src("RERUN", 2, content_min=20)
    carotid = src("CAROTID", 3, content_min=15)
    res = resolve([echo, rerun, carotid], {
        "ECHO": [item("LVEF", "60", "ECHO"), item("LVIDd", "47", "ECHO")],
        "RERUN": [item("LVEF", "55", "RERUN")],
        "CAROTID": [item("ICA_PSV", "70", "CAROTID")],
    })
    assert {i.key: i.display_value for i in res.items} == {"LVEF": "55", "LVIDd": "47", "ICA_PSV": "70"}
    assert res.superseded_by("ECHO", "LVEF") == "RERUN"
    assert res.superseded_by("ECHO", "LVIDd") is None and res.superseded_by("RERUN", "LVEF") is None
    assert newest([echo, rerun, carotid], res) == "RERUN"  # latest content time on this device


def test_a_revision_replaces_its_predecessor_wholly() -> None:
    first = src("FIRST", 1, content_min=10)
    fix = src("FIX", 2, content_min=20, predecessors=("FIRST",))
    res = resolve([fix, first], {
        "FIRST": [item("LVEF", "60", "FIRST"), item("MV_E", "81", "FIRST")],
        "FIX": [item("LVEF", "62", "FIX")],
    })
    assert [(i.key, i.display_value) for i in res.items] == [("LVEF", "62")]  # MV_E removed by the correction
    assert res.superseded_by("FIRST", "MV_E") == "FIX" and res.superseded_by("FIRST", None) == "FIX"
    assert res.revised_by == {"FIRST": "FIX"}
