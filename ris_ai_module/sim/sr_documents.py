"""The simulator's Comprehensive SR documents, one per exam kind, following the PS3.16 templates:

* adult echo: TID 5200 (sections TID 5202 with Finding Site, measurement groups by image mode, TID 5203 NUMs);
* OB: TID 5000 with one TID 5005 Fetal Biometry section per fetus (TID 1008 Subject Context, Fetus;
  TID 5008 Biometry Groups with GA), TID 5003 Fetus Summary (EFW) and TID 5025 fetal vascular groups;
* carotid: TID 5100 with a TID 5103 section per side (Finding Site + Laterality) holding TID 5104 groups
  whose concept name is the vessel, and the ICA/CCA ratio at section level;
* thyroid: the US Thyroid Report title (CID 12320, no PS3.16 template): lobe sections and one measurement
  group per nodule (Lesion Identifier, size, C-TIRADS category in a locally defined coding scheme).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from ris_ai_module import __version__
from ris_ai_module.sim import sr_content as c
from ris_ai_module.sim.sr_content import Code, dcm, ln, num, sct
from ris_ai_module.sim.values import (
    CAROTID,
    ECHO,
    OB,
    THYROID,
    CarotidSide,
    EchoValues,
    FetusValues,
    ThyroidValues,
    VesselValues,
)

COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
MANUFACTURER = "ris-ai-module simulator"
MODEL = "simulate-ai"
#: A locally defined coding scheme (PS3.16 8.2: private schemes start with 99) for what no standard codes.
LOCAL_SCHEME = "99RAISIM"
UID_ROOT = "2.25."


@dataclass(frozen=True)
class ExamIdentity:
    """What the pushed exam says, carried unchanged into every object (patient ID and name exactly)."""

    patient_id: str
    patient_name: str
    birth_date: str  # YYYYMMDD or ""
    sex: str  # M/F/O or ""
    accession: str
    study_uid: str
    study_date: str  # YYYYMMDD
    study_time: str  # HHMMSS
    study_description: str = ""
    exam_key: str = ""


def identity_from_push(body: dict, now: datetime | None = None) -> ExamIdentity:
    """The identity of a canonical push body (see ``push/exam-push.schema.json``)."""
    now = now or datetime.now()
    study = str(body.get("studyDate") or "")
    date = study[:10].replace("-", "") if len(study) >= 10 else now.strftime("%Y%m%d")
    time = study[11:19].replace(":", "") if len(study) >= 16 else now.strftime("%H%M%S")
    return ExamIdentity(
        patient_id=str(body.get("patientId") or ""), patient_name=str(body.get("patientName") or ""),
        birth_date=str(body.get("birthDate") or "").replace("-", ""), sex=str(body.get("sex") or ""),
        accession=str(body.get("accessionNumber") or ""), study_uid=str(body.get("studyInstanceUid") or ""),
        study_date=date, study_time=time.ljust(6, "0")[:6],
        study_description=str(body.get("studyDescription") or body.get("examItems") or ""),
        exam_key=str(body.get("examKey") or ""),
    )


def base_dataset(exam: ExamIdentity, sop_class: str, modality: str, series_uid: str, series_number: int,
                 instance_number: int, when: datetime) -> Dataset:
    """Patient, General Study, series, equipment and SOP Common attributes shared by SC and SR."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    sop_uid = generate_uid(prefix=None)
    ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.InstanceCreationDate = when.strftime("%Y%m%d")
    ds.InstanceCreationTime = when.strftime("%H%M%S")
    ds.PatientName = exam.patient_name
    ds.PatientID = exam.patient_id
    ds.PatientBirthDate = exam.birth_date
    ds.PatientSex = exam.sex
    ds.StudyInstanceUID = exam.study_uid
    ds.StudyDate = exam.study_date
    ds.StudyTime = exam.study_time
    ds.ReferringPhysicianName = ""
    ds.StudyID = (exam.accession or "1")[:16]
    ds.AccessionNumber = exam.accession
    if exam.study_description:
        ds.StudyDescription = exam.study_description[:64]
    ds.Modality = modality
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = series_number
    ds.InstanceNumber = instance_number
    ds.Manufacturer = MANUFACTURER
    ds.ManufacturerModelName = MODEL
    ds.SoftwareVersions = __version__
    ds.DeviceSerialNumber = "SIM-0001"
    ds.ContentDate = when.strftime("%Y%m%d")
    ds.ContentTime = when.strftime("%H%M%S")
    return ds


