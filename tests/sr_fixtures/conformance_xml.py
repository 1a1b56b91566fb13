"""Conformance review fixtures (encoder 2, DCMTK ``xml2dsr``): constructs PS3.3/PS3.16 allow that the
reader once read wrongly. Values and the readings expected of them are worked out from the standard's
text in ``tests/integration/sr/test_conformance_dcmtk.py``, not from the reader's output.

- ``views_and_breathing``: TID 5203 Image View (111031, HAS ACQ CONTEXT, CID 12226) and Respiratory
  Cycle Point (SCT 272517003, CID 12234) tell measurements of one concept apart: LVEDV by the single
  plane method of disks in the apical 4- and 2-chamber views (CID 12300 has a code for each, 79993-2 /
  79992-4 for the EF), the IVC diameter at expiration and at inspiration (TID 5200 Vena Cava section,
  CID 12215).
- ``value_encodings``: PS3.3 C.18.1 Numeric Measurement Macro: Floating Point Value (0040,A161) and
  Rational Numerator/Denominator (0040,A162/A163) are the Numeric Value (0040,A30A) in other
  encodings; UCUM unity ``1`` (PS3.16 7.2.2): 0.35 is 35 %, 62 is 6200 %.
- ``modifier_conflicts``: TID 300 Finding Site is VM 1; Derivation values (CID 3627) Maximum and
  Minimum among replicates with no Selection Status (TID 310, CID 224) and no Mean; two different TR
  velocities each flagged "User chosen value".
- ``annulus_and_signs``: e' at the Mitral Annulus (CID 12235) with the Topographical modifier Medial /
  Lateral (CID 12281) nested under the Finding Site; a negative length and a negative duration.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from xml.sax.saxutils import escape

from tests.sr_fixtures.dcmtk_xml import FINDINGS, FS, GROUP, _concept, code, container, num, report, xml2dsr

ECHO = ("DCM:125200", "Adult Echocardiography Procedure Report")
LV = code(FS, ("SCT:87878005", "Left Ventricle"))
METHOD = ("SCT:370129005", "Measurement Method")
SINGLE_PLANE = ("DCM:125208", "Method of Disks, Single Plane")
IMAGE_VIEW = ("DCM:111031", "Image View")
A4C, A2C = ("SCT:399214001", "Apical four chamber"), ("SCT:399232001", "Apical two chamber")
RESPIRATION = ("SCT:272517003", "Respiratory Cycle Point")
INSPIRATION, EXPIRATION = ("SCT:14910006", "Inspiration"), ("SCT:58322009", "Expiration")
DERIVATION = ("DCM:121401", "Derivation")
PBV = ("LN:20355-4", "Peak Blood Velocity")
ACQ = "HAS ACQ CONTEXT"


def num_encoded(concept: tuple[str, str], value: str, unit: str, *, float_value: str | None = None,
                rational: tuple[int, int] | None = None) -> str:
    """A NUM with the optional Floating Point Value / Rational Value of the Numeric Measurement Macro."""
    extra = f"<float>{float_value}</float>" if float_value is not None else ""
    if rational is not None:
        extra += f"<rational><numerator>{rational[0]}</numerator><denominator>{rational[1]}</denominator></rational>"
    return (f"<num><relationship>CONTAINS</relationship>{_concept('concept', *concept)}<value>{escape(value)}</value>"
            f"{extra}{_concept('unit', 'UCUM:' + unit, unit)}</num>")


def views_and_breathing() -> str:
    lv = container(FINDINGS, LV, container(
        GROUP, code(METHOD, SINGLE_PLANE),
        num(("LN:18026-5", "Left Ventricular End Diastolic Volume"), "120", "ml", code(IMAGE_VIEW, A4C, rel=ACQ)),
        num(("LN:18026-5", "Left Ventricular End Diastolic Volume"), "100", "ml", code(IMAGE_VIEW, A2C, rel=ACQ))))
    ivc = ("LN:18006-7", "Inferior Vena Cava Diameter")
    vena_cava = container(FINDINGS, code(FS, ("SCT:64131007", "Inferior vena cava")), container(
        GROUP,
        num(ivc, "2.1", "cm", code(RESPIRATION, EXPIRATION, rel=ACQ)),
        num(ivc, "1.2", "cm", code(RESPIRATION, INSPIRATION, rel=ACQ)),
        num(("LN:18050-5", "Inferior Vena Cava % Collapse"), "43", "%")))
    return report(ECHO, lv, vena_cava)


def value_encodings() -> str:
    lv = container(FINDINGS, LV, container(
        GROUP,
        num_encoded(("LN:29436-3", "Left Ventricle Internal End Diastolic Dimension"), "4.8", "cm", float_value="4.8"),
        num_encoded(("LN:18154-5", "Interventricular Septum Diastolic Thickness"), "1.0", "cm", float_value="10.0"),
        num_encoded(("LN:18152-9", "Left Ventricle Posterior Wall Diastolic Thickness"), "0.9", "cm", rational=(9, 1)),
        num(("LN:18043-0", "Left Ventricular Ejection Fraction"), "62", "1"),
        num(("LN:18051-3", "Left Ventricular Fractional Shortening"), "0.35", "1"),
        num(("LN:18043-0", "Left Ventricular Ejection Fraction"), "0.58", "%",
            code(METHOD, ("DCM:125207", "Method of Disks, Biplane")))))
    mv = container(FINDINGS, code(FS, ("SCT:91134007", "Mitral Valve")), container(
        GROUP, num_encoded(("LN:18038-0", "Mitral Valve E to A Ratio"), "1.33", "{ratio}", rational=(4, 3))))
    return report(ECHO, lv, mv)


def modifier_conflicts() -> str:
    lv = container(FINDINGS, LV, container(
        GROUP,
        num(("SCT:399133000", "Peak Early Diastolic Tissue Velocity"), "8", "cm/s",
            code(FS, ("SCT:399093001", "Medial Mitral Annulus")), code(FS, ("SCT:399086000", "Lateral Mitral Annulus"))),
        num(("SCT:399007006", "Peak Diastolic Tissue Velocity During Atrial Systole"), "9", "cm/s",
            code(FS, ("SCT:399093001", "Medial Mitral Annulus")))))
    av = container(FINDINGS, code(FS, ("SCT:34202007", "Aortic Valve")), container(
        GROUP, num(PBV, "1.2", "m/s"), num(PBV, "1.4", "m/s"),
        num(PBV, "1.4", "m/s", code(DERIVATION, ("SCT:56851009", "Maximum"))),
        num(PBV, "1.2", "m/s", code(DERIVATION, ("SCT:255605001", "Minimum")))))
    pv = container(FINDINGS, code(FS, ("SCT:39057004", "Pulmonic Valve")), container(
        GROUP, num(PBV, "0.9", "m/s"), num(PBV, "1.0", "m/s"),
        num(PBV, "0.95", "m/s", code(DERIVATION, ("SCT:373098007", "Mean")))))
    selection, user_chosen = ("DCM:121404", "Selection Status"), ("DCM:121410", "User chosen value")
    tv = container(FINDINGS, code(FS, ("SCT:46030003", "Tricuspid Valve")), container(
        GROUP, code(("SCT:260674002", "Direction of Flow"), ("SCT:397417004", "Regurgitant Flow")),
        num(PBV, "2.6", "m/s", code(selection, user_chosen, rel="HAS PROPERTIES")),
        num(PBV, "2.9", "m/s", code(selection, user_chosen, rel="HAS PROPERTIES")),
        num(PBV, "2.7", "m/s")))
    return report(ECHO, lv, av, pv, tv)


def site_with_modifier(site: tuple[str, str], modifier: tuple[str, str]) -> str:
    """TID 300: Finding Site with its $TargetSiteMod nested (HAS CONCEPT MOD Topographical modifier)."""
    topo = code(("SCT:106233006", "Topographical modifier"), modifier)
    return (f"<code><relationship>HAS CONCEPT MOD</relationship>{_concept('concept', *FS)}{topo}"
            f"<value>{site[0].partition(':')[2]}</value><scheme><designator>{site[0].partition(':')[0]}</designator>"
            f"</scheme><meaning>{escape(site[1])}</meaning></code>")


def annulus_and_signs() -> str:
    annulus = ("SCT:65197004", "Mitral Annulus")
    e_prime = ("SCT:399133000", "Peak Early Diastolic Tissue Velocity")
    lv = container(FINDINGS, LV, container(
        GROUP,
        num(e_prime, "8", "cm/s", site_with_modifier(annulus, ("SCT:255561001", "Medial"))),
        num(e_prime, "11", "cm/s", site_with_modifier(annulus, ("SCT:49370004", "Lateral"))),
        num(("LN:29436-3", "Left Ventricle Internal End Diastolic Dimension"), "-4.8", "cm"),
        num(("LN:29438-9", "Left Ventricle Internal Systolic Dimension"), "3.1", "cm")))
    mv = container(FINDINGS, code(FS, ("SCT:91134007", "Mitral Valve")), container(
        GROUP, num(("SCT:399354002", "Mitral Valve E-Wave Deceleration Time"), "-180", "ms")))
    return report(ECHO, lv, mv)


def phases() -> str:
    """Pre-coordinated diastolic/systolic concepts with a Cardiac Cycle Point (TID 5203, CID 12233) that agrees
    (SCT, and legacy SRT as GE Vivid sends it) or contradicts the concept; an E-wave velocity said to be
    regurgitant flow (CID 12221), which the inflow E wave is not (5.1 m/s is an MR jet)."""
    phase, phase_srt = ("SCT:272518008", "Cardiac Cycle Point"), ("SRT:R-4089A", "Cardiac Cycle Point")
    lvidd = ("LN:29436-3", "Left Ventricle Internal End Diastolic Dimension")
    lvids = ("LN:29438-9", "Left Ventricle Internal Systolic Dimension")
    ivsd = ("LN:18154-5", "Interventricular Septum Diastolic Thickness")
    lv = container(FINDINGS, LV, container(
        GROUP,
        num(lvidd, "4.8", "cm", code(phase, ("SCT:416190007", "End Diastole"))),
        num(lvids, "3.1", "cm", code(phase_srt, ("SRT:F-32021", "End Systole"))),
        num(ivsd, "1.4", "cm", code(phase, ("SCT:416430001", "End Systole")))))
    regurgitant = code(("SCT:260674002", "Direction of Flow"), ("SCT:397417004", "Regurgitant Flow"))
    mv = container(FINDINGS, code(FS, ("SCT:91134007", "Mitral Valve")), container(
        GROUP, num(("LN:18037-2", "Mitral Valve E-Wave Peak Velocity"), "0.8", "m/s"),
        num(("LN:18037-2", "Mitral Valve E-Wave Peak Velocity"), "5.1", "m/s", regurgitant)))
    return report(ECHO, lv, mv)


CASES = {"views_and_breathing": views_and_breathing, "value_encodings": value_encodings,
         "modifier_conflicts": modifier_conflicts, "annulus_and_signs": annulus_and_signs, "phases": phases}


def build(name: str, directory: Path) -> Path:
    """Write ``<name>.xml`` and convert it with xml2dsr; raise CalledProcessError (with DCMTK's reason)."""
    directory.mkdir(parents=True, exist_ok=True)
    xml_path = directory / f"{name}.xml"
    xml_path.write_text(CASES[name](), encoding="utf-8")
    out = directory / f"{name}.dcm"
    subprocess.run([xml2dsr() or "xml2dsr", str(xml_path), str(out)], check=True, capture_output=True, timeout=60)
    return out
