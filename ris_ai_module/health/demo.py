"""The [health] and [alerts] part of the demo configuration (``ris-ai-module init-demo``)."""

from __future__ import annotations


def demo_config_section(dicom_port: int, http_port: int) -> str:
    """Checks every minute, the self-check of the demo SCP, reports written to DIR/reports (no e-mail)."""
    return '''[health]
# 健康检查与每日运维报告（演示：只写文件，不发邮件）。 Health checks and the daily IT report (files only).
echo_interval = "60s"
self_check = true
queue_max_age = "10m"
report_time = "07:30"
report_folder = "reports"

[alerts]
# 演示只写日志；配置 [alerts.smtp] 或 [[alerts.webhooks]] 后发送告警。 Log only in the demo.
fail_threshold = 3
throttle = "15m"
'''