def observer_context(device_uid: str, ae_title: str) -> list[Dataset]:
    """TID 1001 → TID 1002/1004: the observer is a device (the AI)."""
    return [
        c.code(dcm("121005", "Observer Type"), dcm("121007", "Device"), c.HAS_OBS_CONTEXT),
        c.uidref(dcm("121012", "Device Observer UID"), device_uid),
        c.text(dcm("121013", "Device Observer Name"), ae_title, c.HAS_OBS_CONTEXT),
        c.text(dcm("121014", "Device Observer Manufacturer"), MANUFACTURER, c.HAS_OBS_CONTEXT),
        c.text(dcm("121015", "Device Observer Model Name"), MODEL, c.HAS_OBS_CONTEXT),
    ]


def build_sr(exam: ExamIdentity, kind: str, values: object, ae_title: str, when: datetime | None = None,
             series_uid: str | None = None) -> Dataset:
    """A complete Comprehensive SR data set for ``kind`` (see ``values.KINDS``)."""
    when = when or datetime.now()
    title, template, content = _TEMPLATES[kind](values)
    ds = base_dataset(exam, COMPREHENSIVE_SR, "SR", series_uid or generate_uid(prefix=None), 900, 1, when)
    ds.SeriesDescription = "AI measurements (simulated)"
    ds.ReferencedPerformedProcedureStepSequence = DicomSequence([])
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    ds.PerformedProcedureCodeSequence = DicomSequence([])
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = DicomSequence([title.dataset()])
    ds.ContinuityOfContent = "SEPARATE"
    if template:
        tpl = Dataset()
        tpl.MappingResource = "DCMR"
        tpl.TemplateIdentifier = template
        ds.ContentTemplateSequence = DicomSequence([tpl])
    device_uid = UID_ROOT + str(int.from_bytes(ae_title.encode("utf-8")[:12].ljust(12, b"\0"), "big"))
    ds.ContentSequence = DicomSequence(observer_context(device_uid, ae_title) + content)
    if kind == THYROID:
        scheme = Dataset()
        scheme.CodingSchemeDesignator = LOCAL_SCHEME
        scheme.CodingSchemeName = "ris-ai-module simulator local codes"
        scheme.CodingSchemeResponsibleOrganization = "ris-ai-module"
        ds.CodingSchemeIdentificationSequence = DicomSequence([scheme])
    return ds


# ------------------------------------------------------------------------------------------ adult echo

MODE_2D, MODE_M = sct("399064001", "2D mode"), sct("399155008", "M mode")
MODE_PW, MODE_CW = sct("261199008", "Doppler Pulsed"), sct("261198000", "Doppler Continuous Wave")
MODE_TDI = sct("439858009", "Doppler ultrasonography of heart tissue")
TEICHHOLZ = dcm("125209", "Teichholz")
BIPLANE = dcm("125207", "Method of Disks, Biplane")
LV, RV = sct("87878005", "Left ventricle"), sct("53085002", "Right ventricle")
LA = sct("82471001", "Left atrium")
AORTA, PA = sct("15825003", "Aorta"), sct("81040000", "Pulmonary artery")
MV, AV = sct("91134007", "Mitral Valve"), sct("34202007", "Aortic Valve")
PV, TV = sct("39057004", "Pulmonary valve"), sct("46030003", "Tricuspid valve")
LVOT = sct("13418002", "Left ventricle outflow tract")
MEDIAL_MA, LATERAL_MA = sct("399093001", "Medial Mitral Annulus"), sct("399086000", "Lateral Mitral Annulus")
TV_ANNULUS = sct("113259005", "Tricuspid Annulus")
PEAK_V, PEAK_PG, MEAN_PG = ln("20355-4", "Peak Blood Velocity"), ln("20247-3", "Peak Gradient"), ln("20256-4", "Mean Gradient")
VTI, ACC_TIME = ln("20354-7", "Velocity Time Integral"), ln("20168-1", "Acceleration Time")
E_PRIME = sct("399133000", "Left Ventricular Peak Early Diastolic Tissue Velocity")
A_PRIME = sct("399007006", "LV Peak Diastolic Tissue Velocity During Atrial Systole")
S_PRIME = sct("399167005", "Left Ventricular Peak Systolic Tissue Velocity")
E_OVER_E_PRIME = sct("399140004", "Ratio of MV Peak Velocity to LV Peak Tissue Velocity E-Wave")
MEAN = sct("373098007", "Mean")


