"""``init-demo --archive AET@HOST:PORT``: the demo forwards every stored object to that archive."""

from __future__ import annotations

import json

from ris_ai_module.dicom.archive_section import is_ip
from ris_ai_module.errors import InvalidInput


def demo_section(text: str, commitment: bool = False) -> str:
    """The ``[archive]`` section for the demo config (empty when the option is not given); with
    ``commitment`` (``--archive-commitment``) the archive is also asked for Storage Commitment."""
    if not text:
        if commitment:
            raise InvalidInput("--archive-commitment", "needs --archive AET@HOST:PORT")
        return ""
    aet, sep, address = text.partition("@")
    host, colon, port = address.rpartition(":")
    if not sep or not aet or len(aet) > 16 or not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidInput("--archive", f"expected AET@HOST:PORT (e.g. PACS@127.0.0.1:11113), got {text!r}")
    if commitment and not is_ip(host.strip("[]")):
        raise InvalidInput("--archive", f"--archive-commitment needs the archive's IP address (its reports come from "
                                        f"there), got {host!r}")
    return ("\n[archive]\n# 收到的对象经 C-STORE 转发到 PACS 归档。 Every stored object is forwarded to the archive.\n"
            f"ae_title = {json.dumps(aet)}\nhost = {json.dumps(host.strip('[]'))}\nport = {int(port)}\n"
            + ("\n[archive.commitment]\n# 转发后请求归档存储确认（Storage Commitment）。 Ask the archive to commit to each object.\n"
               "enabled = true\n" if commitment else ""))
