"""The daily report's HTML is built by an autoescaping template: markup in a peer name, an AE title, an
error text or the hospital name reaches IT's mail client as text, never as markup."""

from __future__ import annotations

from datetime import datetime
from html.parser import HTMLParser

from ris_ai_module.health.render import render
from ris_ai_module.health.report import FailureRun, RejectStats, ReportData, TargetStats

EVIL = '<script>alert("x")</script>'


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _data() -> ReportData:
    run = FailureRun(datetime(2026, 11, 27, 3, 0), datetime(2026, 11, 27, 3, 5), 5, f"refused {EVIL}")
    return ReportData(
        hospital=f"某医院{EVIL}", instance="ris-1", since=datetime(2026, 11, 27), until=datetime(2026, 11, 28),
        generated_at=datetime(2026, 11, 28, 7, 0),
        peers=[TargetStats(f"PACS{EVIL}", "ECHO", 100, 95, 3.2, 12.5, [run], False, "x", state="DOWN", failures_in_a_row=5)],
        others=[TargetStats("disk:/data", "DISK", 4, 4, None, None, [], True, f"free {EVIL}")],
        exams={"pushed": 3}, objects={"received": 2}, reports={"applied": 1},
        rejects=[RejectStats(f"AE{EVIL}", "10.0.0.1", 3, datetime(2026, 11, 27, 5, 0), "calling AE title not recognised")],
    )


def test_markup_in_names_and_errors_is_text_in_the_html_report() -> None:
    html = render(_data(), "html")
    parser = _Collect()
    parser.feed(html)
    assert "script" not in parser.tags, "a peer name became a script element"
    text = "".join(parser.text)
    for shown in (f"PACS{EVIL}", f"AE{EVIL}", f"refused {EVIL}", f"某医院{EVIL}", f"free {EVIL}"):
        assert shown in text, shown
    assert "&lt;script&gt;" in html
    assert "<span class=\"bad\">异常 DOWN</span>" in html, "the template's own markup stays markup"


def test_text_report_shows_names_as_they_are() -> None:
    text = render(_data(), "text")
    assert f"PACS{EVIL}" in text and "&lt;" not in text