def section(subject: Code, *groups: Dataset) -> Dataset:
    """TID 5202 Echo Section: Findings with the section subject as Finding Site."""
    return c.container(c.FINDINGS, [c.site(subject), *groups])


def group(mode: Code, *items: Dataset) -> Dataset:
    """TID 5202 row 3: a Measurement Group by image mode."""
    return c.container(c.MEASUREMENT_GROUP, [c.code(c.IMAGE_MODE, mode), *items])


def method(m: Code) -> Dataset:
    return c.code(c.METHOD, m)


def echo_content(v: EchoValues) -> tuple[Code, str, list[Dataset]]:
    patient = c.container(dcm("121118", "Patient Characteristics"), [
        num(ln("8302-2", "Body height"), v.height_cm, "cm"),
        num(ln("29463-7", "Body weight"), v.weight_kg, "kg"),
        num(ln("8277-6", "Body Surface Area"), v.bsa_m2, "m2",
            c.code(ln("8278-4", "Body Surface Area Formula"), dcm("122241", "BSA = 0.007184*WT^0.425*HT^0.725"),
                   c.INFERRED_FROM)),
    ])
    lv = section(
        LV,
        group(MODE_M,
              num(ln("29436-3", "Left Ventricle Internal End Diastolic Dimension"), v.lvidd, "cm"),
              num(ln("29438-9", "Left Ventricle Internal Systolic Dimension"), v.lvids, "cm"),
              num(ln("18154-5", "Interventricular Septum Diastolic Thickness"), v.ivsd, "cm"),
              num(ln("18158-6", "Interventricular Septum Systolic Thickness"), v.ivss, "cm"),
              num(ln("18152-9", "Left Ventricle Posterior Wall Diastolic Thickness"), v.lvpwd, "cm"),
              num(ln("18156-0", "Left Ventricle Posterior Wall Systolic Thickness"), v.lvpws, "cm"),
              num(ln("18051-3", "Left Ventricular Fractional Shortening"), v.fs, "%"),
              num(ln("18043-0", "Left Ventricular Ejection Fraction by US"), v.ef_teich, "%", method(TEICHHOLZ)),
              num(ln("18087-7", "Left Ventricle Mass"), v.lv_mass, "g", method(dcm("125221", "Left Ventricle Mass by M-mode"))),
              num(ln("18087-7", "Left Ventricle Mass"), v.lv_mass_index, "g/m2", method(dcm("125221", "Left Ventricle Mass by M-mode")))),
        group(MODE_2D,
              num(ln("18026-5", "Left Ventricular End Diastolic Volume"), v.edv_bp, "ml", method(BIPLANE)),
              num(ln("18148-7", "Left Ventricular End Systolic Volume"), v.esv_bp, "ml", method(BIPLANE)),
              num(ln("18043-0", "Left Ventricular Ejection Fraction by US"), v.ef_biplane, "%", method(BIPLANE)),
              num(sct("399027007", "Cardiovascular Orifice Diameter"), v.lvot_d, "cm", c.site(LVOT))),
        group(MODE_PW,
              num(PEAK_V, v.lvot_vmax, "cm/s", c.site(LVOT)),
              num(VTI, v.lvot_vti, "cm", c.site(LVOT)),
              num(sct("90096001", "Stroke Volume"), v.sv, "ml"),
              num(sct("82799009", "Cardiac Output"), v.co, "l/min"),
              num(sct("54993008", "Cardiac Index"), v.ci, "l/min/m2"),
              num(ln("18071-1", "Left Ventricular Isovolumic Relaxation Time"), v.ivrt, "ms"),
              num(ln("8867-4", "Heart rate"), v.hr, "/min")),
        group(MODE_TDI,
              num(E_PRIME, v.e_sept, "cm/s", c.site(MEDIAL_MA)),
              num(E_PRIME, v.e_lat, "cm/s", c.site(LATERAL_MA)),
              num(A_PRIME, v.a_sept, "cm/s", c.site(MEDIAL_MA)),
              num(A_PRIME, v.a_lat, "cm/s", c.site(LATERAL_MA)),
              num(S_PRIME, v.s_sept, "cm/s", c.site(MEDIAL_MA)),
              num(S_PRIME, v.s_lat, "cm/s", c.site(LATERAL_MA)),
              num(E_OVER_E_PRIME, v.ee_sept, "{ratio}", c.site(MEDIAL_MA)),
              num(E_OVER_E_PRIME, v.ee_lat, "{ratio}", c.site(LATERAL_MA)),
              num(E_OVER_E_PRIME, v.ee_avg, "{ratio}", c.code(c.DERIVATION, MEAN))),
    )
    la = section(LA,
                 group(MODE_M, num(ln("29469-4", "Left Atrium Antero-posterior Systolic Dimension"), v.lad, "cm")),
                 group(MODE_2D,
                       num(sct("399235004", "Left Atrium Systolic Volume"), v.lav, "ml", method(BIPLANE)),
                       num(sct("399235004", "Left Atrium Systolic Volume"), v.lavi, "ml/m2", method(BIPLANE))))
    aorta = section(AORTA, group(MODE_2D,
                                 num(ln("18015-8", "Aortic Root Diameter"), v.aor, "cm"),
                                 num(ln("18012-5", "Ascending Aortic Diameter"), v.aao, "cm")))
    pa = section(PA, group(MODE_2D, num(ln("18020-8", "Main Pulmonary Artery Diameter"), v.mpa, "cm")))
    rv = section(RV,
                 group(MODE_2D, num(ln("20304-2", "Right Ventricular Internal Diastolic Dimension"), v.rvidd, "cm")),
                 group(MODE_M, num(ln("77903-3", "Tricuspid Annular Plane Systolic Excursion"), v.tapse, "cm")),
                 group(MODE_CW, num(sct("399023006", "Right Ventricular Peak Systolic Pressure"), v.rvsp, "mm[Hg]")),
                 group(MODE_TDI,
                       num(E_PRIME, v.tv_e_prime, "cm/s", c.site(TV_ANNULUS)),
                       num(A_PRIME, v.tv_a_prime, "cm/s", c.site(TV_ANNULUS)),
                       num(S_PRIME, v.tv_s_prime, "cm/s", c.site(TV_ANNULUS))))
    mv = section(MV, group(MODE_PW,
                           num(ln("18037-2", "Mitral Valve E-Wave Peak Velocity"), v.mv_e, "cm/s"),
                           num(ln("17978-8", "Mitral Valve A-Wave Peak Velocity"), v.mv_a, "cm/s"),
                           num(ln("18038-0", "Mitral Valve E to A Ratio"), v.mv_ea, "{ratio}"),
                           num(sct("399354002", "Mitral Valve E-Wave Deceleration Time"), v.mv_dt, "ms")))
    av = section(AV, group(MODE_CW,
                           num(PEAK_V, v.av_vmax, "cm/s"),
                           num(PEAK_PG, v.av_pg_peak, "mm[Hg]"),
                           num(MEAN_PG, v.av_pg_mean, "mm[Hg]"),
                           num(VTI, v.av_vti, "cm"),
                           num(sct("399367004", "Cardiovascular Orifice Area"), v.ava, "cm2",
                               method(dcm("125215", "Continuity Equation by Velocity Time Integral")))))
    pv = section(PV, group(MODE_PW,
                           num(PEAK_V, v.pv_vmax, "cm/s"),
                           num(PEAK_PG, v.pv_pg_peak, "mm[Hg]"),
                           num(ACC_TIME, v.pv_at, "ms")))
    regurgitant = c.code(c.FLOW_DIRECTION, sct("397417004", "Regurgitant Flow"))
    tv = section(TV,
                 group(MODE_PW,
                       num(ln("18031-5", "Tricuspid Valve E Wave Peak Velocity"), v.tv_e, "cm/s"),
                       num(ln("18030-7", "Tricuspid Valve A Wave Peak Velocity"), v.tv_a, "cm/s")),
                 group(MODE_CW,
                       num(PEAK_V, v.tr_vmax, "cm/s", regurgitant),
                       num(PEAK_PG, v.tr_pg, "mm[Hg]", c.code(c.FLOW_DIRECTION, sct("397417004", "Regurgitant Flow")))))
    title = dcm("125200", "Adult Echocardiography Procedure Report")
    return title, "5200", [patient, lv, la, aorta, pa, rv, mv, av, pv, tv]


