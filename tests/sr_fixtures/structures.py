"""Issue 8 fixtures, encoder 1 (pydicom/highdicom): the standard's own structures, one function per case.

Each case follows a PS3.16 template as its docstring says; the expected readings are written by hand in
``tests/unit/sr/test_structures.py`` from these definitions and the standard, not from the reader.
``structures_xml.py`` builds the same structures with DCMTK ``xml2dsr`` (encoder 2).
"""

from __future__ import annotations

from pathlib import Path

from pydicom.dataset import Dataset

from tests.sr_fixtures.build import (
    CARDIAC_PHASE,
    DERIVATION,
    FETUS_ID,
    FINDINGS,
    FLOW_DIRECTION,
    LATERALITY,
    LEFT,
    LESION_ID,
    MEAN,
    MEASUREMENT_GROUP,
    RIGHT,
    SELECTION_STATUS,
    SIMPLIFIED_ECHO_SR,
    c,
    code,
    container,
    document,
    num,
    site,
    text,
)

OB_GYN = c("DCM:125000", "OB-GYN Ultrasound Procedure Report")
VASCULAR = c("LN:24616-5", "US Carotid Arteries Report")
PEDIATRIC = c("DCM:125195", "Pediatric Cardiac Ultrasound Report")
THYROID_REPORT = c("LN:25010-0", "US Thyroid Report")
ECHO = c("DCM:125200", "Adult Echocardiography Procedure Report")

SUBJECT_CLASS = c("DCM:121024", "Subject Class")
FETUS = c("DCM:121026", "Fetus")
BIOMETRY_GROUP = c("DCM:125005", "Biometry Group")
FETAL_BIOMETRY = c("DCM:125002", "Fetal Biometry")
FETUS_SUMMARY = c("DCM:125008", "Fetus Summary")
PELVIS_UTERUS = c("DCM:125011", "Pelvis and Uterus")
IDENTIFIER = c("DCM:125010", "Identifier")
TOPO = c("SCT:106233006", "Topographical modifier")
PROXIMAL, DISTAL = c("SCT:40415009", "Proximal"), c("SCT:46053002", "Distal")
Z_SCORE = c("DCM:121416", "Z-Score of measurement")
PERCENTILE = c("DCM:121415", "Percentile Ranking of measurement")
NR_LOW, NR_HIGH = c("SCT:385524004", "Normal Range Lower Limit"), c("SCT:371933006", "Normal Range Upper Limit")
GROWTH_PCT, GROWTH_Z = c("DCM:125012", "Growth Percentile Rank"), c("DCM:125013", "Growth Z-score")
GA = c("LN:18185-9", "Gestational Age")
DOPPLER_ANGLE = c("DCM:125106", "Doppler Angle")
SV_DEPTH = c("DCM:125107", "Sample Volume Depth")
HEART_RATE = c("LN:8867-4", "Heart rate")
MEAS_TYPE, INDEXED = c("DCM:125306", "Measurement Type"), c("DCM:125313", "Indexed")
MAXIMUM = c("SCT:56851009", "Maximum")
E_WAVE, A_WAVE = c("SCT:444392003", "Diastolic Rapid Inflow (E-wave)"), c("SCT:59972007", "Atrial Systole (A-wave)")
RETROGRADE = c("SCT:312004007", "Retrograde Direction")
LENGTH, WIDTH, HEIGHT, VOLUME = (c("SCT:410668003", "Length"), c("SCT:103355008", "Width"), c("DCM:121207", "Height"),
                                 c("SCT:118565006", "Volume"))
DIAMETER = c("SCT:81827009", "Diameter")
PSV, EDV, RI, PI, SD = (c("LN:11726-7", "Peak Systolic Velocity"), c("LN:11653-3", "End Diastolic Velocity"),
                        c("LN:12023-8", "Resistivity Index"), c("LN:12008-9", "Pulsatility Index"),
                        c("LN:12144-2", "Systolic to Diastolic Velocity Ratio"))
PBV = c("LN:20355-4", "Peak Blood Velocity")

