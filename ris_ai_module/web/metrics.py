"""``GET /metrics``: the module's state in the Prometheus text format (prometheus-client).

Read from the database at scrape time, so that every instance on one database answers the same figures and
a restart loses nothing: the figures are the rows' counts (gauges), and the push latency histogram counts
every recorded attempt still in RAI_TASK_ATTEMPT (the queue's purge lowers it, which Prometheus reads as
a counter reset). C-STORE answers (every status, with the handling time) and refused presentation contexts
are the counts the SCP adds to RAI_CSTORE_STAT / RAI_CONTEXT_REJECT_STAT about once a second
(``dicom/stats.py``); rejected associations are RAI_ASSOC_REJECT's rows, by their A-ASSOCIATE-RJ reason, plus the
connections closed at accept (RAI_REFUSAL_STAT, counted the same way as the C-STORE answers).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, exposition, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from sqlalchemy import case, func, select
from sqlalchemy.engine import Engine

from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.engine import read_only
from ris_ai_module.db.tables import (
    assoc_reject,
    context_reject_stat,
    cstore_stat,
    dicom_object,
    refusal_stat,
    report_state,
    task,
    task_attempt,
)
from ris_ai_module.dicom.stats import BUCKETS_MS
from ris_ai_module.dicom.storage import StorageArea
from ris_ai_module.health.current import DOWN, current_checks

#: Push latency buckets, seconds.
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
PENDING = ("SCHEDULED", "IN_PROCESS")


class ModuleCollector:
    def __init__(self, engine: Engine, storage_root: str, current_targets: frozenset[str] | None = None,
                 fail_threshold: int = 1, storage_area: StorageArea | None = None) -> None:
        self.engine = engine
        self.storage_root = storage_root
        #: The area with its watermark (``[storage]``); None: the watermark gauges are not exported.
        self.storage_area = storage_area
        self.current_targets = current_targets
        self.fail_threshold = fail_threshold

    def describe(self) -> list[Metric]:
        return []  # no describe-time query: collect() runs only on a scrape

    def collect(self) -> Iterator[Metric]:
        with read_only(self.engine) as conn:  # a scrape: not behind the write lock
            tasks = GaugeMetricFamily("rai_tasks", "Tasks in RAI_TASK by kind and status", labels=["kind", "status"])
            for kind, status, n in conn.execute(select(task.c.kind, task.c.status, func.count())
                                                .group_by(task.c.kind, task.c.status)):
                tasks.add_metric([kind, status], int(n))
            yield tasks

            oldest = GaugeMetricFamily("rai_task_oldest_pending_seconds",
                                       "Age of the oldest SCHEDULED or IN_PROCESS task, by kind", labels=["kind"])
            for kind, first in conn.execute(select(task.c.kind, func.min(task.c.created_at))
                                            .where(task.c.status.in_(PENDING)).group_by(task.c.kind)):
                oldest.add_metric([kind], max(0.0, (utcnow() - _dt(first)).total_seconds()) if first else 0.0)
            yield oldest

            latency = task_attempt.c.latency_ms
            cols = [func.sum(case((latency <= int(b * 1000), 1), else_=0)) for b in BUCKETS]
            row = conn.execute(select(*cols, func.count(), func.sum(latency))
                               .select_from(task_attempt.join(task, task.c.task_id == task_attempt.c.task_id))
                               .where(task.c.kind == "EXAM_PUSH", latency.is_not(None))).one()
            push = HistogramMetricFamily("rai_push_latency_seconds", "Exam push attempts by HTTP round-trip time")
            buckets = [(str(b), int(n or 0)) for b, n in zip(BUCKETS, row[:len(BUCKETS)], strict=True)]
            push.add_metric([], buckets + [("+Inf", int(row[-2] or 0))], sum_value=float(row[-1] or 0) / 1000)
            yield push

            objects = GaugeMetricFamily("rai_objects_received", "DICOM objects stored (C-STORE success or import), "
                                        "by SOP class and source", labels=["sop_class", "source"])
            for sop, source, n in conn.execute(select(dicom_object.c.sop_class_uid, dicom_object.c.source, func.count())
                                               .group_by(dicom_object.c.sop_class_uid, dicom_object.c.source)):
                objects.add_metric([sop, source], int(n))
            yield objects

            yield _cstore(conn)

            refused = CounterMetricFamily("rai_sop_class_refused", "Accepted associations that proposed an SOP "
                                          "class and got no presentation context for it, by SOP class and PS3.8 "
                                          "result (3 abstract syntax, 4 transfer syntaxes not supported)",
                                          labels=["sop_class", "result"])
            c = context_reject_stat
            for sop, result, n in conn.execute(select(c.c.sop_class_uid, c.c.result, c.c.events)):
                refused.add_metric([sop, str(result)], float(n))
            yield refused

            rejects = GaugeMetricFamily("rai_association_rejections", "Associations the SCP rejected, by reason: "
                                        "the A-ASSOCIATE-RJ reason (rows of RAI_ASSOC_REJECT), or a connection "
                                        "closed at accept before any byte was read (ADDRESS_NOT_ALLOWED: no peer's "
                                        "whitelist admits the address; HANDSHAKE_LIMIT: dicom.max_handshakes, "
                                        "RAI_REFUSAL_STAT)", labels=["reason"])
            code = func.coalesce(assoc_reject.c.reason_code, "UNKNOWN")
            by_reason: dict[str, int] = {}
            for reason, n in conn.execute(select(code, func.count()).group_by(code)):
                by_reason[str(reason)] = by_reason.get(str(reason), 0) + int(n)
            for reason, n in conn.execute(select(refusal_stat.c.reason_code, refusal_stat.c.events)):
                by_reason[str(reason)] = by_reason.get(str(reason), 0) + int(n)
            for reason, n in sorted(by_reason.items()):
                rejects.add_metric([reason], n)
            yield rejects

            reports = GaugeMetricFamily("rai_sr_reports", "Exams by report state (APPLIED, PENDING, REVIEW, FAILED)",
                                        labels=["state"])
            for state, n in conn.execute(select(report_state.c.state, func.count()).group_by(report_state.c.state)):
                reports.add_metric([state], int(n))
            yield reports

            checks = GaugeMetricFamily("rai_check_up", "Each configured check target: 0 once DOWN (alerts.fail_threshold "
                                       "failures in a row), else 1", labels=["target", "kind"])
            failing = GaugeMetricFamily("rai_check_failures_in_a_row", "Failed checks since the target's last success",
                                        labels=["target", "kind"])
            for c in current_checks(conn, self.fail_threshold, self.current_targets):
                checks.add_metric([c["target"], c["kind"]], 0.0 if c["state"] == DOWN else 1.0)
                failing.add_metric([c["target"], c["kind"]], float(c["failures_in_a_row"]))
            yield checks
            yield failing

        disk = GaugeMetricFamily("rai_storage_free_bytes", "Free space where received objects are stored")
        try:
            disk.add_metric([], float(shutil.disk_usage(self.storage_root).free))
        except OSError:
            disk.add_metric([], float("nan"))
        yield disk
        if self.storage_area is not None:
            space = self.storage_area.space()
            mark = GaugeMetricFamily("rai_storage_watermark_bytes", "Free space below which new DICOM associations "
                                     "are refused (storage.watermark_free / watermark_percent; 0 = off)")
            mark.add_metric([], float(space.watermark))
            yield mark
            accepting = GaugeMetricFamily("rai_dicom_accepting_associations", "1 while the SCP accepts new "
                                          "associations, 0 while storage is below the watermark (A-ASSOCIATE-RJ transient)")
            accepting.add_metric([], 1.0 if space.refusing is None else 0.0)
            yield accepting


def _cstore(conn: Any) -> HistogramMetricFamily:
    """C-STORE handling time (complete data set to answer) by SOP class and DIMSE status, from the bucket rows."""
    family = HistogramMetricFamily("rai_cstore_handling_seconds", "C-STORE requests answered by the SCP, by the "
                                   "context's SOP class and the DIMSE status sent, by handling time",
                                   labels=["sop_class", "status"])
    s = cstore_stat
    series: dict[tuple[str, int], dict[int, int]] = {}
    sums: dict[tuple[str, int], float] = {}
    for sop, status, le, n, ms in conn.execute(select(s.c.sop_class_uid, s.c.status, s.c.le_ms, s.c.events, s.c.sum_ms)):
        key = (sop, int(status))
        series.setdefault(key, {})[int(le)] = series.get(key, {}).get(int(le), 0) + int(n)
        sums[key] = sums.get(key, 0.0) + float(ms)
    for (sop, status), counts in sorted(series.items()):
        buckets, total = [], 0
        for bound in BUCKETS_MS:  # a row of an older bound counts in the next
            total = sum(n for le, n in counts.items() if le <= bound)
            buckets.append((str(bound / 1000), total))
        buckets.append(("+Inf", sum(counts.values())))
        family.add_metric([sop, f"0x{status:04X}"], buckets, sum_value=sums[(sop, status)] / 1000)
    return family


def _dt(value: Any) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def render(collector: ModuleCollector) -> tuple[bytes, str]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)  # type: ignore[arg-type]
    # the classic text format (0.0.4) every Prometheus server and agent reads
    return generate_latest(registry), getattr(exposition, "CONTENT_TYPE_PLAIN_0_0_4", exposition.CONTENT_TYPE_LATEST)
