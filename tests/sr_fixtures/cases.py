"""The SR fixture cases, built with pydicom/highdicom at test (or benchmark) time.

Each function returns a pydicom Dataset; ``write_all(dir)`` writes every case as ``<name>.dcm``.
The expected values in the tests are derived from these definitions by hand, not by the reader.
"""

from __future__ import annotations

import struct
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset, write_file_meta_info

from tests.sr_fixtures.build import (
    CARDIAC_PHASE,
    CT_IMAGE,
    DERIVATION,
    ENHANCED_SR,
    FETUS_ID,
    FINDINGS,
    FINDINGS_OLD,
    FLOW_DIRECTION,
    FLOW_DIRECTION_SRT,
    IMAGE_MODE,
    LATERALITY,
    LEFT,
    LESION_ID,
    MEAN,
    MEAN_CHOSEN,
    MEAN_SRT,
    MEASUREMENT_GROUP,
    METHOD,
    MOST_RECENT,
    REGURGITANT,
    RIGHT,
    SELECTION_STATUS,
    SIMPLIFIED_ECHO_SR,
    Z_SCORE,
    by_reference,
    c,
    code,
    container,
    document,
    num,
    raw_num,
    site,
    text,
)

ECHO = c("DCM:125200", "Adult Echocardiography Procedure Report")
LV = c("SCT:87878005", "Left Ventricle")
RV = c("SCT:53085002", "Right Ventricle")
LA = c("SCT:82471001", "Left Atrium")
AV = c("SCT:34202007", "Aortic Valve")
MV = c("SCT:91134007", "Mitral Valve")
TV = c("SCT:46030003", "Tricuspid Valve")
PV = c("SCT:39057004", "Pulmonic Valve")
AORTA = c("SCT:15825003", "Aorta")
LVOT = c("SCT:13418002", "Left Ventricle Outflow Tract")
MED_ANNULUS = c("SCT:399093001", "Medial Mitral Annulus")
LAT_ANNULUS = c("SCT:399086000", "Lateral Mitral Annulus")
TV_ANNULUS = c("SCT:113259005", "Tricuspid Annulus")
TDI = c("SCT:439858009", "Tissue Doppler Imaging")
MMODE = c("SCT:399155008", "M-mode")
TEICHHOLZ = c("DCM:125209", "Teichholz")
BIPLANE = c("DCM:125207", "Method of Disks, Biplane")
PEAK_VEL = c("LN:20355-4", "Peak Blood Velocity")
PEAK_PG = c("LN:20247-3", "Peak Gradient")
MEAN_PG = c("LN:20256-4", "Mean Gradient")
VTI = c("LN:20354-7", "Velocity Time Integral")
E_PRIME = c("SCT:399133000", "Peak Early Diastolic Tissue Velocity")
A_PRIME = c("SCT:399007006", "Peak Late Diastolic Tissue Velocity")
S_PRIME = c("SCT:399167005", "Peak Systolic Tissue Velocity")
E_E_PRIME = c("SCT:399140004", "E/e'")
LVIDD = c("LN:29436-3", "Left Ventricle Internal End Diastolic Dimension")
EF = c("LN:18043-0", "Left Ventricular Ejection Fraction by US")
CHINESE_NAME = "Zhang^San=张^三"


def section(subject: Dataset, *groups: Dataset, srt: bool = False) -> Dataset:
    return container(FINDINGS_OLD if srt else FINDINGS, site(subject, srt=srt), *groups)


def group(*items: Dataset, mode: Dataset | None = None) -> Dataset:
    return container(MEASUREMENT_GROUP, *([code(IMAGE_MODE, mode)] if mode is not None else []), *items)