CCA, ICA, ECA, VA = (c("SCT:32062004", "Common carotid artery"), c("SCT:86117002", "Internal carotid artery"),
                     c("SCT:22286001", "External carotid artery"), c("SCT:85234005", "Vertebral artery"))
RENAL_ARTERY, SEGMENTAL = c("SCT:2841007", "Renal artery"), c("SCT:120234003", "Segmental Artery")
UMBILICAL_ARTERY, MCA = c("SCT:50536004", "Umbilical artery"), c("SCT:17232002", "Middle Cerebral Artery")
DUCTUS_VENOSUS, UTERINE_ARTERY = c("SCT:367624001", "Ductus venosus"), c("SCT:91079009", "Uterine Artery")
UTERUS, OVARY, ENDOMETRIUM = c("SCT:35039007", "Uterus"), c("SCT:15497006", "Ovary"), c("SCT:2739003", "Endometrium")


def pediatric_derived() -> Dataset:
    """TID 5220/TID 300/310: z-score, percentile and normal range as properties of IVSd; LVIDd in {z-score}."""
    lv = container(FINDINGS, site(c("SCT:87878005", "Left Ventricle")), container(
        MEASUREMENT_GROUP,
        num(c("LN:18154-5", "IVSd"), 0.6, "cm",
            num(Z_SCORE, -1.1, "{z-score}", rel="props"), num(PERCENTILE, 14, "%", rel="props"),
            num(NR_LOW, 0.4, "cm", rel="props"), num(NR_HIGH, 0.8, "cm", rel="props")),
        num(c("LN:29436-3", "LVIDd"), 3.4, "cm"),
        num(c("LN:29436-3", "LVIDd"), 2.1, "{z-score}"),  # a sibling NUM of the same concept in {z-score}
    ))
    return document(PEDIATRIC, [lv])


def acquisition_context() -> Dataset:
    """TID 5202/5203 + TID 5026 rows 6-7: heart rate at acquisition on the group, Doppler angle and
    sample volume on the NUM, and a heart rate measured in its own right."""
    group = container(
        MEASUREMENT_GROUP,
        num(HEART_RATE, 75, "/min", rel="acq"),
        num(c("LN:18037-2", "Mitral Valve E-Wave Peak Velocity"), 0.8, "m/s",
            num(DOPPLER_ANGLE, 20, "deg", rel="acq"), num(SV_DEPTH, 8, "cm", rel="props")),
    )
    return document(ECHO, [container(FINDINGS, site(c("SCT:91134007", "Mitral Valve")), group),
                           num(HEART_RATE, 72, "/min")])


def _fetus_context(fid: str) -> list[Dataset]:
    """TID 1008 Subject Context, Fetus: Subject Class = Fetus, Fetus ID."""
    return [code(SUBJECT_CLASS, FETUS, rel="obs"), text(FETUS_ID, fid)]


