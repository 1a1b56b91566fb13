"""Realistic, internally consistent measurement values per exam kind, deterministic for (seed, exam).

Primary values are drawn from adult / second-trimester normal ranges; everything derived is computed from the
rounded primary values with the formula a scanner uses (Teichholz, Bernoulli, continuity, Hadlock EFW, ...),
so a reader can check them against each other. Units are the ones written into the SR (UCUM).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

ECHO, OB, CAROTID, THYROID = "adult-echo", "ob", "carotid", "thyroid"
KINDS = (ECHO, OB, CAROTID, THYROID)


def rng_for(seed: int | str, study_uid: str) -> random.Random:
    """One generator per exam: the same seed and StudyInstanceUID give the same values on any machine."""
    return random.Random(f"ris-ai-sim:{seed}:{study_uid}")


def _u(r: random.Random, low: float, high: float, decimals: int) -> float:
    return round(r.uniform(low, high), decimals)


@dataclass
class EchoValues:
    """Adult transthoracic echo. Dimensions in cm, velocities cm/s, times ms, pressures mm[Hg]."""

    height_cm: float
    weight_kg: float
    bsa_m2: float
    hr: int
    lvidd: float
    lvids: float
    ivsd: float
    ivss: float
    lvpwd: float
    lvpws: float
    fs: float
    ef_teich: float
    lv_mass: float
    lv_mass_index: float
    edv_bp: float
    esv_bp: float
    ef_biplane: float
    lad: float
    lav: float
    lavi: float
    aor: float
    aao: float
    mpa: float
    rvidd: float
    tapse: float
    lvot_d: float
    lvot_vmax: float
    lvot_vti: float
    sv: float
    co: float
    ci: float
    mv_e: float
    mv_a: float
    mv_ea: float
    mv_dt: float
    ivrt: float
    av_vmax: float
    av_pg_peak: float
    av_pg_mean: float
    av_vti: float
    ava: float
    pv_vmax: float
    pv_pg_peak: float
    pv_at: float
    tv_e: float
    tv_a: float
    tr_vmax: float
    tr_pg: float
    rvsp: float
    e_sept: float
    e_lat: float
    a_sept: float
    a_lat: float
    s_sept: float
    s_lat: float
    ee_sept: float
    ee_lat: float
    ee_avg: float
    tv_e_prime: float
    tv_a_prime: float
    tv_s_prime: float


def teichholz_ml(d_cm: float) -> float:
    """LV volume from one diameter (Teichholz 1976): 7 / (2.4 + D) * D^3."""
    return 7.0 / (2.4 + d_cm) * d_cm**3


def bernoulli(v_cm_s: float) -> float:
    """Simplified Bernoulli: ΔP = 4 v² (v in m/s), mm[Hg], one decimal."""
    return round(4.0 * (v_cm_s / 100.0) ** 2, 1)


def echo_values(r: random.Random) -> EchoValues:
    height, weight = _u(r, 155, 182, 0), _u(r, 50, 82, 0)
    bsa = round(0.007184 * weight**0.425 * height**0.725, 2)  # DuBois (DCM 122241)
    hr = r.randint(60, 84)
    lvidd = _u(r, 4.3, 5.3, 2)
    lvids = round(lvidd * (1 - r.uniform(0.31, 0.40)), 2)
    fs = round((lvidd - lvids) / lvidd * 100, 1)
    edv_t, esv_t = teichholz_ml(lvidd), teichholz_ml(lvids)
    ef_teich = round((edv_t - esv_t) / edv_t * 100, 1)
    ivsd, lvpwd = _u(r, 0.80, 1.05, 2), _u(r, 0.80, 1.02, 2)
    ivss, lvpws = round(ivsd * r.uniform(1.3, 1.5), 2), round(lvpwd * r.uniform(1.4, 1.6), 2)
    mass = round(0.8 * 1.04 * ((ivsd + lvidd + lvpwd) ** 3 - lvidd**3) + 0.6, 0)  # ASE cube formula, g
    edv = float(r.randint(85, 128))
    esv = float(round(edv * (1 - r.uniform(0.58, 0.68))))
    ef_bp = round((edv - esv) / edv * 100, 1)
    lav = float(r.randint(34, 54))
    lvot_d, lvot_vti, lvot_vmax = _u(r, 1.8, 2.2, 2), _u(r, 18.0, 23.5, 1), float(r.randint(80, 108))
    lvot_area = math.pi * (lvot_d / 2) ** 2
    sv = round(lvot_area * lvot_vti, 1)
    co = round(sv * hr / 1000.0, 2)
    mv_e, mv_a = float(r.randint(62, 98)), float(r.randint(45, 78))
    av_vmax = float(r.randint(105, 148))
    av_pg = bernoulli(av_vmax)
    av_vti = round(lvot_vti * av_vmax / lvot_vmax, 1)
    pv_vmax = float(r.randint(72, 108))
    tr_vmax = float(r.randint(200, 258))
    tr_pg = bernoulli(tr_vmax)
    e_s, e_l = _u(r, 7.0, 10.5, 1), _u(r, 10.0, 14.5, 1)
    return EchoValues(
        height_cm=height, weight_kg=weight, bsa_m2=bsa, hr=hr,
        lvidd=lvidd, lvids=lvids, ivsd=ivsd, ivss=ivss, lvpwd=lvpwd, lvpws=lvpws, fs=fs, ef_teich=ef_teich,
        lv_mass=mass, lv_mass_index=round(mass / bsa, 1),
        edv_bp=edv, esv_bp=esv, ef_biplane=ef_bp,
        lad=_u(r, 2.8, 3.7, 2), lav=lav, lavi=round(lav / bsa, 1),
        aor=_u(r, 2.6, 3.3, 2), aao=_u(r, 2.6, 3.4, 2), mpa=_u(r, 1.8, 2.4, 2), rvidd=_u(r, 2.5, 3.3, 2),
        tapse=_u(r, 1.8, 2.5, 2),
        lvot_d=lvot_d, lvot_vmax=lvot_vmax, lvot_vti=lvot_vti, sv=sv, co=co, ci=round(co / bsa, 2),
        mv_e=mv_e, mv_a=mv_a, mv_ea=round(mv_e / mv_a, 2), mv_dt=float(r.randint(160, 220)),
        ivrt=float(r.randint(70, 98)),
        av_vmax=av_vmax, av_pg_peak=av_pg, av_pg_mean=round(av_pg * 0.55, 1), av_vti=av_vti,
        ava=round(lvot_area * lvot_vti / av_vti, 2),
        pv_vmax=pv_vmax, pv_pg_peak=bernoulli(pv_vmax), pv_at=float(r.randint(110, 160)),
        tv_e=float(r.randint(40, 68)), tv_a=float(r.randint(30, 52)),
        tr_vmax=tr_vmax, tr_pg=tr_pg, rvsp=round(tr_pg + 5.0, 1),  # right atrial pressure taken as 5 mmHg
        e_sept=e_s, e_lat=e_l, a_sept=_u(r, 8.0, 11.5, 1), a_lat=_u(r, 9.0, 12.5, 1),
        s_sept=_u(r, 7.0, 9.5, 1), s_lat=_u(r, 8.5, 11.5, 1),
        ee_sept=round(mv_e / e_s, 1), ee_lat=round(mv_e / e_l, 1), ee_avg=round(mv_e / ((e_s + e_l) / 2), 1),
        tv_e_prime=_u(r, 11.0, 15.0, 1), tv_a_prime=_u(r, 12.0, 17.5, 1), tv_s_prime=_u(r, 11.0, 15.0, 1),
    )


#: Hadlock 1984 gestational age (weeks) from one biometry in cm: the equations LN 11902-4 / 11932-1 /
#: 11892-7 / 11920-6 name (CID 12013).
HADLOCK_GA = {
    "BPD": lambda x: 9.54 + 1.482 * x + 0.1676 * x**2,
    "HC": lambda x: 8.96 + 0.540 * x + 0.0003 * x**3,
    "AC": lambda x: 8.14 + 0.753 * x + 0.0036 * x**2,
    "FL": lambda x: 10.35 + 2.460 * x + 0.170 * x**2,
}


def ga_days(name: str, value_cm: float) -> int:
    return round(HADLOCK_GA[name](value_cm) * 7)


def _size_for(name: str, weeks: float) -> float:
    """The biometry (cm) at which Hadlock's equation gives ``weeks`` (bisection; the equations rise)."""
    lo, hi = 0.1, 60.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if HADLOCK_GA[name](mid) < weeks:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def hadlock_efw_g(bpd: float, hc: float, ac: float, fl: float) -> float:
    """Hadlock 1985 (BPD, HC, AC, FL in cm): log10 EFW = 1.3596 − 0.00386·AC·FL + 0.0064·HC + 0.00061·BPD·AC
    + 0.0424·AC + 0.174·FL."""
    log10 = 1.3596 - 0.00386 * ac * fl + 0.0064 * hc + 0.00061 * bpd * ac + 0.0424 * ac + 0.174 * fl
    return round(10**log10, 0)