# ----------------------------------------------------------------------------------------------- OB

GA = ln("18185-9", "Gestational Age")


def fetus_context(f: FetusValues) -> list[Dataset]:
    """TID 1006/1008 subject context of a fetus: Subject Class = Fetus, the Fetus ID and the Subject ID."""
    return [
        c.code(dcm("121024", "Subject Class"), dcm("121026", "Fetus"), c.HAS_OBS_CONTEXT),
        c.text(ln("11951-1", "Fetus ID"), f.fetus_id, c.HAS_OBS_CONTEXT),
        c.text(dcm("121030", "Subject ID"), f"Fetus {f.fetus_id}", c.HAS_OBS_CONTEXT),
    ]


#: CID 12013 equations the GA of each biometry comes from (values.HADLOCK_GA).
GA_EQUATIONS = {
    "11820-8": ln("11902-4", "BPD, Hadlock 1984"), "11984-2": ln("11932-1", "HC, Hadlock 1984"),
    "11979-2": ln("11892-7", "AC, Hadlock 1984"), "11963-6": ln("11920-6", "FL, Hadlock 1984"),
}


def biometry_group(concept: Code, value_mm: float, ga_days: int) -> Dataset:
    """TID 5008 Fetal Biometry Group: the measurement and the GA it gives (row 3, inferred from the equation)."""
    return c.container(dcm("125005", "Biometry Group"), [
        num(concept, value_mm, "mm"),
        num(GA, ga_days, "d", c.code(dcm("121420", "Equation"), GA_EQUATIONS[concept.value], c.INFERRED_FROM)),
    ])


