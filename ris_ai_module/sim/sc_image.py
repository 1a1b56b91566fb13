"""Secondary Capture images with real pixel content: a rendered measurement panel, as AI hosts send a
"report page" next to their SR. Chinese labels are drawn with a CJK font when the system has one (Noto CJK,
WenQuanYi, Microsoft YaHei, SimHei...); otherwise the labels are Latin, so the image never shows tofu boxes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from pydicom.dataset import Dataset

from ris_ai_module.sim.sr_documents import ExamIdentity, base_dataset

SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
WIDTH, HEIGHT = 800, 600

#: Font files tried in order when fontconfig cannot name one (Debian/Ubuntu, RHEL, Windows, macOS).
CJK_FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    r"C:\Windows\Fonts\msyh.ttc",
    r"C:\Windows\Fonts\simhei.ttf",
    r"C:\Windows\Fonts\simsun.ttc",
    "/System/Library/Fonts/PingFang.ttc",
)


@dataclass(frozen=True)
class PanelRow:
    label_zh: str
    label_en: str
    value: str
    unit: str


@lru_cache(maxsize=1)
def cjk_font_file() -> str | None:
    """A font file that has Chinese glyphs, or None."""
    fc = shutil.which("fc-match")
    if fc:
        try:
            out = subprocess.run([fc, "-f", "%{file}", "sans-serif:lang=zh-cn"], capture_output=True, text=True,
                                 timeout=5).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        if out and os.path.exists(out) and _has_cjk(out):
            return out
    for path in CJK_FONT_FILES:
        if os.path.exists(path) and _has_cjk(path):
            return path
    return None


def _has_cjk(path: str) -> bool:
    from PIL import ImageFont

    try:
        font = ImageFont.truetype(path, 20)
        return font.getmask("测").getbbox() is not None and font.getlength("测") > 0
    except OSError:
        return False


def _font(size: int, cjk: str | None):  # noqa: ANN202 - PIL font types differ by version
    from PIL import ImageFont

    if cjk:
        return ImageFont.truetype(cjk, size)
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one bitmap size
        return ImageFont.load_default()


def render_panel(title_zh: str, title_en: str, exam: ExamIdentity, rows: Sequence[PanelRow],
                 page: int = 1, pages: int = 1) -> tuple[bytes, bool]:
    """RGB pixels (WIDTH x HEIGHT) and whether Chinese text was drawn."""
    from PIL import Image, ImageDraw

    cjk = cjk_font_file()
    img = Image.new("RGB", (WIDTH, HEIGHT), (12, 18, 32))
    draw = ImageDraw.Draw(img)
    big, small = _font(26, cjk), _font(17, cjk)
    title = f"{title_zh}  {title_en}" if cjk else title_en
    draw.rectangle((0, 0, WIDTH, 48), fill=(24, 80, 140))
    draw.text((16, 10), f"AI {title}", font=big, fill=(255, 255, 255))
    name = exam.patient_name if cjk else "".join(ch if ord(ch) < 128 else "*" for ch in exam.patient_name)
    header = f"ID {exam.patient_id}   {name}   ACC {exam.accession}   {exam.study_date}"
    draw.text((16, 58), header, font=small, fill=(200, 220, 255))
    y, x_value = 92, 520
    for row in rows:
        label = f"{row.label_zh}  {row.label_en}" if cjk else row.label_en
        draw.text((16, y), label[:48], font=small, fill=(230, 230, 230))
        draw.text((x_value, y), f"{row.value} {row.unit}".strip(), font=small, fill=(120, 255, 160))
        y += 24
        if y > HEIGHT - 40:
            break
    foot = f"{'模拟 AI 主机 simulated AI host' if cjk else 'simulated AI host'}  {page}/{pages}"
    draw.text((16, HEIGHT - 28), foot, font=small, fill=(150, 150, 150))
    # a small synthetic "trace" so the image is not just text
    points = [(620 + i * 2, 84 - int(18 * ((i * 37) % 11) / 11)) for i in range(80)]
    draw.line(points, fill=(255, 200, 0), width=2)
    return img.tobytes(), bool(cjk)


def build_sc(exam: ExamIdentity, title_zh: str, title_en: str, rows: Sequence[PanelRow], series_uid: str,
             instance_number: int, pages: int, when: datetime | None = None) -> Dataset:
    """A Secondary Capture Image data set (PS3.3 A.8.1) holding the rendered panel."""
    when = when or datetime.now()
    ds = base_dataset(exam, SECONDARY_CAPTURE, "US", series_uid, 901, instance_number, when)
    pixels, _cjk = render_panel(title_zh, title_en, exam, rows, instance_number, pages)
    ds.SeriesDescription = "AI measurement panel (simulated)"
    ds.ConversionType = "WSD"
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.PatientOrientation = ""
    ds.Laterality = ""  # General Series 2C: unpaired or not known
    ds.DateOfSecondaryCapture = when.strftime("%Y%m%d")
    ds.TimeOfSecondaryCapture = when.strftime("%H%M%S")
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB"
    ds.PlanarConfiguration = 0
    ds.Rows, ds.Columns = HEIGHT, WIDTH
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.PixelRepresentation = 0
    ds.BurnedInAnnotation = "YES"
    ds.PixelData = pixels
    return ds