@dataclass
class FetusValues:
    """One fetus. Biometry in mm (as OB reports write it), GA in days (Hadlock 1984 from the biometry in cm),
    EFW g (Hadlock 1985 from the same cm values), velocities cm/s."""

    fetus_id: str
    number: int
    bpd: float
    hc: float
    ac: float
    fl: float
    ga_bpd: int
    ga_hc: int
    ga_ac: int
    ga_fl: int
    efw: float
    fhr: int
    ua_sd: float
    ua_pi: float
    ua_ri: float
    mca_psv: float
    mca_pi: float


def ob_values(r: random.Random, fetuses: int = 1) -> list[FetusValues]:
    ga = r.uniform(21.0, 31.0)
    out = []
    for n in range(1, fetuses + 1):
        bpd, hc, ac, fl = (round(_size_for(n_, ga + r.uniform(-0.6, 0.6)), 2) for n_ in ("BPD", "HC", "AC", "FL"))
        psv = r.uniform(35, 55)
        edv = psv * r.uniform(0.32, 0.42)
        tamv = (psv + 2 * edv) / 3  # time-averaged maximum velocity of a smooth umbilical waveform
        mca_psv = round(r.uniform(30, 50), 1)
        out.append(FetusValues(
            fetus_id=chr(ord("A") + n - 1), number=n,
            bpd=round(bpd * 10, 1), hc=round(hc * 10, 1), ac=round(ac * 10, 1), fl=round(fl * 10, 1),
            ga_bpd=ga_days("BPD", bpd), ga_hc=ga_days("HC", hc), ga_ac=ga_days("AC", ac), ga_fl=ga_days("FL", fl),
            efw=hadlock_efw_g(bpd, hc, ac, fl), fhr=r.randint(128, 158),
            ua_sd=round(psv / edv, 2), ua_pi=round((psv - edv) / tamv, 2), ua_ri=round((psv - edv) / psv, 2),
            mca_psv=mca_psv, mca_pi=round(r.uniform(1.6, 2.2), 2),
        ))
    return out


