"""One current value per measurement, from all the SRs of one exam.

* A revision (an SR whose Predecessor Documents Sequence names an earlier one) replaces its predecessor
  wholly: none of the predecessor's values is current, so a value the correction removed leaves the report.
* Unrelated SRs (a second AI run, echo plus carotid in one visit) merge per report key: for each key the
  newest SR is the source. Newest means, between SRs of one source device, later Content Date/Time, then
  later Instance Creation Date/Time, then later arrival; between different devices (whose clocks may be
  skewed) later arrival only. Keys only one SR has are never erased by another.

Pure functions: the caller reads the SRs and writes the result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ris_ai_module.report.display import ReportItem


@dataclass(frozen=True)
class Source:
    """What orders one SR among the exam's SRs."""

    sop_instance_uid: str
    received_at: datetime
    device_key: str = ""
    content_at: datetime | None = None
    instance_at: datetime | None = None
    predecessors: tuple[str, ...] = ()


def newer(a: Source, b: Source) -> bool:
    """Is ``a`` newer than ``b``? Device clocks are compared only within one device."""
    if a.device_key and a.device_key == b.device_key:
        for x, y in ((a.content_at, b.content_at), (a.instance_at, b.instance_at)):
            if x is not None and y is not None and x != y:
                return x > y
    if a.received_at != b.received_at:
        return a.received_at > b.received_at
    return a.sop_instance_uid > b.sop_instance_uid  # deterministic, whatever order they are read in


@dataclass
class Resolution:
    items: list[ReportItem] = field(default_factory=list)
    #: report key -> the SR it comes from.
    winner_of: dict[str, str] = field(default_factory=dict)
    #: SR -> the revision that replaced it wholly.
    revised_by: dict[str, str] = field(default_factory=dict)

    def superseded_by(self, sop_uid: str, report_key: str | None) -> str | None:
        """The SR whose value replaced this SR's value of ``report_key`` (None: current or not reported)."""
        if sop_uid in self.revised_by:
            return self.revised_by[sop_uid]
        if report_key is None:
            return None
        winner = self.winner_of.get(report_key)
        return winner if winner is not None and winner != sop_uid else None


def revisions(sources: Iterable[Source]) -> dict[str, str]:
    """SR -> the SR of this exam that names it as predecessor (newest such revision)."""
    out: dict[str, Source] = {}
    for s in sources:
        for old in s.predecessors:
            if old != s.sop_instance_uid and (old not in out or newer(s, out[old])):
                out[old] = s
    return {old: s.sop_instance_uid for old, s in out.items()}


def resolve(sources: Sequence[Source], items_by_sr: Mapping[str, Sequence[ReportItem]]) -> Resolution:
    """The exam's current items: per key the newest SR's item, revised SRs left out."""
    res = Resolution(revised_by=revisions(sources))
    best: dict[str, tuple[Source, ReportItem]] = {}  # insertion order: the order keys were first met
    for source in sorted(sources, key=lambda s: (s.received_at, s.sop_instance_uid)):
        if source.sop_instance_uid in res.revised_by:
            continue
        for item in items_by_sr.get(source.sop_instance_uid, ()):
            held = best.get(item.key)
            if held is None or newer(source, held[0]):
                best[item.key] = (source, item)
    for key, (source, item) in best.items():
        res.items.append(item)
        res.winner_of[key] = source.sop_instance_uid
    return res


def newest(sources: Sequence[Source], res: Resolution) -> str | None:
    """The newest SR not revised by another: what RAI_REPORT_STATE names as the SR applied."""
    best: Source | None = None
    for s in sources:
        if s.sop_instance_uid not in res.revised_by and (best is None or newer(s, best)):
            best = s
    return best.sop_instance_uid if best else None