def adult_echo_full() -> Dataset:
    """TID 5200 with every category: 2D/M-mode, function, four valves, tissue Doppler; GB18030 name."""
    lv = section(
        LV,
        group(
            num(LVIDD, 4.6, "cm"), num(LVIDD, 4.8, "cm"), num(LVIDD, 4.7, "cm", code(DERIVATION, MEAN)),
            num(c("LN:29438-9", "LVIDs"), 3.1, "cm"),
            num(c("LN:18154-5", "IVSd"), 0.9, "cm"), num(c("LN:18158-6", "IVSs"), 1.3, "cm"),
            num(c("LN:18152-9", "LVPWd"), 0.95, "cm"), num(c("LN:18156-0", "LVPWs"), 1.4, "cm"),
            num(c("LN:18051-3", "FS"), 34, "%"),
            num(EF, 64, "%", code(METHOD, TEICHHOLZ)),
            mode=MMODE,
        ),
        group(
            num(c("LN:18026-5", "LVEDV"), 110, "ml", code(METHOD, BIPLANE)),
            num(c("LN:18148-7", "LVESV"), 42, "ml", code(METHOD, BIPLANE)),
            num(EF, 61, "%", code(METHOD, BIPLANE)),
            num(EF, 60, "%"),
            num(c("LN:18087-7", "LV Mass"), 150, "g"),
            num(c("LN:18087-7", "LV Mass"), 80, "g/m2"),
            num(c("SCT:90096001", "Stroke Volume"), 68, "ml"),
            num(c("SCT:82799009", "Cardiac Output"), 4.8, "l/min"),
            num(c("SCT:54993008", "Cardiac Index"), 2.7, "l/min/m2"),
            num(c("LN:18071-1", "IVRT"), 0.08, "s"),
        ),
        group(num(c("LN:20355-4", "Peak Blood Velocity"), 1.02, "m/s", site(LVOT)),
              num(VTI, 21, "cm", site(LVOT)),
              num(c("SCT:81827009", "Diameter"), 2.1, "cm", site(LVOT))),
        group(
            num(E_PRIME, 8, "cm/s", site(MED_ANNULUS)), num(E_PRIME, 12, "cm/s", site(LAT_ANNULUS)),
            num(E_PRIME, 10, "cm/s", code(DERIVATION, MEAN)),
            num(A_PRIME, 9, "cm/s", site(MED_ANNULUS)), num(A_PRIME, 10, "cm/s", site(LAT_ANNULUS)),
            num(S_PRIME, 7.5, "cm/s", site(MED_ANNULUS)), num(S_PRIME, 9.5, "cm/s", site(LAT_ANNULUS)),
            num(E_E_PRIME, 10.5, "{ratio}", site(MED_ANNULUS)), num(E_E_PRIME, 7.0, "{ratio}", site(LAT_ANNULUS)),
            num(E_E_PRIME, 8.4, "{ratio}"),
            mode=TDI,
        ),
    )
    la = section(LA, group(num(c("LN:29469-4", "LAD"), 3.5, "cm"),
                           num(c("SCT:399235004", "LA Volume"), 48, "ml"),
                           num(c("SCT:399235004", "LA Volume"), 27, "ml/m2")))
    aorta = section(AORTA, group(num(c("LN:18015-8", "Aortic Root Diameter"), 3.2, "cm"),
                                 num(c("LN:18012-5", "Ascending Aorta Diameter"), 3.4, "cm")))
    mv = section(MV, group(
        num(c("LN:18037-2", "MV E"), 0.81, "m/s"), num(c("LN:17978-8", "MV A"), 0.96, "m/s"),
        num(c("LN:18038-0", "MV E/A"), 0.84, "{ratio}"), num(c("SCT:399354002", "MV DT"), 210, "ms"),
        num(MEAN_PG, 2, "mm[Hg]"), num(c("LN:20280-4", "PHT"), 60, "ms"),
    ))
    av = section(AV, group(
        num(PEAK_VEL, 1.3, "m/s"), num(PEAK_PG, 6.8, "mm[Hg]"), num(MEAN_PG, 3.5, "mm[Hg]"),
        num(VTI, 25, "cm"), num(c("SCT:399367004", "Orifice Area"), 3.1, "cm2"),
        num(PEAK_VEL, 2.9, "m/s", code(FLOW_DIRECTION, REGURGITANT)),  # AR: must not become AV_VMAX
    ))
    tv = section(TV, group(
        num(PEAK_VEL, 2.6, "m/s", code(FLOW_DIRECTION, REGURGITANT)),
        num(PEAK_PG, 27, "mm[Hg]", code(FLOW_DIRECTION, REGURGITANT)),
        num(c("LN:59080-2", "E-Wave Peak Velocity"), 0.55, "m/s"),
        num(c("LN:59081-0", "A-Wave Peak Velocity"), 0.40, "m/s"),
    ))
    pv = section(PV, group(num(PEAK_VEL, 0.9, "m/s"), num(PEAK_PG, 3.2, "mm[Hg]"), num(VTI, 18, "cm"),
                           num(c("LN:20168-1", "Acceleration Time"), 130, "ms")))
    rv = section(RV, group(
        num(c("LN:20304-2", "RVIDd"), 3.0, "cm"), num(c("LN:77903-3", "TAPSE"), 2.2, "cm"),
        num(c("SCT:399023006", "RVSP"), 32, "mm[Hg]"),
        num(E_PRIME, 13, "cm/s", site(TV_ANNULUS)), num(A_PRIME, 15, "cm/s", site(TV_ANNULUS)),
        num(S_PRIME, 12, "cm/s", site(TV_ANNULUS)),
    ))
    hr = num(c("LN:8867-4", "Heart rate"), 72, "{beats}/min")
    return document(ECHO, [lv, la, aorta, mv, av, tv, pv, rv, hr], template="5200", charset="GB18030",
                    patient_name=CHINESE_NAME)


