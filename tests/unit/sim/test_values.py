"""The simulator's values: deterministic per seed and study, within normal ranges, and consistent with the
formulas a scanner uses (each expectation below is the textbook formula, computed here by hand)."""

from __future__ import annotations

import math

import pytest

from ris_ai_module.sim import values as v
from ris_ai_module.sim.results import kind_of

STUDIES = [f"1.2.826.0.1.3680043.10.999.{n}" for n in range(1, 41)]


def test_same_seed_and_study_give_the_same_values_and_another_seed_others() -> None:
    a = v.echo_values(v.rng_for(7, STUDIES[0]))
    assert a == v.echo_values(v.rng_for(7, STUDIES[0]))
    assert a != v.echo_values(v.rng_for(8, STUDIES[0]))
    assert a != v.echo_values(v.rng_for(7, STUDIES[1]))


@pytest.mark.parametrize("study", STUDIES)
def test_echo_values_are_internally_consistent(study: str) -> None:
    e = v.echo_values(v.rng_for(3, study))
    assert 4.0 <= e.lvidd <= 5.5 and e.lvids < e.lvidd
    assert e.fs == pytest.approx((e.lvidd - e.lvids) / e.lvidd * 100, abs=0.051)
    teich = lambda d: 7 / (2.4 + d) * d**3  # noqa: E731 - Teichholz 1976
    assert e.ef_teich == pytest.approx((teich(e.lvidd) - teich(e.lvids)) / teich(e.lvidd) * 100, abs=0.051)
    assert e.ef_biplane == pytest.approx((e.edv_bp - e.esv_bp) / e.edv_bp * 100, abs=0.051)
    assert 50 <= e.ef_biplane <= 75 and 50 <= e.ef_teich <= 80
    assert e.bsa_m2 == pytest.approx(0.007184 * e.weight_kg**0.425 * e.height_cm**0.725, abs=0.006)  # DuBois
    assert e.lv_mass_index == pytest.approx(e.lv_mass / e.bsa_m2, abs=0.051)
    assert e.av_pg_peak == pytest.approx(4 * (e.av_vmax / 100) ** 2, abs=0.051)  # Bernoulli, v in m/s
    assert e.tr_pg == pytest.approx(4 * (e.tr_vmax / 100) ** 2, abs=0.051)
    assert e.rvsp == pytest.approx(e.tr_pg + 5, abs=0.051)
    assert e.mv_ea == pytest.approx(e.mv_e / e.mv_a, abs=0.0051)
    assert e.ee_sept == pytest.approx(e.mv_e / e.e_sept, abs=0.051)
    assert e.ee_avg == pytest.approx(e.mv_e / ((e.e_sept + e.e_lat) / 2), abs=0.051)
    area = math.pi * (e.lvot_d / 2) ** 2
    assert e.sv == pytest.approx(area * e.lvot_vti, abs=0.051)
    assert e.co == pytest.approx(e.sv * e.hr / 1000, abs=0.0051)
    assert e.ava == pytest.approx(area * e.lvot_vti / e.av_vti, abs=0.011)  # continuity equation
    assert e.e_sept < e.e_lat  # septal e' is lower than lateral in normal adults


@pytest.mark.parametrize("study", STUDIES[:10])
def test_ob_biometry_gives_the_hadlock_ga_and_efw(study: str) -> None:
    (f1, f2) = v.ob_values(v.rng_for(1, study), fetuses=2)
    assert (f1.fetus_id, f2.fetus_id) == ("A", "B")
    bpd, hc, ac, fl = f1.bpd / 10, f1.hc / 10, f1.ac / 10, f1.fl / 10
    assert f1.ga_bpd == round((9.54 + 1.482 * bpd + 0.1676 * bpd**2) * 7)  # Hadlock 1984
    assert f1.ga_fl == round((10.35 + 2.460 * fl + 0.170 * fl**2) * 7)
    efw = 10 ** (1.3596 - 0.00386 * ac * fl + 0.0064 * hc + 0.00061 * bpd * ac + 0.0424 * ac + 0.174 * fl)
    assert f1.efw == pytest.approx(efw, abs=30)  # biometry is rounded to 0.1 mm before the SR
    assert 20 * 7 <= f1.ga_bpd <= 33 * 7
    assert abs(f1.ga_bpd - f1.ga_fl) < 21  # one fetus, one age (within three weeks)
    assert f1.ua_ri < 1 and f1.ua_sd == pytest.approx(1 / (1 - f1.ua_ri), rel=0.03)


def test_carotid_indices_follow_their_definitions() -> None:
    for side in v.carotid_values(v.rng_for(1, STUDIES[2])):
        for vessel in (side.cca, side.ica, side.eca):
            assert vessel.edv < vessel.psv
            assert vessel.ri == pytest.approx((vessel.psv - vessel.edv) / vessel.psv, abs=0.0051)
        assert side.ica_cca == pytest.approx(side.ica.psv / side.cca.psv, abs=0.0051)


def test_thyroid_nodules_have_a_size_volume_and_category() -> None:
    t = v.thyroid_values(v.rng_for(1, STUDIES[3]))
    assert set(t.lobes) == {"R", "L"} and t.nodules
    for n in t.nodules:
        assert n.length >= n.width >= n.depth > 0
        assert n.volume_ml == pytest.approx(math.pi / 6 * n.length * n.width * n.depth / 1000, abs=0.006)
        assert n.category in ("3", "4A")


@pytest.mark.parametrize(("items", "kind"), [
    ("心脏彩超", "adult-echo"), ("超声心动图（经胸）", "adult-echo"), ("产科超声", "ob"),
    ("中孕期胎儿系统超声", "ob"), ("颈部血管彩超", "carotid"), ("双侧颈动脉超声", "carotid"),
    ("甲状腺彩超", "thyroid"), ("腹部", "adult-echo"),
])
def test_exam_kind_comes_from_the_ris_wording(items: str, kind: str) -> None:
    assert kind_of(items) == kind
