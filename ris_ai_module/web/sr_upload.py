"""The checks every manual SR upload passes (HTTP ``POST /api/sr`` and SOAP ``UploadSr``): staged in
the storage area, complete, DICOM, an SR. One place, so the two front doors refuse the same files
with the same words."""

from __future__ import annotations

from typing import Any, BinaryIO

from ris_ai_module.errors import InvalidInput


class UploadRefused(InvalidInput):
    """An upload that is not a whole SR file; ``status`` is the HTTP status a JSON caller gets."""

    def __init__(self, field: str, message: str, status: int) -> None:
        super().__init__(field, message)
        self.status = status


def stage_sr(config: Any, stream: BinaryIO, length: int, field: str) -> tuple[Any, Any]:
    """Copies ``length`` bytes from ``stream`` to a temporary file in the storage area and checks it
    is an SR document; returns (area, temp) for the ingest. Anything refused is discarded first, so a
    refused upload leaves nothing behind."""
    from ris_ai_module.dicom.index import is_sr
    from ris_ai_module.dicom.ingest import read_header
    from ris_ai_module.dicom.storage import StorageArea

    area = StorageArea(config.storage.root, config.storage.min_free)
    area.prepare(clean_older_than=None)
    temp = area.copy_in(stream)
    if temp.size != length:
        temp.discard()
        raise UploadRefused("Content-Length", f"body ended after {temp.size} of {length} bytes", 400)
    try:
        sop_class = str(read_header(temp).get("SOPClassUID", ""))
    except Exception:
        temp.discard()
        raise UploadRefused(field, "not a DICOM file", 415) from None
    if not is_sr(sop_class):
        temp.discard()
        raise UploadRefused(field, f"not an SR document (SOP class {sop_class or 'missing'})", 415)
    return area, temp
