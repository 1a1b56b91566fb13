"""Is the received data set whole? A walk over its element headers, values skipped, nothing decoded.

The C-STORE handler reads only the header of an object (``stop_before_pixels``); a data set whose last element
announces more bytes than arrived, or whose undefined-length sequence has no delimiter, would otherwise be
stored and acknowledged as if it were the object the peer meant (PS3.4 B.2.2: success says "stored"). The walk
follows PS3.5 §7.1 (element encodings), §7.5 (sequences and items, their delimiters) and §A.4 (encapsulated
pixel data fragments), in the transfer syntax of the presentation context; deflated data sets (§A.5) are
inflated on the way. It costs one small read per element header and a seek per value.
"""

from __future__ import annotations

import io
import struct
import zlib
from typing import BinaryIO

#: VRs with a 2-byte reserved field and a 4-byte length in explicit VR encodings (PS3.5 Table 7.1-1).
LONG_VRS = frozenset(b"OB OD OF OL OV OW SQ SV UC UN UR UT UV".split())
#: Every VR of PS3.5 Table 6.2-1.
VRS = LONG_VRS | frozenset(b"AE AS AT CS DA DS DT FD FL IS LO LT PN SH SL SS ST TM UI UL US".split())
UNDEFINED = 0xFFFFFFFF
ITEM, ITEM_END, SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
#: Deeper nesting than any real object (an SR content tree is a dozen levels); a bound for hostile input.
MAX_DEPTH = 64
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
DEFLATED = ("1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.8.1")
CHUNK = 1024 * 1024


class Incomplete(Exception):
    """The data set is not whole; the message names where."""


class _Source:
    """Sequential bytes with ``read`` (exactly n, or fewer at the end) and ``skip``."""

    def __init__(self, fh: BinaryIO, size: int, deflated: bool) -> None:
        self._fh = fh
        self._left = size  # bytes of the file after the start position
        self._inflate = zlib.decompressobj(-zlib.MAX_WBITS) if deflated else None
        self._buffer = b""

    def _fill(self, n: int) -> None:
        assert self._inflate is not None
        while len(self._buffer) < n:
            if self._inflate.unconsumed_tail:
                data = self._inflate.decompress(self._inflate.unconsumed_tail, CHUNK)
            elif self._left > 0:
                raw = self._fh.read(min(CHUNK, self._left))
                if not raw:
                    self._left = 0
                    continue
                self._left -= len(raw)
                try:
                    data = self._inflate.decompress(raw, CHUNK)
                except zlib.error as exc:
                    raise Incomplete(f"deflated data cannot be inflated ({exc})") from None
            else:
                return
            self._buffer += data

    def read(self, n: int) -> bytes:
        if self._inflate is None:
            data = self._fh.read(min(n, self._left))
            self._left -= len(data)
            return data
        self._fill(n)
        data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data

    def skip(self, n: int) -> int:
        if self._inflate is None:
            step = min(n, self._left)
            self._fh.seek(step, io.SEEK_CUR)
            self._left -= step
            return step
        done = 0
        while done < n:
            self._fill(min(CHUNK, n - done))
            if not self._buffer:
                break
            step = min(len(self._buffer), n - done)
            self._buffer = self._buffer[step:]
            done += step
        return done

    @property
    def inflate_ended(self) -> bool:
        """Deflated: did the deflate stream reach its final block (a cut stream does not)?"""
        return self._inflate is None or self._inflate.eof


