"""The demo's [http] section: the API on loopback with one operator account demo / demo."""

from __future__ import annotations

from ris_ai_module.web.auth import hash_password


def demo_config_section(dicom_port: int, http_port: int) -> str:
    return f'''[http]
# 演示：HTTP 接口与状态页 http://127.0.0.1:{http_port}/ ，账号 demo / 密码 demo（仅供演示，正式环境务必更换）。
# Demo: API and status page on http://127.0.0.1:{http_port}/ with user demo, password demo. DEMO ONLY:
# replace the account (ris-ai-module hash-password) before any real use.
enabled = true
host = "127.0.0.1"
port = {http_port}

[[http.users]]
name = "demo"
password_hash = "{hash_password('demo', iterations=100_000)}"
role = "operator"
'''