def ge_duplicates() -> Dataset:
    """GE Vivid style: SRT codes, Findings 121070, every NUM twice (once with Selection Status)."""
    def twice(concept, value, unit_code, *mods, status=MEAN_CHOSEN):
        return [num(concept, value, unit_code, *mods),
                num(concept, value, unit_code, *mods, code(SELECTION_STATUS, status, rel="props"))]

    av_srt = c("SRT:T-35400", "Aortic Valve")
    lv_srt = c("SRT:T-32600", "Left Ventricle")
    tv_srt = c("SRT:T-35100", "Tricuspid Valve")
    regurg_srt = c("SRT:G-0367", "Regurgitant Flow")
    sections = [
        section(lv_srt, group(
            num(LVIDD, 4.9, "cm"), num(LVIDD, 5.1, "cm"),
            *twice(LVIDD, 5.0, "cm", code(DERIVATION, MEAN_SRT)),
            *twice(c("99GEMS:GEU-AVG-E", "Average Annulus E Velocity"), 9.5, "cm/s", status=MOST_RECENT),
        ), srt=True),
        section(av_srt, group(*twice(PEAK_VEL, 1.4, "m/s"), *twice(PEAK_PG, 7.8, "mm[Hg]")), srt=True),
        section(tv_srt, group(*twice(PEAK_VEL, 2.8, "m/s", code(FLOW_DIRECTION_SRT, regurg_srt)),
                              num(PEAK_VEL, 2.5, "m/s", code(FLOW_DIRECTION_SRT, regurg_srt))), srt=True),
        container(FINDINGS_OLD, code(LATERALITY, c("SRT:G-A101", "Left")),
                  *twice(c("99GEMS:GEU-1005-26", "IMT Posterior Average"), 0.07, "cm")),
    ]
    return document(ECHO, sections, manufacturer="GE Vingmed Ultrasound", model="Vivid T8")