def ob_gyn() -> Dataset:
    """TID 5000: biometry groups (TID 5008) with GA, percentile and z-score; fetal Doppler in vessel
    containers (TID 5025); uterine arteries per side (TID 5026); pelvis and uterus (TID 5015/5016),
    ovaries (TID 5012) and follicles (TID 5013) of a GYN exam."""
    biometry = container(
        FETAL_BIOMETRY, *_fetus_context("1"),
        container(BIOMETRY_GROUP,
                  num(c("LN:11820-8", "Biparietal Diameter"), 8.4, "cm"),
                  num(c("LN:11820-8", "Biparietal Diameter"), 8.6, "cm"),
                  num(c("LN:11820-8", "Biparietal Diameter"), 8.5, "cm", code(DERIVATION, MEAN)),
                  num(GA, 238, "d"), num(GROWTH_PCT, 40, "%"), num(GROWTH_Z, -0.25, "{z-score}")),
        container(BIOMETRY_GROUP,
                  num(c("LN:11963-6", "Femur Length"), 65, "mm"), num(GA, 33.5, "wk"), num(GROWTH_PCT, 35, "%")),
    )
    summary = container(FETUS_SUMMARY, *_fetus_context("1"),
                        num(c("LN:11727-5", "Estimated Weight"), 2300, "g"),
                        num(c("LN:11767-1", "EFW percentile rank"), 45, "%"), num(GA, 236, "d"))
    doppler = container(
        FINDINGS, *_fetus_context("1"),
        container(UMBILICAL_ARTERY, num(PI, 1.02, "{ratio}", num(DOPPLER_ANGLE, 20, "deg", rel="props")),
                  num(RI, 0.65, "{ratio}"), num(SD, 2.8, "{ratio}"), num(PSV, 45, "cm/s")),
        container(MCA, num(PSV, 52, "cm/s"), num(PI, 1.9, "{ratio}")),
        container(DUCTUS_VENOSUS, num(PI, 0.55, "{ratio}")),
    )
    maternal = container(
        FINDINGS, site(PELVIS_UTERUS),
        container(UTERINE_ARTERY, code(LATERALITY, LEFT), num(PI, 0.9, "{ratio}"), num(RI, 0.55, "{ratio}")),
        container(UTERINE_ARTERY, code(LATERALITY, RIGHT), num(PI, 1.1, "{ratio}"), num(RI, 0.62, "{ratio}")),
    )
    uterus = container(
        FINDINGS, site(PELVIS_UTERUS),
        container(UTERUS, num(LENGTH, 80, "mm"), num(WIDTH, 50, "mm"), num(HEIGHT, 40, "mm"), num(VOLUME, 85, "ml")),
        num(c("LN:12145-9", "Endometrium Thickness"), 8, "mm"),
        num(c("LN:11961-0", "Cervix Length"), 3.0, "cm"),
    )
    ovaries = container(
        FINDINGS, site(OVARY),
        container(OVARY, code(LATERALITY, LEFT), num(LENGTH, 30, "mm"), num(WIDTH, 20, "mm"), num(VOLUME, 4.7, "ml")),
        container(OVARY, code(LATERALITY, RIGHT), num(LENGTH, 32, "mm"), num(WIDTH, 21, "mm")),
    )
    follicles = container(
        FINDINGS, site(OVARY), code(LATERALITY, LEFT),
        num(c("LN:11879-4", "Number of follicles in left ovary"), 2, "{follicles}"),
        container(MEASUREMENT_GROUP, text(IDENTIFIER, "1"), num(DIAMETER, 18, "mm")),
        container(MEASUREMENT_GROUP, text(IDENTIFIER, "2"), num(DIAMETER, 12, "mm")),
    )
    return document(OB_GYN, [biometry, summary, doppler, maternal, uterus, ovaries, follicles])


def vascular() -> Dataset:
    """TID 5100/5103/5104: the group container names the vessel; laterality on the section (right) or
    only on the group (left vertebral); segments as Topographical modifiers on the NUM."""
    right = container(
        FINDINGS, site(c("SCT:45048000", "Neck")), code(LATERALITY, RIGHT),
        container(CCA, num(PSV, 90, "cm/s", code(TOPO, PROXIMAL)), num(PSV, 85, "cm/s", code(TOPO, DISTAL)),
                  num(EDV, 20, "cm/s")),
        container(ICA, num(PSV, 120, "cm/s"), num(EDV, 40, "cm/s")),
        container(ECA, num(PSV, 110, "cm/s"), num(EDV, 15, "cm/s")),
        num(c("LN:33868-1", "ICA/CCA velocity ratio"), 1.33, "{ratio}"),
    )
    left = container(
        FINDINGS, site(c("SCT:45048000", "Neck")),
        container(VA, code(LATERALITY, LEFT), num(PSV, 50, "cm/s"), num(RI, 0.7, "{ratio}")),
    )
    renal = container(
        FINDINGS, site(c("SCT:303402001", "Vascular structure of kidney")), code(LATERALITY, LEFT),
        container(RENAL_ARTERY, num(PSV, 95, "cm/s"), num(RI, 0.68, "{ratio}")),
        container(SEGMENTAL, num(RI, 0.62, "{ratio}")),
    )
    return document(VASCULAR, [right, left, renal])


