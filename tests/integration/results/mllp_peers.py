"""MLLP listeners on loopback written with hl7apy's MLLPServer: one that ACKs AA, one that NAKs (AE or AR),
one that never answers. Each keeps the messages it received, parsed with hl7apy."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from hl7apy.core import Message
from hl7apy.mllp import AbstractHandler, MLLPRequestHandler, MLLPServer
from hl7apy.parser import parse_message


@dataclass
class Peer:
    port: int
    received: list[Any] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


def _handler(peer: Peer, code: str | None, text: str, whole: bool):
    class Reply(AbstractHandler):
        def reply(self) -> str:
            peer.raw.append(self.incoming_message)
            if whole:
                msg = parse_message(self.incoming_message, find_groups=False)
            else:  # the benchmark's fast peer: the MSH alone (hl7apy takes ~0.25 s for 63 OBX)
                msg = parse_message(self.incoming_message.split("\r", 1)[0], find_groups=False)
            peer.received.append(msg)
            if code is None:  # never answers (until the test ends)
                peer.release.wait(30)
                return ""
            ack = Message("ACK", version="2.5")
            ack.msh.msh_9 = "ACK^R01^ACK"
            ack.msh.msh_10 = "ACK" + msg.msh.msh_10.to_er7()
            ack.msh.msh_18 = msg.msh.msh_18.to_er7()
            ack.msa.msa_1 = code
            ack.msa.msa_2 = msg.msh.msh_10.to_er7()
            if text:
                ack.msa.msa_3 = text
            return "\x0b" + ack.to_er7() + "\x1c\x0d"
    return Reply


@contextmanager
def mllp_peer(code: str | None, charset: str = "utf-8", text: str = "", whole: bool = True) -> Iterator[Peer]:
    """A listener on 127.0.0.1 (a free port) answering ``code`` (AA, AE, AR; None: never) in ``charset``;
    ``whole`` False parses only the MSH of what it receives (a fast peer for the benchmark)."""
    class Decoding(MLLPRequestHandler):
        encoding = charset

    peer = Peer(0)
    server = MLLPServer("127.0.0.1", 0, {"ORU^R01^ORU_R01": (_handler(peer, code, text, whole),)}, timeout=30,
                        request_handler_class=Decoding)
    server.daemon_threads = True
    peer.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        peer.release.set()
        server.shutdown()
        server.server_close()


def segments(msg: Any, name: str) -> list[Any]:
    return [s for s in msg.children if s.name == name]


def reps(seg: Any, name: str) -> list[str]:
    return [f.to_er7() for f in seg.children.get(name)]
