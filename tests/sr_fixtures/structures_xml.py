"""Issue 8 fixtures, encoder 2: the structures of ``structures.py`` written as DCMTK XML for ``xml2dsr``.

Same templates and values as the pydicom cases (so the same hand-derived readings apply), written
independently through DCMTK's XML schema (``/usr/share/dcmtk/dsr2xml.xsd``).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.sr_fixtures.dcmtk_xml import (
    FINDINGS,
    FS,
    GROUP,
    _concept,
    code,
    container,
    num,
    report,
    text,
    xml2dsr,
)

LAT = ("SCT:272741003", "Laterality")
LEFT, RIGHT = ("SCT:7771000", "Left"), ("SCT:24028007", "Right")
TOPO = ("SCT:106233006", "Topographical modifier")
FETUS_CTX = (code(("DCM:121024", "Subject Class"), ("DCM:121026", "Fetus"), rel="HAS OBS CONTEXT"),
             text(("LN:11951-1", "Fetus ID"), "1"))
PSV, EDV, RI, PI = (("LN:11726-7", "Peak Systolic Velocity"), ("LN:11653-3", "End Diastolic Velocity"),
                    ("LN:12023-8", "Resistivity Index"), ("LN:12008-9", "Pulsatility Index"))
SELECTION, MAXIMUM = ("DCM:121404", "Selection Status"), ("SCT:56851009", "Maximum")
PBV = ("LN:20355-4", "Peak Blood Velocity")


def pediatric_derived() -> str:
    ivsd = num(("LN:18154-5", "IVSd"), "0.6", "cm",
               num(("DCM:121416", "Z-Score of measurement"), "-1.1", "{z-score}", rel="HAS PROPERTIES"),
               num(("DCM:121415", "Percentile Ranking of measurement"), "14", "%", rel="HAS PROPERTIES"),
               num(("SCT:385524004", "Normal Range Lower Limit"), "0.4", "cm", rel="HAS PROPERTIES"),
               num(("SCT:371933006", "Normal Range Upper Limit"), "0.8", "cm", rel="HAS PROPERTIES"))
    lv = container(FINDINGS, code(FS, ("SCT:87878005", "Left Ventricle")), container(
        GROUP, ivsd, num(("LN:29436-3", "LVIDd"), "3.4", "cm"), num(("LN:29436-3", "LVIDd"), "2.1", "{z-score}")))
    return report(("DCM:125195", "Pediatric Cardiac Ultrasound Report"), lv)


def ob_gyn() -> str:
    bpd = ("LN:11820-8", "Biparietal Diameter")
    ga = ("LN:18185-9", "Gestational Age")
    biometry = container(("DCM:125002", "Fetal Biometry"), *FETUS_CTX, container(
        ("DCM:125005", "Biometry Group"), num(bpd, "8.4", "cm"), num(bpd, "8.6", "cm"),
        num(bpd, "8.5", "cm", code(("DCM:121401", "Derivation"), ("SCT:373098007", "Mean"))),
        num(ga, "238", "d"), num(("DCM:125012", "Growth Percentile Rank"), "40", "%"),
        num(("DCM:125013", "Growth Z-score"), "-0.25", "{z-score}")))
    summary = container(("DCM:125008", "Fetus Summary"), *FETUS_CTX,
                        num(("LN:11727-5", "Estimated Weight"), "2300", "g"),
                        num(("LN:11767-1", "EFW percentile rank"), "45", "%"), num(ga, "236", "d"))
    doppler = container(
        FINDINGS, *FETUS_CTX,
        container(("SCT:50536004", "Umbilical artery"),
                  num(PI, "1.02", "{ratio}", num(("DCM:125106", "Doppler Angle"), "20", "deg", rel="HAS PROPERTIES")),
                  num(RI, "0.65", "{ratio}")),
        container(("SCT:17232002", "Middle Cerebral Artery"), num(PSV, "52", "cm/s")),
        container(("SCT:367624001", "Ductus venosus"), num(PI, "0.55", "{ratio}")))
    maternal = container(
        FINDINGS, code(FS, ("DCM:125011", "Pelvis and Uterus")),
        container(("SCT:91079009", "Uterine Artery"), code(LAT, LEFT), num(PI, "0.9", "{ratio}")),
        container(("SCT:91079009", "Uterine Artery"), code(LAT, RIGHT), num(PI, "1.1", "{ratio}")))
    uterus = container(
        FINDINGS, code(FS, ("DCM:125011", "Pelvis and Uterus")),
        container(("SCT:35039007", "Uterus"), num(("SCT:410668003", "Length"), "80", "mm"),
                  num(("SCT:118565006", "Volume"), "85", "ml")),
        num(("LN:12145-9", "Endometrium Thickness"), "8", "mm"))
    follicles = container(
        FINDINGS, code(FS, ("SCT:15497006", "Ovary")), code(LAT, LEFT),
        num(("LN:11879-4", "Number of follicles in left ovary"), "2", "{follicles}"),
        container(GROUP, text(("DCM:125010", "Identifier"), "1"), num(("SCT:81827009", "Diameter"), "18", "mm")),
        container(GROUP, text(("DCM:125010", "Identifier"), "2"), num(("SCT:81827009", "Diameter"), "12", "mm")))
    return report(("DCM:125000", "OB-GYN Ultrasound Procedure Report"), biometry, summary, doppler, maternal,
                  uterus, follicles)


def vascular() -> str:
    right = container(
        FINDINGS, code(FS, ("SCT:45048000", "Neck")), code(LAT, RIGHT),
        container(("SCT:32062004", "Common carotid artery"),
                  num(PSV, "90", "cm/s", code(TOPO, ("SCT:40415009", "Proximal"))),
                  num(PSV, "85", "cm/s", code(TOPO, ("SCT:46053002", "Distal")))),
        container(("SCT:86117002", "Internal carotid artery"), num(PSV, "120", "cm/s")),
        container(("SCT:22286001", "External carotid artery"), num(PSV, "110", "cm/s")),
        num(("LN:33868-1", "ICA/CCA velocity ratio"), "1.33", "{ratio}"))
    left = container(FINDINGS, code(FS, ("SCT:45048000", "Neck")), container(
        ("SCT:85234005", "Vertebral artery"), code(LAT, LEFT), num(PSV, "50", "cm/s"), num(RI, "0.7", "{ratio}")))
    return report(("LN:24616-5", "US Carotid Arteries Report"), right, left)


def acquisition_context() -> str:
    hr = ("LN:8867-4", "Heart rate")
    group = container(GROUP, num(hr, "75", "/min", rel="HAS ACQ CONTEXT"), num(
        ("LN:18037-2", "Mitral Valve E-Wave Peak Velocity"), "0.8", "m/s",
        num(("DCM:125106", "Doppler Angle"), "20", "deg", rel="HAS ACQ CONTEXT"),
        num(("DCM:125107", "Sample Volume Depth"), "8", "cm", rel="HAS PROPERTIES")))
    return report(("DCM:125200", "Adult Echocardiography Procedure Report"),
                  container(FINDINGS, code(FS, ("SCT:91134007", "Mitral Valve")), group), num(hr, "72", "/min"))


def simplified_echo_postcoordinated() -> str:
    mv_e = ("LN:80070-6", "MV E velocity")
    pre = container(("DCM:125301", "Pre-coordinated Measurements"), num(mv_e, "0.78", "m/s"),
                    num(mv_e, "0.82", "m/s", code(SELECTION, MAXIMUM, rel="HAS PROPERTIES")), num(mv_e, "0.80", "m/s"))
    flow = ("SCT:260674002", "Direction of Flow")
    retro = ("SCT:312004007", "Retrograde Direction")
    post = container(
        ("DCM:125302", "Post-coordinated Measurements"),
        num(PBV, "0.6", "m/s", code(FS, ("SCT:91134007", "Mitral Valve")),
            code(("SCT:272518008", "Cardiovascular cycle point"), ("SCT:59972007", "Atrial Systole (A-wave)"))),
        num(PBV, "2.8", "m/s", code(FS, ("SCT:46030003", "Tricuspid valve")), code(flow, retro)),
        num(PBV, "5.0", "m/s", code(FS, ("SCT:91134007", "Mitral Valve")), code(flow, retro)),
        num(("DCM:125327", "Excursion Distance"), "2.3", "cm", code(FS, ("SCT:113259005", "Tricuspid Annulus")),
            code(SELECTION, MAXIMUM, rel="HAS PROPERTIES")),
        num(("DCM:125327", "Excursion Distance"), "2.2", "cm", code(FS, ("SCT:113259005", "Tricuspid Annulus"))),
        num(("SCT:118565006", "Volume"), "34", "ml/m2", code(FS, ("SCT:82471001", "Left atrium")),
            code(("DCM:125306", "Measurement Type"), ("DCM:125313", "Indexed"))),
        num(("DCM:125329", "Peak Blood Pressure"), "35", "mm[Hg]", code(FS, ("SCT:53085002", "Right ventricle"))),
        num(PBV, "0.5", "m/s", code(FS, ("SCT:46030003", "Tricuspid valve")),
            code(("SCT:272518008", "Cardiovascular cycle point"), ("SCT:444392003", "Diastolic Rapid Inflow (E-wave)"))),
        num(("LN:59090-1", "Internal Dimension"), "4.8", "cm", code(FS, ("SCT:87878005", "Left ventricle")),
            code(("SCT:272518008", "Cardiovascular cycle point"), ("SCT:416190007", "End diastole"))))
    return report(("DCM:125200", "Adult Echocardiography Procedure Report"), pre, post,
                  sr_type="Simplified Adult Echo SR", sop_class="1.2.840.10008.5.1.4.1.1.88.72")


def lateralised_sites() -> str:
    length, width = ("SCT:410668003", "Length"), ("SCT:103355008", "Width")
    right_lobe, left_lobe = ("SCT:29565003", "Right lobe of thyroid"), ("SCT:79163004", "Left lobe of thyroid")
    return report(("LN:25010-0", "US Thyroid Report"),
                  container(FINDINGS, code(FS, right_lobe), num(length, "46", "mm")),
                  container(FINDINGS, code(FS, left_lobe), code(LAT, LEFT), num(length, "44", "mm")),
                  container(FINDINGS, code(FS, left_lobe), code(LAT, RIGHT), num(width, "15", "mm")),
                  container(FINDINGS, code(FS, ("SCT:43981004", "Left ovary")), num(length, "31", "mm")))


def qualified(concept: tuple[str, str], qualifier: tuple[str, str]) -> str:
    """A NUM with no measured value and a Numeric Value Qualifier (PS3.3 C.18.1, CID 42)."""
    return (f"<num><relationship>CONTAINS</relationship>{_concept('concept', *concept)}"
            f"{_concept('qualifier', *qualifier)}</num>")


def empty_values() -> str:
    """Items 6 and 7: a last replicate that is not a number, a key with no number at all, {H.B.}/min."""
    lvidd, lvids = ("LN:29436-3", "LVIDd"), ("LN:29438-9", "LVIDs")
    group = container(GROUP, num(lvidd, "4.6", "cm"), num(lvidd, "4.8", "cm"),
                      qualified(lvidd, ("DCM:114000", "Not a number")),
                      qualified(lvids, ("DCM:114006", "Measurement failure")),
                      num(("LN:8867-4", "Heart rate"), "64", "{H.B.}/min"))
    return report(("DCM:125200", "Adult Echocardiography Procedure Report"),
                  container(FINDINGS, code(FS, ("SCT:87878005", "Left Ventricle")), group))


CASES = {
    "empty_values": empty_values,
    "pediatric_derived": pediatric_derived, "ob_gyn": ob_gyn, "vascular": vascular,
    "acquisition_context": acquisition_context, "simplified_echo_postcoordinated": simplified_echo_postcoordinated,
    "lateralised_sites": lateralised_sites,
}


def build(name: str, directory: Path) -> Path:
    """Write ``<name>.xml`` and convert it with xml2dsr; raise CalledProcessError (with DCMTK's reason)."""
    directory.mkdir(parents=True, exist_ok=True)
    xml_path = directory / f"{name}.xml"
    xml_path.write_text(CASES[name](), encoding="utf-8")
    out = directory / f"{name}.dcm"
    subprocess.run([xml2dsr() or "xml2dsr", str(xml_path), str(out)], check=True, capture_output=True, timeout=60)
    return out