def simplified_echo_postcoordinated() -> Dataset:
    """TID 5300: TID 5301 replicates with a CID 12301 preferred flag; TID 5302 post-coordinated rows."""
    pre = container(
        c("DCM:125301", "Pre-coordinated Measurements"),
        num(c("LN:80070-6", "MV E velocity"), 0.78, "m/s"),
        num(c("LN:80070-6", "MV E velocity"), 0.82, "m/s", code(SELECTION_STATUS, MAXIMUM, rel="props")),
        num(c("LN:80070-6", "MV E velocity"), 0.80, "m/s"),
    )
    mv, tv, av, la, rv = (c("SCT:91134007", "Mitral Valve"), c("SCT:46030003", "Tricuspid valve"),
                          c("SCT:34202007", "Aortic Valve"), c("SCT:82471001", "Left atrium"),
                          c("SCT:53085002", "Right ventricle"))
    annulus = c("SCT:113259005", "Tricuspid Annulus")
    excursion = c("DCM:125327", "Excursion Distance")
    post = container(
        c("DCM:125302", "Post-coordinated Measurements"),
        num(PBV, 0.6, "m/s", site(mv), code(CARDIAC_PHASE, A_WAVE)),
        num(PBV, 2.8, "m/s", site(tv), code(FLOW_DIRECTION, RETROGRADE)),
        num(PBV, 5.0, "m/s", site(mv), code(FLOW_DIRECTION, RETROGRADE)),  # the MR jet: neither E nor A
        num(PBV, 4.0, "m/s", site(av), code(FLOW_DIRECTION, RETROGRADE)),  # the AR jet: not AV Vmax
        num(excursion, 2.1, "cm", site(annulus)),
        num(excursion, 2.3, "cm", site(annulus), code(SELECTION_STATUS, MAXIMUM, rel="props")),
        num(excursion, 2.2, "cm", site(annulus)),
        num(VOLUME, 34, "ml/m2", site(la), code(MEAS_TYPE, INDEXED)),
        num(VOLUME, 58, "ml", site(la)),
        num(c("DCM:125329", "Peak Blood Pressure"), 35, "mm[Hg]", site(rv)),
        num(PBV, 0.5, "m/s", site(tv), code(CARDIAC_PHASE, E_WAVE)),
        num(c("LN:59090-1", "Internal Dimension"), 4.8, "cm", site(c("SCT:87878005", "Left ventricle")),
            code(CARDIAC_PHASE, c("SCT:416190007", "End diastole"))),
    )
    return document(ECHO, [pre, post], sop_class=SIMPLIFIED_ECHO_SR, template="5300")


def lateralised_sites() -> Dataset:
    """Sites that carry their side: thyroid lobes (CID 12131), a left ovary and a right kidney, one
    of them contradicted by an explicit Laterality."""
    right_lobe, left_lobe = c("SCT:29565003", "Right lobe of thyroid"), c("SCT:79163004", "Left lobe of thyroid")
    return document(THYROID_REPORT, [
        container(FINDINGS, site(right_lobe), num(LENGTH, 46, "mm"), num(WIDTH, 16, "mm")),
        container(FINDINGS, site(left_lobe), code(LATERALITY, LEFT), num(LENGTH, 44, "mm")),
        container(FINDINGS, site(left_lobe), code(LATERALITY, RIGHT), num(WIDTH, 15, "mm")),  # contradiction
        container(c("SCT:237495005", "Thyroid Nodule"), text(LESION_ID, "1", rel="contains"), site(right_lobe),
                  num(LENGTH, 12, "mm")),
        container(FINDINGS, site(c("SCT:43981004", "Left ovary")), num(LENGTH, 31, "mm")),
        container(FINDINGS, site(c("SCT:9846003", "Right kidney")), num(LENGTH, 105, "mm")),
    ])


CASES = {
    "pediatric_derived": pediatric_derived, "acquisition_context": acquisition_context, "ob_gyn": ob_gyn,
    "vascular": vascular, "simplified_echo_postcoordinated": simplified_echo_postcoordinated,
    "lateralised_sites": lateralised_sites,
}


def write_all(directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, build in CASES.items():
        out[name] = directory / f"{name}.dcm"
        build().save_as(out[name], enforce_file_format=True)
    return out