def philips_mm() -> Dataset:
    """Philips EPIQ style: mm, mm/s, mm3 units; a user-defined concepts label/value pair."""
    user_defined = container(
        c("99PHI:T9900-00", "User-defined concepts"),
        container(c("99PHI:T9900-01", "Measurement"),
                  text(c("99PHI:T9900-04", "Label"), "TAPSE", rel="contains"),
                  num(c("99PHI:T9900-05", "Value"), 21, "mm")),
    )
    lv = section(LV, group(num(LVIDD, 47, "mm"), num(c("LN:18026-5", "LVEDV"), 105000, "mm3"),
                           num(E_PRIME, 85, "mm/s", site(MED_ANNULUS))))
    mv = section(MV, group(num(c("LN:18037-2", "MV E"), 780, "mm/s")))
    la = section(LA, group(num(c("99PHI:LAVI", "Left Atrium Systolic Volume Index"), 30, "ml/m2")))
    return document(ECHO, [lv, mv, la, user_defined], manufacturer="Philips Ultrasound", model="EPIQ 7C")


def simplified_echo() -> Dataset:
    """TID 5300 (SOP class 88.72): pre-coordinated CID 12300 codes and a post-coordinated e'."""
    pre = container(c("DCM:125301", "Pre-coordinated Measurements"),
                    num(c("LN:80008-6", "LV internal diastolic dimension - MM"), 4.4, "cm"),
                    num(c("LN:79991-6", "LVEF biplane (MOD)"), 58, "%"),
                    num(c("LN:79921-3", "TR Vmax"), 2.4, "m/s"))
    post = container(c("DCM:125302", "Post-coordinated Measurements"),
                     num(c("DCM:125330", "Peak Tissue Velocity"), 0.09, "m/s", site(MED_ANNULUS),
                         code(CARDIAC_PHASE, c("SCT:444392003", "E-wave"))))
    return document(ECHO, [pre, post], sop_class=SIMPLIFIED_ECHO_SR, template="5300")


def ob_twins() -> Dataset:
    """TID 5000 twins: one section per fetus with Fetus ID; biometry in mm/cm; GA in weeks."""
    def fetus(fid: str, bpd_mm: float, fl_cm: float, ga_wk: float, ua_pi: float) -> Dataset:
        return container(
            c("DCM:125008", "Fetus Summary"), text(FETUS_ID, fid),
            container(c("DCM:125005", "Biometry Group"),
                      num(c("LN:11820-8", "BPD"), bpd_mm, "mm"), num(c("LN:11963-6", "FL"), fl_cm, "cm"),
                      num(c("LN:11979-2", "AC"), 30.1, "cm"), num(c("LN:11984-2", "HC"), 32.0, "cm"),
                      num(c("LN:18185-9", "Gestational Age"), ga_wk, "wk")),
            container(c("DCM:125006", "Fetal Doppler"),
                      num(c("LN:12008-9", "Pulsatility Index"), ua_pi, "{ratio}", site(c("SCT:50536004", "Umbilical Artery"))),
                      num(c("LN:12023-8", "Resistivity Index"), 0.62, "{ratio}", site(c("SCT:50536004", "Umbilical Artery"))),
                      num(c("LN:11726-7", "Peak Systolic Velocity"), 52, "cm/s", site(c("SCT:17232002", "MCA")))),
            num(c("LN:11727-5", "EFW"), 2.1, "kg"),
            num(c("LN:8867-4", "Heart Rate"), 142, "/min"),
        )
    return document(c("DCM:125000", "OB-GYN Ultrasound Procedure Report"),
                    [fetus("A", 85.0, 6.4, 33.5, 0.95), fetus("B", 83.0, 6.2, 33.0, 1.10)],
                    sop_class=ENHANCED_SR)


def carotid() -> Dataset:
    """TID 5100 carotid: laterality on the section, vessel on the group."""
    def side(lat, cca_psv, ica_psv):
        return container(
            FINDINGS, site(c("SCT:45048000", "Neck")), code(LATERALITY, lat),
            container(MEASUREMENT_GROUP, site(c("SCT:32062004", "Common Carotid Artery")),
                      num(c("LN:11726-7", "PSV"), cca_psv, "m/s"), num(c("LN:11653-3", "EDV"), 0.21, "m/s"),
                      num(c("LN:12023-8", "RI"), 0.7, "{ratio}")),
            container(MEASUREMENT_GROUP, site(c("SCT:86117002", "Internal Carotid Artery")),
                      num(c("LN:11726-7", "PSV"), ica_psv, "cm/s"), num(c("LN:11653-3", "EDV"), 25, "cm/s")),
            num(c("LN:33868-1", "ICA/CCA velocity ratio"), round(ica_psv / (cca_psv * 100), 2), "{ratio}"),
        )
    return document(c("LN:24616-5", "US Carotid Arteries Report"), [side(LEFT, 0.85, 70), side(RIGHT, 0.9, 120)])