def vascular_group(vessel: Code, *items: Dataset, relationship: str = c.CONTAINS) -> Dataset:
    """TID 5025 / TID 5104: the container's concept name is the vessel."""
    return c.container(vessel, list(items), relationship)


def ob_content(fetuses: list[FetusValues]) -> tuple[Code, str, list[Dataset]]:
    content: list[Dataset] = []
    several = len(fetuses) > 1
    summaries = []
    for f in fetuses:
        ctx = fetus_context(f) if several else []
        summaries.append(c.container(dcm("125008", "Fetus Summary"), [
            *ctx,
            num(GA, round((f.ga_bpd + f.ga_hc + f.ga_ac + f.ga_fl) / 4), "d"),
            num(ln("11727-5", "Estimated Weight"), f.efw, "g",
                c.code(dcm("121420", "Equation"), ln("11732-5", "EFW by AC, BPD, FL, HC, Hadlock 1985"),
                       c.INFERRED_FROM)),
            num(ln("11948-7", "Fetal Heart Rate"), f.fhr, "/min"),
        ]))
    content.append(c.container(dcm("121111", "Summary"), summaries))
    for f in fetuses:
        ctx = fetus_context(f) if several else []
        content.append(c.container(dcm("125002", "Fetal Biometry"), [
            *ctx,
            biometry_group(ln("11820-8", "Biparietal Diameter"), f.bpd, f.ga_bpd),
            biometry_group(ln("11984-2", "Head Circumference"), f.hc, f.ga_hc),
            biometry_group(ln("11979-2", "Abdominal Circumference"), f.ac, f.ga_ac),
        ]))
        content.append(c.container(dcm("125003", "Fetal Long Bones"), [
            *ctx, biometry_group(ln("11963-6", "Femur Length"), f.fl, f.ga_fl),
        ]))
        content.append(c.container(c.FINDINGS, [
            *ctx,
            vascular_group(sct("50536004", "Umbilical artery"),
                           num(ln("12144-2", "Systolic to Diastolic Velocity Ratio"), f.ua_sd, "{ratio}"),
                           num(ln("12008-9", "Pulsatility Index"), f.ua_pi, "{ratio}"),
                           num(ln("12023-8", "Resistivity Index"), f.ua_ri, "{ratio}")),
            vascular_group(sct("17232002", "Middle Cerebral Artery"),
                           num(ln("11726-7", "Peak Systolic Velocity"), f.mca_psv, "cm/s"),
                           num(ln("12008-9", "Pulsatility Index"), f.mca_pi, "{ratio}")),
        ]))
    return dcm("125000", "OB-GYN Ultrasound Procedure Report"), "5000", content