@dataclass
class VesselValues:
    psv: float
    edv: float
    ri: float


@dataclass
class CarotidSide:
    """One side of the neck; velocities cm/s."""

    side: str  # "R" or "L"
    cca: VesselValues
    ica: VesselValues
    eca: VesselValues
    ica_cca: float


def _vessel(r: random.Random, psv: tuple[int, int], edv: tuple[int, int]) -> VesselValues:
    p, e = float(r.randint(*psv)), float(r.randint(*edv))
    return VesselValues(p, e, round((p - e) / p, 2))


def carotid_values(r: random.Random) -> list[CarotidSide]:
    sides = []
    for side in ("R", "L"):
        cca = _vessel(r, (62, 98), (16, 28))
        ica = _vessel(r, (52, 86), (18, 32))
        sides.append(CarotidSide(side, cca, ica, _vessel(r, (60, 96), (10, 20)), round(ica.psv / cca.psv, 2)))
    return sides


@dataclass
class ThyroidNodule:
    lesion_id: str
    side: str
    length: float
    width: float
    depth: float
    volume_ml: float
    category: str  # C-TIRADS


@dataclass
class ThyroidValues:
    """Lobes and nodules in mm."""

    lobes: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    isthmus: float = 0.0
    nodules: list[ThyroidNodule] = field(default_factory=list)


def thyroid_values(r: random.Random) -> ThyroidValues:
    out = ThyroidValues(isthmus=_u(r, 2.0, 3.8, 1))
    for side in ("R", "L"):
        out.lobes[side] = (_u(r, 40, 52, 1), _u(r, 13, 19, 1), _u(r, 12, 17, 1))
    for n in range(1, r.randint(1, 2) + 1):
        length = _u(r, 6, 18, 1)
        width = round(length * r.uniform(0.6, 0.9), 1)
        depth = round(width * r.uniform(0.6, 0.95), 1)
        out.nodules.append(ThyroidNodule(
            str(n), r.choice(("R", "L")), length, width, depth,
            round(math.pi / 6 * length * width * depth / 1000.0, 2), r.choice(("3", "4A")),
        ))
    return out