class _Walker:
    def __init__(self, source: _Source, little: bool, implicit: bool) -> None:
        self.src = source
        self.little = little
        self.implicit = implicit

    def _tag(self) -> tuple[int, bytes] | None:
        head = self.src.read(4)
        if not head:
            return None
        if len(head) < 4:
            raise Incomplete("data set ends inside an element tag")
        group, element = struct.unpack("<HH" if self.little else ">HH", head)
        return (group << 16) | element, head

    def _length4(self, where: int) -> int:
        raw = self.src.read(4)
        if len(raw) < 4:
            raise Incomplete(f"data set ends in the header of {_name(where)}")
        return int(struct.unpack("<L" if self.little else ">L", raw)[0])

    def element(self, tag: int, depth: int) -> None:
        """The rest of the element whose tag was just read: its VR and length, then its value."""
        if tag >> 16 == 0xFFFE:
            raise Incomplete(f"unexpected {_name(tag)} outside a sequence")
        vr = b""
        if self.implicit:
            length = self._length4(tag)
        else:
            vr = self.src.read(2)
            if len(vr) < 2:
                raise Incomplete(f"data set ends in the header of {_name(tag)}")
            if vr not in VRS:
                raise Incomplete(f"{_name(tag)} has no valid VR")
            if vr in LONG_VRS:
                if len(self.src.read(2)) < 2:
                    raise Incomplete(f"data set ends in the header of {_name(tag)}")
                length = self._length4(tag)
            else:
                raw = self.src.read(2)
                if len(raw) < 2:
                    raise Incomplete(f"data set ends in the header of {_name(tag)}")
                length = int(struct.unpack("<H" if self.little else ">H", raw)[0])
        if length != UNDEFINED:
            if self.src.skip(length) < length:
                raise Incomplete(f"data set ends inside {_name(tag)} ({length} bytes announced)")
            return
        if depth >= MAX_DEPTH:
            raise Incomplete("sequences nested too deep")
        if self.implicit or vr == b"SQ":
            self.sequence(tag, depth + 1)
        elif vr == b"UN":  # PS3.5 §6.2.2: an undefined-length UN is a sequence in implicit VR little endian
            _Walker(self.src, True, True).sequence(tag, depth + 1)
        else:  # encapsulated pixel data (PS3.5 §A.4): fragments, then the sequence delimiter
            self.fragments(tag)

    def sequence(self, owner: int, depth: int) -> None:
        while True:
            got = self._tag()
            if got is None:
                raise Incomplete(f"{_name(owner)}: sequence has no delimiter")
            tag, _ = got
            length = self._length4(tag)
            if tag == SEQUENCE_END:
                return
            if tag != ITEM:
                raise Incomplete(f"{_name(owner)}: {_name(tag)} where an item belongs")
            if length != UNDEFINED:
                if self.src.skip(length) < length:
                    raise Incomplete(f"data set ends inside an item of {_name(owner)}")
                continue
            self.item(owner, depth)

    def item(self, owner: int, depth: int) -> None:
        while True:
            got = self._tag()
            if got is None:
                raise Incomplete(f"{_name(owner)}: item has no delimiter")
            tag, _ = got
            if tag == ITEM_END:
                self._length4(tag)
                return
            self.element(tag, depth)

    def fragments(self, owner: int) -> None:
        while True:
            got = self._tag()
            if got is None:
                raise Incomplete(f"{_name(owner)}: fragments have no sequence delimiter")
            tag, _ = got
            length = self._length4(tag)
            if tag == SEQUENCE_END:
                return
            if tag != ITEM or length == UNDEFINED:
                raise Incomplete(f"{_name(owner)}: {_name(tag)} where a fragment belongs")
            if self.src.skip(length) < length:
                raise Incomplete(f"data set ends inside a fragment of {_name(owner)}")

    def dataset(self) -> None:
        while True:
            got = self._tag()
            if got is None:
                return
            self.element(got[0], 0)


def _name(tag: int) -> str:
    if tag == ITEM:
        return "an item tag"
    if tag in (ITEM_END, SEQUENCE_END):
        return "a delimiter"
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def structure_problem(fh: BinaryIO, start: int, size: int, transfer_syntax: str) -> str | None:
    """None when the data set from ``start`` to ``size`` (file offsets) is whole in ``transfer_syntax``;
    else what is wrong, in a few words (for an Error Comment and the log)."""
    fh.seek(start)
    source = _Source(fh, size - start, transfer_syntax in DEFLATED)
    implicit = transfer_syntax == IMPLICIT_LE
    walker = _Walker(source, little=transfer_syntax != EXPLICIT_BE, implicit=implicit)
    try:
        walker.dataset()
    except Incomplete as exc:
        return str(exc)
    if not source.inflate_ended:
        return "deflated data ends before its last block"
    return None