# ------------------------------------------------------------------------------------------ carotid

CCA, ICA = sct("32062004", "Common carotid artery"), sct("86117002", "Internal carotid artery")
ECA = sct("22286001", "External carotid artery")


def _velocities(v: VesselValues) -> list[Dataset]:
    return [
        num(ln("11726-7", "Peak Systolic Velocity"), v.psv, "cm/s"),
        num(ln("11653-3", "End Diastolic Velocity"), v.edv, "cm/s"),
        num(ln("12023-8", "Resistivity Index"), v.ri, "{ratio}"),
    ]


def carotid_content(sides: list[CarotidSide]) -> tuple[Code, str, list[Dataset]]:
    content = []
    for s in sides:
        content.append(c.container(c.FINDINGS, [
            c.site(sct("69105007", "Carotid Artery")),
            c.laterality(s.side),
            vascular_group(CCA, *_velocities(s.cca)),
            vascular_group(ICA, *_velocities(s.ica)),
            vascular_group(ECA, *_velocities(s.eca)),
            num(ln("33868-1", "ICA/CCA velocity ratio"), s.ica_cca, "{ratio}"),
        ]))
    return ln("24616-5", "US Carotid Arteries Report"), "5100", content


# ------------------------------------------------------------------------------------------ thyroid

LENGTH, WIDTH, DEPTH = sct("410668003", "Length"), sct("103355008", "Width"), sct("131197000", "Depth")
THYROID_LOBE = sct("119281005", "Lobe of thyroid")
TIRADS = Code("RAISIM01", LOCAL_SCHEME, "C-TIRADS category")


def thyroid_content(t: ThyroidValues) -> tuple[Code, str, list[Dataset]]:
    content = []
    for side, (length, width, depth) in t.lobes.items():
        items = [c.site(THYROID_LOBE), c.laterality(side),
                 num(LENGTH, length, "mm"), num(WIDTH, width, "mm"), num(DEPTH, depth, "mm")]
        for n in (n for n in t.nodules if n.side == side):
            items.append(c.container(c.MEASUREMENT_GROUP, [
                c.text(dcm("121151", "Lesion Identifier"), n.lesion_id, c.HAS_OBS_CONTEXT),
                c.code(dcm("121071", "Finding"), sct("237495005", "Thyroid Nodule"), c.CONTAINS),
                num(LENGTH, n.length, "mm"), num(WIDTH, n.width, "mm"), num(DEPTH, n.depth, "mm"),
                num(sct("118565006", "Volume"), n.volume_ml, "ml"),
                c.code(TIRADS, Code(f"RAISIM{n.category}", LOCAL_SCHEME, f"C-TIRADS {n.category}"), c.CONTAINS),
            ]))
        content.append(c.container(c.FINDINGS, items))
    content.append(c.container(c.FINDINGS, [
        c.site(sct("40867004", "Isthmus of thyroid gland")), num(DEPTH, t.isthmus, "mm"),
    ]))
    return ln("25010-0", "US Thyroid Report"), "", content


_TEMPLATES = {ECHO: echo_content, OB: ob_content, CAROTID: carotid_content, THYROID: thyroid_content}
