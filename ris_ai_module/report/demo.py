"""The ``[report]`` section of the demo configuration (``init-demo``): the demo RIS's report tables."""

from __future__ import annotations


def demo_config_section(dicom_port: int, http_port: int) -> str:
    """TOML text; the demo RIS has RIS_REPORT (DRAFT/SIGNED) and the key/value table RIS_REPORT_MEASURE."""
    return '''[report]
# 测量值写入演示 RIS：键值表 RIS_REPORT_MEASURE + 报告"检查所见"(FINDINGS) 中的标记区块；只写草稿报告。
# Measurements go to RIS_REPORT_MEASURE and a marked block of RIS_REPORT.FINDINGS; DRAFT reports only.
targets = ["rows", "text"]
table = "RIS_REPORT"
exam_id_column = "EXAM_ID"
status_column = "REPORT_STATUS"
writable_statuses = ["DRAFT"]
create_if_missing = true
pending_check_interval = "10s"

[report.rows]
table = "RIS_REPORT_MEASURE"

[report.text]
column = "FINDINGS"
'''
