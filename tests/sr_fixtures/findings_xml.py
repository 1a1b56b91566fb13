"""Thyroid and breast findings written as DCMTK XML and converted with ``xml2dsr`` (encoder 2).

Same TID 1501 lesion-group shape as ``findings_cases.py``, independent of pydicom. The thyroid file
carries Chinese TEXT values (ISO_IR 192), as a Chinese AI host writes them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from xml.sax.saxutils import escape

from pydicom.uid import generate_uid

from tests.sr_fixtures.dcmtk_xml import _coded_value, _concept, container, num, report, text, xml2dsr

GROUP = ("DCM:125007", "Measurement Group")
IMAGING_MEASUREMENTS = ("DCM:126010", "Imaging Measurements")
OBS = "HAS OBS CONTEXT"


def code(concept: tuple[str, str], value: tuple[str, str], *children: str, rel: str = "HAS CONCEPT MOD") -> str:
    return (f"<code><relationship>{rel}</relationship>{_concept('concept', *concept)}" + "".join(children)
            + f"{_coded_value(*value)}</code>")


def uidref(concept: tuple[str, str], value: str) -> str:
    return f"<uidref><relationship>{OBS}</relationship>{_concept('concept', *concept)}<value>{escape(value)}</value></uidref>"


def lesion(tracking: str, finding: tuple[str, str], site: str, dims: tuple[str, str, str], *evaluations: str) -> str:
    sizes = [num(n, v, "mm") for n, v in zip(
        (("SCT:410668003", "Length"), ("SCT:103355008", "Width"), ("SCT:131197000", "Depth")), dims, strict=True)]
    return container(
        GROUP, text(("DCM:112039", "Tracking Identifier"), tracking, rel=OBS),
        uidref(("DCM:112040", "Tracking Unique Identifier"), generate_uid()),
        code(("DCM:121071", "Finding"), finding, rel="CONTAINS"), site, *sizes, *evaluations,
    )


def finding_site(organ: tuple[str, str], side: tuple[str, str], position: tuple[str, str] | None = None) -> str:
    kids = [code(("SCT:272741003", "Laterality"), side)]
    if position is not None:
        kids.append(code(("SCT:106233006", "Topographical modifier"), position))
    return code(("SCT:363698007", "Finding Site"), organ, *kids)


def thyroid_xml() -> str:
    """Right lobe (lateralised site code) lower part nodule 9×7×6 mm; Chinese text: 实性, 低回声, C-TIRADS 4B类."""
    n1 = lesion(
        "1", ("SCT:237495005", "Thyroid Nodule"),
        finding_site(("SCT:29565003", "Right lobe of thyroid"), ("SCT:24028007", "Right"), ("SCT:261089000", "Inferior")),
        ("9", "7", "6"),
        text(("99AIHOST:COMP", "Composition"), "实性", rel="CONTAINS"),
        text(("99AIHOST:ECHO", "Echogenicity"), "低回声", rel="CONTAINS"),
        text(("99AIHOST:TIRADS-ACR", "ACR TI-RADS"), "TR4", rel="CONTAINS"),
        text(("99AIHOST:TIRADS-C", "C-TIRADS"), "C-TIRADS 4B类", rel="CONTAINS"),
    )
    return report(("LN:25010-0", "US Thyroid Report"), container(IMAGING_MEASUREMENTS, n1),
                  manufacturer="DCMTK fixture", patient_last="李", patient_first="四")


def breast_xml() -> str:
    """Right breast 9 o'clock oval circumscribed parallel mass 11×7×6 mm, BI-RADS 3 (SCT 397143007)."""
    m1 = lesion(
        "1", ("DCM:111462", "Solid mass"), finding_site(("SCT:76752008", "Breast"), ("SCT:24028007", "Right")),
        ("11", "7", "6"),
        code(("DCM:111014", "Clockface or region"), ("SCT:129780006", "9 o'clock position")),
        code(("SCT:300842002", "Shape"), ("SCT:84360004", "Ovoid shape (Oval)"), rel="CONTAINS"),
        code(("DCM:111037", "Margins"), ("SCT:129738007", "Circumscribed lesion"), rel="CONTAINS"),
        code(("DCM:111354", "Orientation"), ("DCM:111355", "Parallel"), rel="CONTAINS"),
        code(("DCM:111005", "Assessment Category"), ("SCT:397143007", "3 - Probably Benign"), rel="CONTAINS"),
    )
    return report(("LN:24601-7", "US Breast Report"), container(IMAGING_MEASUREMENTS, m1), manufacturer="DCMTK fixture")


CASES = {"thyroid_findings_dcmtk": thyroid_xml, "breast_findings_dcmtk": breast_xml}


def build(name: str, directory: Path) -> Path:
    """Write ``<name>.xml`` and convert it with xml2dsr; raise CalledProcessError on failure."""
    directory.mkdir(parents=True, exist_ok=True)
    xml_path = directory / f"{name}.xml"
    xml_path.write_text(CASES[name](), encoding="utf-8")
    out = directory / f"{name}.dcm"
    subprocess.run([xml2dsr() or "xml2dsr", str(xml_path), str(out)], check=True, capture_output=True, timeout=60)
    return out
