"""A JPEG rendition of a received image, for a RIS that shows 典型图像 but does not read DICOM.

Pixel data is turned into a Pillow image by the shortest honest path:

* native (uncompressed) 8-bit MONOCHROME1/2, RGB, YBR_FULL and YBR_FULL_422 (ultrasound's usual), any planar
  configuration, straight from the bytes (Pillow only);
* JPEG Baseline/Extended 8-bit (1.2.840.10008.1.2.4.50/.51) and JPEG 2000 (.90/.91): the frame's codestream
  is decoded by Pillow as it is (an ultrasound JPEG is YCbCr in the stream whatever the header says);
* anything else (16-bit, RLE, JPEG Lossless, JPEG-LS …) through pydicom's pixel handlers (numpy, and for
  some syntaxes a plugin such as pylibjpeg); when none can decode it, :class:`NotRendered` says why.

Window Center/Width (VOI LUT) is applied only when the object has it (16-bit monochrome); 8-bit images are
shown as stored. Multi-frame: the configured frame (1 = first). The file is written to a temporary name in
the target folder, fsynced, renamed over the final name and the folder fsynced: a reader sees the old file
or the new one, never half of one.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from PIL import Image
from pydicom import dcmread
from pydicom.dataset import Dataset

from ris_ai_module.durable import write_atomic

NATIVE = frozenset({"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.2"})
PILLOW_CODESTREAM = frozenset({"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51",
                               "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"})


#: Values larger than this stay in the file until read (a 151 MB multi-frame is not loaded to render one frame).
DEFER = 64 * 1024


class NotRendered(Exception):
    """The image cannot be rendered as JPEG here; the message says why (shown in the report state)."""


def render_jpeg(source: str | os.PathLike[str], target: str | os.PathLike[str], quality: int = 90,
                frame: int = 1) -> tuple[int, int]:
    """Write ``target`` (atomically) from the DICOM file ``source``; returns (width, height)."""
    try:
        ds = dcmread(source, defer_size=DEFER)  # pixel data left in the file: one frame is read, not the clip
    except Exception as exc:
        raise NotRendered(f"not readable as DICOM: {exc.__class__.__name__}") from exc
    img = to_image(ds, frame, Path(source))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    write_atomic(Path(target), buf.getvalue())
    return img.size


def to_image(ds: Dataset, frame: int = 1, path: Path | None = None) -> Image.Image:
    """Frame ``frame`` (1-based) of ``ds`` as an 8-bit L or RGB Pillow image; ``path``: the file ``ds`` was read
    from with its pixel data deferred (then only that frame's bytes are read)."""
    if "PixelData" not in ds:
        raise NotRendered("the object has no pixel data")
    rows, cols = int(ds.get("Rows") or 0), int(ds.get("Columns") or 0)
    if not rows or not cols:
        raise NotRendered("Rows or Columns missing")
    frames = int(ds.get("NumberOfFrames") or 1)
    if not 1 <= frame <= frames:
        frame = 1  # the configured frame is past the end of a shorter clip: its first frame
    syntax = str(ds.file_meta.get("TransferSyntaxUID", "1.2.840.10008.1.2"))
    photometric = str(ds.get("PhotometricInterpretation", "")).strip()
    bits = int(ds.get("BitsAllocated") or 8)
    pixels = _Pixels(ds, path if syntax != "1.2.840.10008.1.2.1.99" else None)
    if syntax in NATIVE and bits == 8:
        return _native8(ds, pixels, rows, cols, frame, photometric)
    if syntax in PILLOW_CODESTREAM and bits == 8:
        from pydicom.encaps import get_frame

        try:
            data = pixels.encapsulated_frame(get_frame, frame - 1, frames)
            img = Image.open(io.BytesIO(data))
            img.load()
        except Exception as exc:
            raise NotRendered(f"the {syntax} codestream of frame {frame} cannot be decoded: {exc}") from exc
        return _eight_bit(img, photometric)
    return _via_pydicom(ds, path, frame, photometric, syntax)


class _Pixels:
    """Pixel Data bytes, from memory or (deferred by dcmread) from the file at the element's offset."""

    def __init__(self, ds: Dataset, path: Path | None) -> None:
        elem = ds.get_item("PixelData", keep_deferred=True)
        self.offset = getattr(elem, "value_tell", None) if getattr(elem, "value", None) is None else None
        self.path = path if self.offset is not None else None
        self.ds = ds

    def slice(self, start: int, size: int) -> bytes:
        if self.path is None:
            return bytes(self.ds.PixelData[start:start + size])
        with open(self.path, "rb") as fh:
            fh.seek(self.offset + start)  # type: ignore[operator]
            return fh.read(size)

    def encapsulated_frame(self, get_frame: Any, index: int, frames: int) -> bytes:
        if self.path is None:
            return get_frame(self.ds.PixelData, index, number_of_frames=frames)
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)  # type: ignore[arg-type]
            return get_frame(fh, index, number_of_frames=frames)


