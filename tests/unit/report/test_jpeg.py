"""JPEG renditions of received images (report target images): each photometric and transfer syntax the SCP
accepts is rendered or refused with a reason; expected pixels come from PS3.3 C.7.6.3.1.2 (YBR_FULL_422: two Y,
then Cb, Cr per pixel pair) and the JFIF YCbCr->RGB equations (R = Y + 1.402 (Cr-128), …), worked by hand."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import JPEGBaseline8Bit, JPEGLSLossless, generate_uid

from ris_ai_module.report.jpeg import NotRendered, render_jpeg, to_image

EXPLICIT = "1.2.840.10008.1.2.1"


def _ds(photometric: str, rows: int, cols: int, pixels: bytes, samples: int = 1, bits: int = 8,
        syntax: str = EXPLICIT, **extra: object) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID, ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID
    ds.Rows, ds.Columns, ds.SamplesPerPixel = rows, cols, samples
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    if samples == 3:
        ds.PlanarConfiguration = 0
    for k, v in extra.items():
        setattr(ds, k, v)
    ds.PixelData = pixels
    return ds


def test_ybr_full_422_pure_red() -> None:
    # red in YCbCr (JFIF): Y 76, Cb 85, Cr 255 -> R 76+1.402*127 = 254, G 76-0.344*(-43)-0.714*127 = 0, B 0
    ds = _ds("YBR_FULL_422", 2, 4, bytes([76, 76, 85, 255]) * 4, samples=3)
    img = to_image(ds)
    assert (img.mode, img.size) == ("RGB", (4, 2))
    r, g, b = img.getpixel((3, 1))
    assert r >= 252 and g <= 2 and b <= 2


def test_monochrome1_is_inverted_and_multiframe_takes_the_configured_frame() -> None:
    ds = _ds("MONOCHROME1", 2, 2, bytes([0, 0, 0, 0, 200, 200, 200, 200]), NumberOfFrames=2)
    assert to_image(ds, frame=1).getpixel((0, 0)) == 255
    assert to_image(ds, frame=2).getpixel((0, 0)) == 55
    assert to_image(ds, frame=9).getpixel((0, 0)) == 255  # past the end: the first frame


def test_rgb_planar_configuration_1() -> None:
    ds = _ds("RGB", 1, 2, bytes([10, 20, 30, 40, 50, 60]), samples=3)
    ds.PlanarConfiguration = 1  # RR GG BB
    assert to_image(ds).getpixel((1, 0)) == (20, 40, 60)


def test_sixteen_bit_window_applied_only_when_present() -> None:
    values = [0, 1000, 2000, 4000]
    data = b"".join(v.to_bytes(2, "little") for v in values)
    plain = to_image(_ds("MONOCHROME2", 2, 2, data, bits=16))
    assert [plain.getpixel(p) for p in ((0, 0), (1, 1))] == [0, 255]  # the image's range
    windowed = to_image(_ds("MONOCHROME2", 2, 2, data, bits=16, WindowCenter=1000, WindowWidth=1000))
    # window 500..1500 (PS3.3 C.11.2.1.2): 0 below it, 2000 and 4000 above it
    assert [windowed.getpixel(p) for p in ((0, 0), (0, 1), (1, 1))] == [0, 255, 255]


def test_jpeg_baseline_codestream_is_decoded(tmp_path: Path) -> None:
    src = Image.new("RGB", (32, 16), (0, 0, 255))
    buf = io.BytesIO()
    src.save(buf, "JPEG", quality=95)
    ds = _ds("YBR_FULL_422", 16, 32, encapsulate([buf.getvalue()]), samples=3, syntax=JPEGBaseline8Bit)
    ds.save_as(tmp_path / "in.dcm", enforce_file_format=True)
    assert render_jpeg(tmp_path / "in.dcm", tmp_path / "out" / "x.jpg") == (32, 16)
    with Image.open(tmp_path / "out" / "x.jpg") as out:
        out.load()
        r, g, b = out.getpixel((8, 8))
    assert out.format == "JPEG" and b >= 240 and r <= 15 and g <= 15
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["x.jpg"]  # no temporary file left


def test_undecodable_syntax_gives_a_reason(tmp_path: Path) -> None:
    ds = _ds("MONOCHROME2", 8, 8, encapsulate([b"\xff\xd8\xff\xf7not really"]), syntax=JPEGLSLossless)
    ds.save_as(tmp_path / "ls.dcm", enforce_file_format=True)
    with pytest.raises(NotRendered, match="1.2.840.10008.1.2.4.80"):
        render_jpeg(tmp_path / "ls.dcm", tmp_path / "ls.jpg")
    assert not (tmp_path / "ls.jpg").exists()


def test_no_pixel_data() -> None:
    ds = _ds("MONOCHROME2", 2, 2, b"\0" * 4)
    del ds.PixelData
    with pytest.raises(NotRendered, match="no pixel data"):
        to_image(ds)


@pytest.mark.parametrize("syntax", ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.1.99"])
def test_a_frame_of_a_multiframe_file_is_read_from_the_file(tmp_path: Path, syntax: str) -> None:
    """Pixel data larger than the deferral threshold stays in the file; the frame asked for is the one shown."""
    frames, side = 3, 200  # 120 KB of pixel data, above DEFER
    data = b"".join(bytes([40 * (i + 1)]) * side * side for i in range(frames))
    ds = _ds("MONOCHROME2", side, side, data, syntax=syntax, NumberOfFrames=frames)
    ds.save_as(tmp_path / "mf.dcm", enforce_file_format=True, implicit_vr=syntax == "1.2.840.10008.1.2")
    assert render_jpeg(tmp_path / "mf.dcm", tmp_path / "f2.jpg", frame=2) == (side, side)
    with Image.open(tmp_path / "f2.jpg") as img:
        assert abs(img.convert("L").getpixel((100, 100)) - 80) <= 2


def test_jpeg_baseline_multiframe_second_frame(tmp_path: Path) -> None:
    codestreams = []
    for colour in ((255, 255, 255), (0, 0, 0)):
        buf = io.BytesIO()
        Image.new("RGB", (16, 16), colour).save(buf, "JPEG", quality=95)
        codestreams.append(buf.getvalue())
    ds = _ds("YBR_FULL_422", 16, 16, encapsulate(codestreams), samples=3, syntax=JPEGBaseline8Bit,
             NumberOfFrames=2)
    ds.save_as(tmp_path / "j.dcm", enforce_file_format=True)
    render_jpeg(tmp_path / "j.dcm", tmp_path / "j.jpg", frame=2)
    with Image.open(tmp_path / "j.jpg") as img:
        assert max(img.getpixel((8, 8))) <= 5


def test_rle_goes_through_pydicom(tmp_path: Path) -> None:
    """numpy is a dependency (setup.cfg): an RLE image must render, never skip."""
    from pydicom.uid import RLELossless

    ds = _ds("MONOCHROME2", 4, 4, bytes(range(0, 160, 10)))
    ds.compress(RLELossless)
    ds.save_as(tmp_path / "rle.dcm", enforce_file_format=True)
    render_jpeg(tmp_path / "rle.dcm", tmp_path / "rle.jpg", quality=95)
    with Image.open(tmp_path / "rle.jpg") as img:
        assert img.size == (4, 4) and img.mode == "L"
