"""A small, iterative DICOM reader that keeps element values as raw bytes.

Why not ``pydicom.dcmread`` plus attribute access: pydicom converts every element it touches into a
``DataElement`` (keyword lookup, VR conversion, charset handling), which costs ~50 ms for a 240-item
echo SR, and its sequence reader recurses, so an SR nested 10,000 levels deep raises RecursionError.
Here a dataset is a plain ``dict[int, bytes | list[dict]]`` (tag -> raw value bytes, or the items of a
sequence), built with an explicit stack. Values are converted later, only those the SR reader needs.

Supported: Part 10 files (with or without preamble) and bare datasets in implicit VR little endian,
explicit VR little endian and deflated explicit VR little endian. Anything else (big endian, odd
encodings) is re-encoded by pydicom into explicit VR little endian and then read here (see
:func:`read_nodes`), so there is one code path for the SR content itself.
"""

from __future__ import annotations

import io
import struct
import zlib
from functools import lru_cache

Node = dict  # dict[int, bytes | tuple[str, bytes] | list[Node]]

ITEM = 0xFFFEE000
ITEM_DELIM = 0xFFFEE00D
SEQ_DELIM = 0xFFFEE0DD
PIXEL_DATA = 0x7FE00010
UNDEFINED = 0xFFFFFFFF

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
DEFLATED_LE = "1.2.840.10008.1.2.1.99"
EXPLICIT_BE = "1.2.840.10008.1.2.2"

# Explicit VRs with a 2-byte reserved field and a 4-byte length (PS3.5 7.1.2).
_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"})
# Binary VRs: their values are kept as (vr, bytes) so a reader can unpack them.
_BINARY_VRS = frozenset({b"FD", b"FL", b"UL", b"US", b"SL", b"SS", b"UV", b"SV", b"OB", b"OW", b"OF", b"OD", b"OL", b"OV",
                         b"AT"})

_u16 = struct.Struct("<H").unpack_from
_u32 = struct.Struct("<I").unpack_from
_tag = struct.Struct("<HH").unpack_from
_head = struct.Struct("<HH2sH").unpack_from  # group, element, explicit VR, short length


class ParseError(ValueError):
    """The bytes are not a dataset this reader understands (the caller may fall back to pydicom)."""


@lru_cache(maxsize=4096)
def implicit_vr(tag: int) -> bytes:
    """VR of a tag from pydicom's data dictionary (needed only for implicit VR encoding)."""
    from pydicom.datadict import dictionary_VR

    if tag & 0xFFFF == 0:  # group length
        return b"UL"
    try:
        vr = dictionary_VR(tag)
    except KeyError:
        return b"UN"
    return vr.split(" or ")[0].encode("ascii")


def parse_dataset(buf: bytes, pos: int = 0, end: int | None = None, implicit: bool = False) -> Node:
    """Parse ``buf[pos:end]`` as a little endian dataset, iteratively; raise ParseError if malformed."""
    root: Node = {}
    _parse_into(root, buf, pos, end, implicit)
    return root


def parse_dataset_tolerant(
    buf: bytes, pos: int = 0, end: int | None = None, implicit: bool = False
) -> tuple[Node, str | None]:
    """Like :func:`parse_dataset`, but keep what was read before a problem and return the problem."""
    root: Node = {}
    try:
        _parse_into(root, buf, pos, end, implicit)
    except (ParseError, struct.error) as exc:
        return root, f"encoding problem, content after it is not read: {exc}"
    return root, None


def _parse_into(root: Node, buf: bytes, pos: int, end: int | None, implicit: bool) -> None:
    """The parser proper: an inner loop reads the elements of one dataset; sequences switch frames."""
    n = len(buf) if end is None else end
    head, u32, binary, long_vrs = _head, _u32, _BINARY_VRS, _LONG_VRS
    stack: list[tuple] = []  # saved outer frames: (container, stop, implicit, is_sequence)
    obj, stop, imp, is_seq = root, n, implicit, False
    while True:
        if is_seq:
            if (stop is not None and pos >= stop) or pos + 8 > n:
                if stop is None:
                    raise ParseError(f"data ends inside a sequence at byte {pos}")
                if not stack:
                    return
                obj, stop, imp, is_seq = stack.pop()
                continue
            group, elem, _vr, _short = head(buf, pos)
            tag = group << 16 | elem
            if tag == SEQ_DELIM:
                pos += 8
                obj, stop, imp, is_seq = stack.pop()
                continue
            if tag != ITEM:
                raise ParseError(f"expected an item tag at byte {pos}, found {tag:08X}")
            length = u32(buf, pos + 4)[0]
            pos += 8
            item: Node = {}
            obj.append(item)
            stack.append((obj, stop, imp, True))
            obj, stop, imp, is_seq = item, (None if length == UNDEFINED else pos + length), imp, False
            continue
        # a dataset (the root or an item): read its elements until its end
        while True:
            if (stop is not None and pos >= stop) or pos + 8 > n:
                if stop is None and stack:
                    raise ParseError(f"data ends inside an item at byte {pos}")
                break
            group, elem, vrb, short_len = head(buf, pos)
            tag = group << 16 | elem
            if group == 0xFFFE:
                if tag == ITEM_DELIM:
                    pos += 8
                elif tag != SEQ_DELIM:  # a sequence delimiter also closes an item that lacked its own end
                    raise ParseError(f"unexpected delimiter {tag:08X} at byte {pos}")
                break
            if imp:
                vrb = implicit_vr(tag)
                length = u32(buf, pos + 4)[0]
                pos += 8
            elif vrb in long_vrs:
                length = u32(buf, pos + 8)[0]
                pos += 12
            else:
                length = short_len
                pos += 8
            if vrb == b"SQ" or (length == UNDEFINED and vrb == b"UN"):
                items: list[Node] = []
                obj[tag] = items
                stack.append((obj, stop, imp, False))
                # An undefined-length UN sequence is encoded in implicit VR (PS3.5 6.2.2).
                obj, stop, imp, is_seq = items, (None if length == UNDEFINED else pos + length), imp or vrb == b"UN", True
                break
            if length == UNDEFINED:  # encapsulated pixel data: skip its fragments
                pos = _skip_fragments(buf, pos, n)
                continue
            if pos + length > n:
                raise ParseError(f"element {tag:08X} runs past the end of the data")
            if tag != PIXEL_DATA:
                obj[tag] = (vrb.decode("latin-1"), buf[pos : pos + length]) if vrb in binary else buf[pos : pos + length]
            pos += length
        if is_seq:
            continue
        if not stack:
            return
        obj, stop, imp, is_seq = stack.pop()


