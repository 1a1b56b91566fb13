"""Thyroid and breast SRs with coded and text findings (issue 8 item 9), built with pydicom/highdicom.

The lesion groups follow TID 1501 (Measurement Group): Tracking Identifier and Tracking Unique
Identifier (HAS OBS CONTEXT), Finding (CONTAINS CODE, DCM 121071), Finding Site with its Laterality and
Topographical modifier (TID 300 style), NUM sizes, and qualitative evaluations as CONTAINS CODE/TEXT.
Codes of values come from PS3.16: CID 6027 (BI-RADS assessment; BI = ACR BI-RADS scheme), 6005 shape,
6007 margin, 6152 orientation, 6154 echo pattern, 6155 posterior features, 6157 vascularity, 6019
clockface, CID 2 anatomic modifiers, CID 12130/12131 thyroid parts. DICOM has no code for ACR TI-RADS
or C-TIRADS, so the AI host of these fixtures uses its own private scheme ``99AIHOST`` for those
concept names (what a vendor without a standard code does).
"""

from __future__ import annotations

import highdicom as hd
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from tests.sr_fixtures.build import (
    LATERALITY,
    MEASUREMENT_GROUP,
    REL,
    c,
    code,
    container,
    document,
    num,
    text,
)

TRACKING_ID = c("DCM:112039", "Tracking Identifier")
TRACKING_UID = c("DCM:112040", "Tracking Unique Identifier")
FINDING = c("DCM:121071", "Finding")
FINDING_SITE = c("SCT:363698007", "Finding Site")
TOPOGRAPHICAL = c("SCT:106233006", "Topographical modifier")
LENGTH, WIDTH, DEPTH = c("SCT:410668003", "Length"), c("SCT:103355008", "Width"), c("SCT:131197000", "Depth")
IMAGING_MEASUREMENTS = c("DCM:126010", "Imaging Measurements")
THYROID_REPORT = c("LN:25010-0", "US Thyroid Report")
BREAST_REPORT = c("LN:24601-7", "US Breast Report")

RIGHT, LEFT = c("SCT:24028007", "Right"), c("SCT:7771000", "Left")
LOBE = c("SCT:119281005", "Lobe of thyroid")
LEFT_LOBE = c("SCT:79163004", "Left lobe of thyroid")
SUPERIOR, CENTRAL = c("SCT:264217000", "Superior"), c("SCT:26216008", "Central")
THYROID_NODULE = c("SCT:237495005", "Thyroid Nodule")
BREAST = c("SCT:76752008", "Breast")

# Concept names the AI host sends where DICOM has none (private scheme of the fixture's vendor).
ACR_TIRADS = c("99AIHOST:TIRADS-ACR", "ACR TI-RADS")
C_TIRADS = c("99AIHOST:TIRADS-C", "C-TIRADS")
COMPOSITION = c("99AIHOST:COMP", "Composition")
SHAPE_TEXT = c("99AIHOST:SHAPE", "Shape")
MARGIN_TEXT = c("99AIHOST:MARGIN", "Margin")
FOCI = c("99AIHOST:FOCI", "Echogenic foci")
# Standard concept names (DCM / SCT) of the breast and echogenicity descriptors.
ECHOGENICITY = c("DCM:110849", "Echogenicity")
ECHO_PATTERN = c("DCM:111360", "Echo pattern")
SHAPE = c("SCT:300842002", "Shape")
MARGINS = c("DCM:111037", "Margins")
ORIENTATION = c("DCM:111354", "Orientation")
POSTERIOR = c("DCM:111366", "Posterior acoustic features")
VASCULARITY = c("DCM:111372", "Vascularity")
ASSESSMENT = c("DCM:111005", "Assessment Category")
CLOCKFACE = c("DCM:111014", "Clockface or region")
NIPPLE_DISTANCE = c("DCM:121242", "Distance from nipple")
BACKGROUND = c("DCM:111350", "Breast background echotexture")


def uidref(name: hd.sr.CodedConcept, value: str) -> Dataset:
    return hd.sr.UIDRefContentItem(name=name, value=value, relationship_type=REL["obs"])


def site(organ: hd.sr.CodedConcept, side: hd.sr.CodedConcept | None = None,
         position: hd.sr.CodedConcept | None = None) -> Dataset:
    """Finding Site with its Laterality and Topographical modifier as children (TID 300 rows 6-7)."""
    item = code(FINDING_SITE, organ)
    kids = ([code(LATERALITY, side)] if side is not None else []) + ([code(TOPOGRAPHICAL, position)] if position else [])
    if kids:
        item.add_new(0x0040A730, "SQ", kids)
    return item


def lesion_group(tracking: str, finding: hd.sr.CodedConcept, where: Dataset, dims_mm: tuple[float, float, float],
                 *evaluations: Dataset) -> Dataset:
    return container(
        MEASUREMENT_GROUP,
        text(TRACKING_ID, tracking), uidref(TRACKING_UID, generate_uid()),
        code(FINDING, finding, rel="contains"), where,
        *(num(n, v, "mm") for n, v in zip((LENGTH, WIDTH, DEPTH), dims_mm, strict=True)),
        *evaluations,
    )