def _native8(ds: Dataset, pixels: _Pixels, rows: int, cols: int, frame: int, photometric: str) -> Image.Image:
    samples = int(ds.get("SamplesPerPixel") or 1)
    if photometric == "YBR_FULL_422":  # two Y, one Cb, one Cr per pixel pair (PS3.3 C.7.6.3.1.2)
        size = rows * cols * 2
        chunk = pixels.slice((frame - 1) * size, size)
        if len(chunk) < size or cols % 2:
            raise NotRendered("YBR_FULL_422 pixel data shorter than Rows × Columns × 2")
        y = bytearray(rows * cols)
        y[0::2], y[1::2] = chunk[0::4], chunk[1::4]
        cb = Image.frombytes("L", (cols // 2, rows), bytes(chunk[2::4])).resize((cols, rows), Image.Resampling.NEAREST)
        cr = Image.frombytes("L", (cols // 2, rows), bytes(chunk[3::4])).resize((cols, rows), Image.Resampling.NEAREST)
        return Image.merge("YCbCr", (Image.frombytes("L", (cols, rows), bytes(y)), cb, cr)).convert("RGB")
    size = rows * cols * samples
    chunk = pixels.slice((frame - 1) * size, size)
    if len(chunk) < size:
        raise NotRendered(f"pixel data shorter than Rows × Columns × {samples} for frame {frame}")
    if samples == 1:
        img = Image.frombytes("L", (cols, rows), bytes(chunk))
        return _invert(img) if photometric == "MONOCHROME1" else img
    if samples != 3:
        raise NotRendered(f"SamplesPerPixel {samples} is neither 1 nor 3")
    if int(ds.get("PlanarConfiguration") or 0) == 1:  # RRR…GGG…BBB…
        n = rows * cols
        planes = [Image.frombytes("L", (cols, rows), bytes(chunk[i * n:(i + 1) * n])) for i in range(3)]
        img = Image.merge("RGB", planes)
    else:
        img = Image.frombytes("RGB", (cols, rows), bytes(chunk))
    if photometric == "YBR_FULL":
        img = Image.merge("YCbCr", img.split()).convert("RGB")
    elif photometric not in ("RGB", ""):
        raise NotRendered(f"PhotometricInterpretation {photometric} is not supported for native colour data")
    return img


def _eight_bit(img: Image.Image, photometric: str) -> Image.Image:
    if img.mode in ("L", "RGB"):
        return _invert(img) if photometric == "MONOCHROME1" and img.mode == "L" else img
    return img.convert("RGB")


def _invert(img: Image.Image) -> Image.Image:
    return img.point(lambda v: 255 - v)


def _via_pydicom(ds: Dataset, path: Path | None, frame: int, photometric: str, syntax: str) -> Image.Image:
    """pydicom's decoders (numpy; a plugin for some compressed syntaxes); VOI only when the object has one."""
    try:
        import numpy as np
        from pydicom.pixels import apply_voi_lut, pixel_array
    except ImportError as exc:
        raise NotRendered(f"transfer syntax {syntax} with {ds.get('BitsAllocated')} bits needs numpy "
                          "(not installed)") from exc
    try:
        # from the file, pydicom reads only that frame; YBR comes back as RGB (pydicom 3's as_rgb)
        arr: Any = pixel_array(path if path is not None else ds, index=frame - 1)
    except Exception as exc:
        raise NotRendered(f"transfer syntax {syntax} cannot be decoded here ({exc.__class__.__name__}: "
                          f"{str(exc).splitlines()[0][:160] if str(exc) else 'no decoder'})") from exc
    if arr.ndim == 3 and arr.shape[-1] == 3:
        return Image.fromarray(_to_uint8(np, arr), "RGB")
    if "WindowCenter" in ds and "WindowWidth" in ds or "VOILUTSequence" in ds:
        arr = apply_voi_lut(arr, ds)
    img = Image.fromarray(_to_uint8(np, arr), "L")
    return _invert(img) if photometric == "MONOCHROME1" else img


def _to_uint8(np: Any, arr: Any) -> Any:
    """Scale to 0…255 over the array's range (after VOI, that range is the window's)."""
    if arr.dtype == np.uint8:
        return arr
    lo, hi = float(arr.min()), float(arr.max())
    if hi <= lo:
        return np.zeros(arr.shape, dtype=np.uint8)
    return ((arr.astype(np.float64) - lo) * (255.0 / (hi - lo))).clip(0, 255).astype(np.uint8)