def thyroid() -> Dataset:
    """Small parts: both lobes (laterality), the isthmus, and a nodule list."""
    lobe = c("SCT:119281005", "Lobe of thyroid")
    length, width, depth = c("SCT:410668003", "Length"), c("SCT:103355008", "Width"), c("SCT:131197000", "Depth")

    def lobe_section(lat, dims):
        return container(FINDINGS, site(lobe), code(LATERALITY, lat),
                         *(num(n, v, "cm") for n, v in zip((length, width, depth), dims, strict=True)))

    def nodule(ident, lat, dims):
        return container(c("SCT:237495005", "Thyroid Nodule"), text(LESION_ID, ident, rel="contains"),
                         site(lobe), code(LATERALITY, lat), *(num(n, v, "mm") for n, v in zip((length, width, depth), dims, strict=True)))
    return document(c("LN:25010-0", "US Thyroid Report"), [
        lobe_section(RIGHT, (4.8, 1.6, 1.5)), lobe_section(LEFT, (4.5, 1.5, 1.4)),
        container(FINDINGS, site(c("SCT:40867004", "Thyroid isthmus")), num(c("LN:59089-3", "Thickness"), 3, "mm")),
        nodule("1", RIGHT, (12, 8, 7)), nodule("2", LEFT, (6, 5, 4)),
    ])


def pediatric() -> Dataset:
    """TID 5220 pediatric echo with z-scores as HAS PROPERTIES NUM children."""
    return document(c("DCM:125195", "Pediatric Cardiac Ultrasound Report"), [
        section(LV, group(num(LVIDD, 3.2, "cm", num(Z_SCORE, 0.8, "{z-score}", rel="props")),
                          num(c("LN:18154-5", "IVSd"), 5, "mm", num(Z_SCORE, -1.2, "1", rel="props")))),
        section(AORTA, group(num(c("LN:18015-8", "Aortic Root"), 1.9, "cm", num(Z_SCORE, 1.5, "1", rel="props")))),
    ])


def malformed_values() -> Dataset:
    """NUMs without value, without units, non-numeric, wrong VR, unknown unit, non-UCUM unit."""
    lv = section(LV, group(
        raw_num(c("LN:29438-9", "LVIDs")),                                    # no measured value
        raw_num(c("LN:18154-5", "IVSd"), "0.9"),                              # no units
        raw_num(c("LN:18152-9", "LVPWd"), "abc", "cm", vr="LO"),              # not a number, wrong VR
        raw_num(c("LN:18051-3", "FS"), 33.0, "%", vr="FD"),                   # binary FD instead of DS
        raw_num(c("LN:18026-5", "LVEDV"), "110", "cc"),                       # not a UCUM code
        raw_num(c("LN:18148-7", "LVESV"), "40", "ml", unit_scheme="99dcmjsUnit"),  # non-UCUM scheme
        num(LVIDD, 4.5, "cm"),                                               # one good item
    ))
    return document(ECHO, [lv])


def reference_loop() -> Dataset:
    """By-reference relationships: a loop (1.2 -> 1.3 -> 1.2), a dangling one, one to an ancestor."""
    a = num(LVIDD, 4.4, "cm", by_reference([1, 3, 2]))
    b = container(MEASUREMENT_GROUP, by_reference([1, 2]), num(EF, 60, "%", by_reference([1, 9, 9])))
    return document(ECHO, [section(LV, a), b])