def ev_code(name: hd.sr.CodedConcept, value: hd.sr.CodedConcept) -> Dataset:
    return code(name, value, rel="contains")


def ev_text(name: hd.sr.CodedConcept, value: str) -> Dataset:
    return text(name, value, rel="contains")


def thyroid_tirads() -> Dataset:
    """Two nodules: right lobe (central) 12×8×7 mm, C-TIRADS 4A / TR5; left lobe (superior) 6×5×4 mm, C-TIRADS 3."""
    n1 = lesion_group(
        "N1", THYROID_NODULE, site(LOBE, RIGHT, CENTRAL), (12, 8, 7),
        ev_text(COMPOSITION, "solid"), ev_code(ECHOGENICITY, c("DCM:111364", "Hypoechoic")),
        ev_text(SHAPE_TEXT, "taller-than-wide"), ev_text(MARGIN_TEXT, "ill-defined"),
        ev_text(FOCI, "punctate echogenic foci"), ev_text(ACR_TIRADS, "TR5"), ev_text(C_TIRADS, "4A"),
    )
    n2 = lesion_group(
        "N2", THYROID_NODULE, site(LEFT_LOBE, LEFT, SUPERIOR), (6, 5, 4),
        ev_text(COMPOSITION, "mixed cystic and solid"), ev_code(ECHOGENICITY, c("DCM:111365", "Isoechoic")),
        ev_code(C_TIRADS, c("99AIHOST:CT3", "C-TIRADS 3")),  # a private value code: the category is its meaning
    )
    return document(THYROID_REPORT, [container(IMAGING_MEASUREMENTS, n1, n2)], manufacturer="AI host fixture")


def breast_birads() -> Dataset:
    """Right breast 10 o'clock solid mass 15×10×8 mm, BI-RADS 4B; left breast 2 o'clock cyst 8×6×5 mm, BI-RADS 2."""
    m1 = lesion_group(
        "M1", c("DCM:111462", "Solid mass"), site(BREAST, RIGHT), (15, 10, 8),
        code(CLOCKFACE, c("SCT:129781005", "10 o'clock position")), num(NIPPLE_DISTANCE, 3, "cm"),
        ev_code(SHAPE, c("SCT:49608001", "Irregular")), ev_code(MARGINS, c("SCT:129742005", "Spiculated lesion")),
        ev_code(ORIENTATION, c("DCM:111356", "Not parallel")), ev_code(ECHO_PATTERN, c("DCM:111364", "Hypoechoic")),
        ev_code(POSTERIOR, c("DCM:111369", "Posterior shadowing")),
        ev_code(VASCULARITY, c("DCM:111375", "Vascularity present in lesion")),
        # BI needs a Coding Scheme Version (dciodvfy, PS3.3 Basic Code Sequence Macro): BI-RADS Atlas 5th ed.
        ev_code(ASSESSMENT, hd.sr.CodedConcept("MA.II.A.5.4B", "BI", "4B - Intermediate suspicion", "5")),
    )
    m2 = lesion_group(
        "M2", c("SCT:399294002", "Cyst of breast"), site(BREAST, LEFT), (8, 6, 5),
        code(CLOCKFACE, c("SCT:129773009", "2 o'clock position")),
        ev_code(SHAPE, c("SCT:84360004", "Ovoid shape (Oval)")), ev_code(MARGINS, c("SCT:129738007", "Circumscribed lesion")),
        ev_code(ECHO_PATTERN, c("DCM:111361", "Anechoic")), ev_code(POSTERIOR, c("DCM:111368", "Posterior enhancement")),
        ev_code(ASSESSMENT, c("SCT:397141009", "2 - Benign")),
    )
    background = ev_code(BACKGROUND, c("DCM:111352", "Homogeneous fibroglandular echotexture"))
    return document(BREAST_REPORT, [background, container(IMAGING_MEASUREMENTS, m1, m2)], manufacturer="AI host fixture")


def thyroid_conflict() -> Dataset:
    """One nodule given two different C-TIRADS categories, and one category off the scale (7)."""
    n1 = lesion_group("N1", THYROID_NODULE, site(LOBE, RIGHT), (10, 9, 8),
                      ev_text(C_TIRADS, "4A"), ev_text(C_TIRADS, "4B"))
    n2 = lesion_group("N2", THYROID_NODULE, site(LOBE, LEFT), (5, 4, 3), ev_text(C_TIRADS, "C-TIRADS 7"))
    return document(THYROID_REPORT, [container(IMAGING_MEASUREMENTS, n1, n2)], manufacturer="AI host fixture")


CASES = {"thyroid_tirads": thyroid_tirads, "breast_birads": breast_birads, "thyroid_conflict": thyroid_conflict}
