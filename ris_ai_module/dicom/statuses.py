"""DIMSE statuses the SCP sends, named; meanings follow PS3.4 Annex B (Storage Service Class).

Failure ranges: 0xA7xx "Refused: out of resources" (the peer may retry later), 0xA9xx "Error: data set does
not match SOP class", 0xCxxx "Error: cannot understand". Every failure goes out with a short Error Comment.
"""

from __future__ import annotations

SUCCESS = 0x0000
#: Storage is (almost) full: below ``storage.min_free``, or the disk filled up while receiving.
OUT_OF_RESOURCES = 0xA700
#: The index database could not be written; the file was removed, nothing was acknowledged.
DATABASE_UNAVAILABLE = 0xA710
#: Any other local failure to store (I/O error); the peer may retry.
STORE_FAILED = 0xA7FF
#: The data set does not match its SOP class or the command (SOP Class/Instance UID differ, Type 1 missing).
DATASET_MISMATCH = 0xA900
#: The data set cannot be parsed.
CANNOT_UNDERSTAND = 0xC000
#: A UID of the object is not a valid UID (it would not be safe as a path).
INVALID_UID = 0xC010
#: The SOP class is not one of ``dicom.sop_classes``.
SOP_CLASS_NOT_SUPPORTED = 0x0122
#: PS3.7 C.5 general status "Refused: Not authorized": the association may not store (our own self-check C-ECHO
#: association, the archive's commitment-results association); the SOP class itself is supported.
NOT_AUTHORIZED = 0x0124

#: Verification (C-ECHO) success.
ECHO_SUCCESS = SUCCESS

#: Error Comment (0000,0902) is at most 64 characters (LO).
COMMENT_CHARS = 64


def comment(text: str) -> str:
    """A short, single-line, ASCII-safe Error Comment."""
    flat = " ".join(text.split())
    return flat.encode("ascii", "replace").decode("ascii")[:COMMENT_CHARS]
