"""``init-demo --archive AET@HOST:PORT``: the demo forwards every stored object to that archive."""

from __future__ import annotations

import json

from ris_ai_module.errors import InvalidInput


def demo_section(text: str) -> str:
    """The ``[archive]`` section for the demo config (empty when the option is not given)."""
    if not text:
        return ""
    aet, sep, address = text.partition("@")
    host, colon, port = address.rpartition(":")
    if not sep or not aet or len(aet) > 16 or not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidInput("--archive", f"expected AET@HOST:PORT (e.g. PACS@127.0.0.1:11113), got {text!r}")
    return ("\n[archive]\n# 收到的对象经 C-STORE 转发到 PACS 归档。 Every stored object is forwarded to the archive.\n"
            f"ae_title = {json.dumps(aet)}\nhost = {json.dumps(host.strip('[]'))}\nport = {int(port)}\n")
