"""The demo configuration's [dicom] and [storage] sections (``init-demo`` includes them)."""

from __future__ import annotations


def demo_config_section(dicom_port: int, http_port: int) -> str:
    return f'''[dicom]
# Demo SCP: AE RIS_AI on port {dicom_port}, accepting the AI host stand-in DEMO_AI from this machine only.
# 演示：本机 AE 为 RIS_AI，只接受来自本机、AE 为 DEMO_AI 的发送方。
enabled = true
ae_title = "RIS_AI"
host = "127.0.0.1"
port = {dicom_port}

[[dicom.peers]]
name = "demo-ai"
ae_title = "DEMO_AI"
addresses = ["127.0.0.1"]
# The demo AI host has no SCP of its own: not echoed.  演示 AI 主机没有 SCP，不做 C-ECHO。
host = ""

[storage]
root = "storage"
min_free = "100MB"
'''
