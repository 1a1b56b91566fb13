"""Build SR fixtures with DCMTK's ``xml2dsr`` from XML written here (encoder 2, independent of pydicom).

The XML follows DCMTK's ``dsr2xml.xsd`` (``/usr/share/dcmtk/dsr2xml.xsd``). ``build(name, dir)``
writes ``<name>.xml`` and runs ``xml2dsr`` to produce ``<name>.dcm``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from xml.sax.saxutils import escape

from pydicom.uid import generate_uid


def _concept(tag: str, scheme_code: str, meaning: str) -> str:
    scheme, _, value = scheme_code.partition(":")
    return (f"<{tag}><value>{escape(value)}</value><scheme><designator>{scheme}</designator></scheme>"
            f"<meaning>{escape(meaning)}</meaning></{tag}>")


def _coded_value(scheme_code: str, meaning: str) -> str:
    scheme, _, value = scheme_code.partition(":")
    return (f"<value>{escape(value)}</value><scheme><designator>{scheme}</designator></scheme>"
            f"<meaning>{escape(meaning)}</meaning>")


def container(concept: tuple[str, str], *children: str, rel: str = "CONTAINS") -> str:
    return (f'<container flag="SEPARATE"><relationship>{rel}</relationship>{_concept("concept", *concept)}'
            + "".join(children) + "</container>")


def num(concept: tuple[str, str], value: str, unit: str, *children: str, rel: str = "CONTAINS") -> str:
    return (f"<num><relationship>{rel}</relationship>{_concept('concept', *concept)}" + "".join(children)
            + f"<value>{value}</value>{_concept('unit', 'UCUM:' + unit, unit)}</num>")


def code(concept: tuple[str, str], value: tuple[str, str], rel: str = "HAS CONCEPT MOD") -> str:
    return f"<code><relationship>{rel}</relationship>{_concept('concept', *concept)}{_coded_value(*value)}</code>"


def text(concept: tuple[str, str], value: str, rel: str = "HAS OBS CONTEXT") -> str:
    return f"<text><relationship>{rel}</relationship>{_concept('concept', *concept)}<value>{escape(value)}</value></text>"


def report(title: tuple[str, str], *children: str, sr_type: str = "Comprehensive SR",
           sop_class: str = "1.2.840.10008.5.1.4.1.1.88.33", manufacturer: str = "DCMTK fixture",
           patient_last: str = "Test", patient_first: str = "Patient") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<report type="{sr_type}">
<sopclass uid="{sop_class}"/>
<charset>ISO_IR 192</charset>
<modality>SR</modality>
<device><manufacturer>{escape(manufacturer)}</manufacturer><model>xml2dsr</model><serial>XML-0001</serial><version>1</version></device>
<patient><id>P0002</id><name><first>{escape(patient_first)}</first><last>{escape(patient_last)}</last></name><sex>M</sex></patient>
<study uid="{generate_uid()}"><id>1</id><date>2024-01-02</date><time>10:15:00</time><accession><number>ACC-X1</number></accession></study>
<series uid="{generate_uid()}"><number>1</number></series>
<instance uid="{generate_uid()}"><number>1</number></instance>
<document>
<completion flag="COMPLETE"></completion>
<verification flag="UNVERIFIED"></verification>
<content><date>2024-01-02</date><time>10:20:00</time>
<container flag="SEPARATE">{_concept("concept", *title)}
{"".join(children)}
</container>
</content>
</document>
</report>
"""


FS = ("SCT:363698007", "Finding Site")
FS_SRT = ("SRT:G-C0E3", "Finding Site")
GROUP = ("DCM:125007", "Measurement Group")
FINDINGS = ("LN:59776-5", "Findings")
ECHO = ("DCM:125200", "Adult Echocardiography Procedure Report")


def echo_xml() -> str:
    """Adult echo: LVIDd in cm, AV Vmax + TR Vmax (post-coordinated), e' septal/lateral; UTF-8 Chinese name."""
    lv = container(FINDINGS, code(FS, ("SCT:87878005", "Left Ventricle")), container(
        GROUP,
        num(("LN:29436-3", "LVIDd"), "4.6", "cm"),
        num(("LN:29436-3", "LVIDd"), "4.8", "cm", code(("DCM:121404", "Selection Status"),
                                                       ("DCM:121410", "User chosen value"), rel="HAS PROPERTIES")),
        num(("LN:29436-3", "LVIDd"), "4.7", "cm", code(("DCM:121401", "Derivation"), ("SCT:373098007", "Mean"))),
        num(("SCT:399133000", "e'"), "0.08", "m/s", code(FS, ("SCT:399093001", "Medial Mitral Annulus"))),
        num(("SCT:399133000", "e'"), "0.12", "m/s", code(FS, ("SCT:399086000", "Lateral Mitral Annulus"))),
    ))
    av = container(FINDINGS, code(FS_SRT, ("SRT:T-35400", "Aortic Valve")),
                   container(GROUP, num(("LN:20355-4", "Peak Blood Velocity"), "1.3", "m/s")))
    tv = container(FINDINGS, code(FS, ("SCT:46030003", "Tricuspid Valve")), container(
        GROUP, num(("LN:20355-4", "Peak Blood Velocity"), "2600", "mm/s",
                   code(("SCT:260674002", "Direction of Flow"), ("SCT:397417004", "Regurgitant Flow")))))
    return report(ECHO, lv, av, tv, patient_last="张", patient_first="三")


def ob_twins_xml() -> str:
    """OB twins: Fetus ID per section, BPD in cm, UA PI with a Finding Site."""
    def fetus(fid: str, bpd: str, pi: str) -> str:
        return container(("DCM:125008", "Fetus Summary"), text(("LN:11951-1", "Fetus ID"), fid), container(
            ("DCM:125005", "Biometry Group"), num(("LN:11820-8", "BPD"), bpd, "cm")), container(
            ("DCM:125006", "Fetal Doppler"),
            num(("LN:12008-9", "Pulsatility Index"), pi, "{ratio}", code(FS, ("SCT:50536004", "Umbilical Artery")))))
    return report(("DCM:125000", "OB-GYN Ultrasound Procedure Report"), fetus("A", "8.5", "0.95"),
                  fetus("B", "8.3", "1.10"))


CASES = {"echo_dcmtk": echo_xml, "ob_twins_dcmtk": ob_twins_xml}


def xml2dsr() -> str | None:
    return shutil.which("xml2dsr")


def build(name: str, directory: Path) -> Path:
    """Write ``<name>.xml`` and convert it with xml2dsr; raise CalledProcessError on failure."""
    directory.mkdir(parents=True, exist_ok=True)
    xml_path = directory / f"{name}.xml"
    xml_path.write_text(CASES[name](), encoding="utf-8")
    out = directory / f"{name}.dcm"
    subprocess.run([xml2dsr() or "xml2dsr", str(xml_path), str(out)], check=True, capture_output=True, timeout=60)
    return out
