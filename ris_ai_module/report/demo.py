"""The ``[report]`` section of the demo configuration (``init-demo``): the demo RIS's report tables."""

from __future__ import annotations


def demo_config_section(dicom_port: int, http_port: int) -> str:
    """TOML text; the demo RIS has RIS_REPORT (DRAFT/SIGNED), the key/value table RIS_REPORT_MEASURE and the key
    image table RIS_REPORT_IMAGE."""
    return '''[report]
# 测量值写入演示 RIS：键值表 RIS_REPORT_MEASURE + 报告"检查所见"(FINDINGS) 中的标记区块；只写草稿报告。
# Measurements go to RIS_REPORT_MEASURE and a marked block of RIS_REPORT.FINDINGS; DRAFT reports only.
targets = ["rows", "text", "images"]
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

[report.images]
# 典型图像：AI 的图像写入 RIS_REPORT_IMAGE，JPEG 写入 images/<检查号>/<SOP Instance UID>.jpg。
# Key images: one row per image in RIS_REPORT_IMAGE, a JPEG in images/<exam key>/<SOP Instance UID>.jpg.
table = "RIS_REPORT_IMAGE"
jpeg_folder = "images"
'''
