"""MLLP (HL7's Minimal Lower Layer Protocol): one message out, its ACK back, on one TCP connection.

A message travels as ``<VT> message <FS><CR>``; the answer is read until ``<FS><CR>`` within the timeout.
"""

from __future__ import annotations

import socket
import time

START, END = b"\x0b", b"\x1c\x0d"
#: Longest answer read (an ACK is a few hundred bytes; a peer sending more is not answering as MLLP).
MAX_ANSWER = 1 << 20


class MllpError(Exception):
    """The peer could not be reached, closed the connection, or did not answer in time."""


def frame(message: bytes) -> bytes:
    return START + message + END


def exchange(host: str, port: int, message: bytes, timeout: float) -> bytes:
    """Send one framed message and return the peer's framed answer, unframed (MllpError otherwise)."""
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(frame(message))
            answer = b""
            while END not in answer:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise MllpError(f"no answer within {timeout:g}s")
                sock.settimeout(left)
                chunk = sock.recv(65536)
                if not chunk:
                    raise MllpError("the peer closed the connection without an answer"
                                    + (f" (received {len(answer)} bytes)" if answer else ""))
                answer += chunk
                if len(answer) > MAX_ANSWER:
                    raise MllpError(f"answer longer than {MAX_ANSWER} bytes without an MLLP end block")
    except TimeoutError as exc:
        raise MllpError(f"no answer within {timeout:g}s") from exc
    except OSError as exc:
        raise MllpError(f"{type(exc).__name__}: {exc}") from exc
    start = answer.find(START)
    return answer[start + 1 if start >= 0 else 0:answer.index(END)]
