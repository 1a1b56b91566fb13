"""``init-demo --outbox DIR --hl7 HOST:PORT``: the demo's [outbox] and [hl7] sections, switched on."""

from __future__ import annotations

import json
from pathlib import Path

from ris_ai_module.errors import InvalidInput


def parse_host_port(text: str, option: str = "--hl7") -> tuple[str, int]:
    """``127.0.0.1:2575`` -> (host, port); InvalidInput naming the option otherwise."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidInput(option, f"expected HOST:PORT (e.g. 127.0.0.1:2575), got {text!r}")
    return host.strip("[]"), int(port)


def demo_sections(outbox: str = "", hl7: str = "") -> str:
    """The sections to append to the demo config (empty when neither option is given)."""
    out = ""
    if outbox:
        folder = Path(outbox).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        out += ("\n[outbox]\n# 结果文件输出目录（JSON/CSV/XML，按检查号命名）。 The exam results as files.\n"
                f"folder = {json.dumps(str(folder), ensure_ascii=False)}\n")
    if hl7:
        host, port = parse_host_port(hl7)
        out += ("\n[hl7]\n# HL7 ORU^R01 结果消息经 MLLP 发往集成平台。 ORU^R01 over MLLP to the integration platform.\n"
                f"host = {json.dumps(host)}\nport = {port}\ncharset = \"utf-8\"\n"
                "\n[hl7.reference_ranges]\nLVEF = \"50-70\"\n")
    return out
