"""Benchmark: a JPEG rendition of a received image (report target images) vs Pillow alone, in the same run.

Run from the repository root:  python bench/jpeg.py [--repeat N]

Images are generated at run time (nothing is committed): the simulator's RGB Secondary Capture page, the same
pixels as native YBR_FULL_422 (ultrasound's usual), and as JPEG Baseline (encapsulated). Per image, median ms of
  module   ris_ai_module.report.jpeg.render_jpeg: dcmread, pixels -> Pillow image, JPEG encode (quality 90),
           write to a temporary name, fsync, rename, fsync the folder
  pillow   Pillow alone on pixels already in memory: Image.frombytes (or open the JPEG), encode, no file
and the ratio module / pillow (what reading DICOM and writing durably cost on top of the encoding itself).
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image  # noqa: E402
from pydicom.encaps import encapsulate  # noqa: E402
from pydicom.uid import JPEGBaseline8Bit  # noqa: E402

from ris_ai_module.report.jpeg import render_jpeg  # noqa: E402
from ris_ai_module.sim.results import produce  # noqa: E402
from ris_ai_module.sim.sr_documents import ExamIdentity  # noqa: E402

EXAM = ExamIdentity("P1", "李四", "19700101", "M", "A1", "1.2.826.0.1.3680043.10.1111.1", "20261202", "090000")


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    page = produce(EXAM, "adult-echo", 1, "AI", when=datetime(2026, 12, 2, 9, 0)).images[0]
    rows, cols = int(page.Rows), int(page.Columns)
    rgb = bytes(page.PixelData)
    img = Image.frombytes("RGB", (cols, rows), rgb)
    y, cb, cr = (b.tobytes() for b in img.convert("YCbCr").split())
    ybr = bytearray()
    for i in range(0, rows * cols, 2):
        ybr += bytes((y[i], y[i + 1], cb[i], cr[i]))
    jpeg = io.BytesIO()
    img.save(jpeg, "JPEG", quality=95)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cases = {}
        page.save_as(folder / "rgb.dcm", enforce_file_format=True)
        cases["RGB native"] = (folder / "rgb.dcm", lambda: Image.frombytes("RGB", (cols, rows), rgb))
        page.PhotometricInterpretation = "YBR_FULL_422"
        page.PixelData = bytes(ybr)
        page.save_as(folder / "ybr.dcm", enforce_file_format=True)
        cases["YBR_FULL_422 native"] = (folder / "ybr.dcm",
                                        lambda: Image.merge("YCbCr", [Image.frombytes("L", (cols, rows), y),
                                                                      Image.frombytes("L", (cols, rows), cb),
                                                                      Image.frombytes("L", (cols, rows), cr)]
                                                            ).convert("RGB"))
        page.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
        page.PixelData = encapsulate([jpeg.getvalue()])
        page.save_as(folder / "jpeg.dcm", enforce_file_format=True)
        cases["JPEG Baseline"] = (folder / "jpeg.dcm", lambda: Image.open(io.BytesIO(jpeg.getvalue())))

        print(f"{cols}x{rows} pixels, median of {args.repeat}")
        print("| image | module (ms) | Pillow alone (ms) | ratio |\n|---|---|---|---|")
        for name, (path, decode) in cases.items():
            out = folder / "out" / "x.jpg"

            def pillow_only(decode=decode) -> None:  # noqa: ANN001
                buf = io.BytesIO()
                decode().save(buf, "JPEG", quality=90)

            module = _median_ms(lambda path=path, out=out: render_jpeg(path, out, 90), args.repeat)
            alone = _median_ms(pillow_only, args.repeat)
            print(f"| {name} | {module:.1f} | {alone:.1f} | {module / alone:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