def _skip_fragments(buf: bytes, pos: int, n: int) -> int:
    while pos + 8 <= n:
        group, elem = _tag(buf, pos)
        length = _u32(buf, pos + 4)[0]
        pos += 8
        if (group << 16 | elem) == SEQ_DELIM:
            return pos
        pos += length
    raise ParseError("encapsulated data without a sequence delimiter")


def _meta(buf: bytes, pos: int) -> tuple[dict, int]:
    """Read the group 0002 file meta (always explicit VR little endian)."""
    meta: dict[int, bytes] = {}
    n = len(buf)
    while pos + 8 <= n:
        group, elem = _tag(buf, pos)
        if group != 0x0002:
            break
        vrb = buf[pos + 4 : pos + 6]
        if vrb in _LONG_VRS:
            if pos + 12 > n:  # a truncated header: the meta ends here, the caller reports what is missing
                break
            length = _u32(buf, pos + 8)[0]
            pos += 12
        else:
            length = _u16(buf, pos + 6)[0]
            pos += 8
        meta[group << 16 | elem] = buf[pos : pos + length]
        pos += length
    return meta, pos


def looks_like_dicom(buf: bytes) -> bool:
    """True if the bytes start like a Part 10 file or a bare dataset we can read."""
    if len(buf) >= 132 and buf[128:132] == b"DICM":
        return True
    return len(buf) >= 8 and _tag(buf, 0)[0] in (0x0002, 0x0008)


def parse_file_tolerant(buf: bytes) -> tuple[Node, str | None]:
    """Parse a whole file; keep what precedes an encoding problem (returned as the second value).

    Raise ParseError when the bytes do not look like DICOM or use an encoding left to pydicom.
    """
    pos = 132 if len(buf) >= 132 and buf[128:132] == b"DICM" else 0
    if not looks_like_dicom(buf):
        raise ParseError("no DICM marker and no recognisable first element")
    meta, pos = _meta(buf, pos)
    ts = meta.get(0x00020010, b"").rstrip(b"\x00 ").decode("ascii", "replace")
    if not meta:
        # A bare dataset: guess implicit vs explicit VR from the first element (as pydicom does).
        explicit = buf[pos + 4 : pos + 6].isalpha()
        return parse_dataset_tolerant(buf, pos, implicit=not explicit)
    if ts == IMPLICIT_LE:
        return parse_dataset_tolerant(buf, pos, implicit=True)
    if ts == DEFLATED_LE:
        try:
            data = zlib.decompress(buf[pos:], -15)
        except zlib.error as exc:
            raise ParseError(f"deflated dataset cannot be inflated: {exc}") from exc
        return parse_dataset_tolerant(data, 0, implicit=False)
    if ts == EXPLICIT_BE:
        raise ParseError("explicit VR big endian is read through pydicom")
    # Explicit VR LE and every compressed transfer syntax (the dataset itself is explicit VR LE).
    return parse_dataset_tolerant(buf, pos, implicit=False)


def reencode_with_pydicom(path_or_bytes: str | bytes) -> Node:
    """Fallback: let pydicom read the file, re-encode it as explicit VR LE, and parse that.

    Raises ``pydicom.errors.InvalidDicomError`` (or another exception) if pydicom cannot read it.
    """
    import pydicom
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset

    src = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    ds = pydicom.dcmread(src, stop_before_pixels=True)
    out = DicomBytesIO()
    out.is_little_endian = True
    out.is_implicit_VR = False
    write_dataset(out, ds)
    return parse_dataset(out.getvalue(), 0, implicit=False)