def empty_sr() -> Dataset:
    return document(ECHO, [])


def not_sr() -> Dataset:
    """A CT image header (valid DICOM, not an SR)."""
    return document(None, [], sop_class=CT_IMAGE)


def deep_bytes(levels: int = 10_000) -> bytes:
    """An SR with content nested ``levels`` deep (written by hand: pydicom's writer would recurse)."""
    ds = document(ECHO, [])
    top = num(LVIDD, 4.5, "cm")
    ds.ContentSequence = [top]
    head = DicomBytesIO()
    head.is_little_endian, head.is_implicit_VR = True, False
    write_file_meta_info(head, ds.file_meta)
    body = DicomBytesIO()
    body.is_little_endian, body.is_implicit_VR = True, False
    del ds.ContentSequence
    write_dataset(body, ds)
    item = DicomBytesIO()
    item.is_little_endian, item.is_implicit_VR = True, False
    write_dataset(item, top)
    container_item = DicomBytesIO()
    container_item.is_little_endian, container_item.is_implicit_VR = True, False
    write_dataset(container_item, container(MEASUREMENT_GROUP))
    sq_open = struct.pack("<HH2sHI", 0x0040, 0xA730, b"SQ", 0, 0xFFFFFFFF)
    item_open = struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
    item_close = struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
    sq_close = struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    out = [b"\0" * 128, b"DICM", head.getvalue(), body.getvalue(), sq_open,
           item_open, item.getvalue(), item_close]
    for _ in range(levels):
        out += [item_open, container_item.getvalue(), sq_open]
    out += [item_open, item.getvalue(), item_close]
    for _ in range(levels):
        out += [sq_close, item_close]
    out.append(sq_close)
    return b"".join(out)


CASES = {
    "adult_echo_full": adult_echo_full, "ge_duplicates": ge_duplicates, "philips_mm": philips_mm,
    "simplified_echo": simplified_echo, "ob_twins": ob_twins, "carotid": carotid, "thyroid": thyroid,
    "pediatric": pediatric, "malformed_values": malformed_values, "reference_loop": reference_loop,
    "empty_sr": empty_sr, "not_sr": not_sr,
}


def write_all(directory: Path) -> dict[str, Path]:
    """Write every case to ``directory``; return name -> path (plus ``deep`` and ``not_dicom``)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, build in CASES.items():
        path = directory / f"{name}.dcm"
        build().save_as(path, enforce_file_format=True)
        paths[name] = path
    paths["deep"] = directory / "deep.dcm"
    paths["deep"].write_bytes(deep_bytes())
    paths["not_dicom"] = directory / "not_dicom.dcm"
    paths["not_dicom"].write_text("this is a text file, not DICOM\n")
    return paths


def mislabelled_implicit_bytes(ds: Dataset) -> bytes:
    """``ds`` encoded Implicit VR Little Endian under a file meta that says Explicit VR (issue 8 item 10).

    This is what an SCP stores when a sender puts implicit-VR bytes on an explicit-VR presentation
    context: the file is DICOM, but not one content item of it can be read in the declared syntax.
    """
    head = DicomBytesIO()
    head.is_little_endian, head.is_implicit_VR = True, False
    write_file_meta_info(head, ds.file_meta)  # TransferSyntaxUID stays Explicit VR Little Endian
    body = DicomBytesIO()
    body.is_little_endian, body.is_implicit_VR = True, True
    write_dataset(body, ds)
    return b"\0" * 128 + b"DICM" + head.getvalue() + body.getvalue()


def qualified_num(concept, value: str, unit_code: str, qualifier) -> Dataset:
    """A NUM whose Numeric Value Qualifier (CID 42, e.g. Not a number) says its number is unusable."""
    item = raw_num(concept, value, unit_code)
    q = Dataset()
    q.CodeValue, q.CodingSchemeDesignator, q.CodeMeaning = qualifier.value, qualifier.scheme_designator, qualifier.meaning
    item.NumericValueQualifierCodeSequence = [q]
    return item
