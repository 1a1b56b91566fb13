"""What the simulator sends is valid DICOM (dciodvfy: no errors) and reads back, through the module's own SR
engine, as the values the simulator meant (expected values derived here from the generated numbers by hand:
cm → mm, and so on), on the pushed patient, accession and study exactly."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pydicom
import pytest

from ris_ai_module.sim import values as v
from ris_ai_module.sim.results import produce
from ris_ai_module.sim.sc_image import cjk_font_file
from ris_ai_module.sim.sr_documents import ExamIdentity
from ris_ai_module.sr.parse import parse_sr_file
from tests.support import IN_CI, require_tool

EXAM = ExamIdentity(patient_id="P000123", patient_name="欧阳明", birth_date="19550730", sex="M",
                    accession="A20261127003", study_uid="1.2.826.0.1.3680043.10.543.7", study_date="20261202",
                    study_time="101500", study_description="双侧颈动脉超声", exam_key="E0003")


def _write(tmp_path: Path, kind: str, fetuses: int = 1) -> tuple[object, list[Path]]:
    result = produce(EXAM, kind, 5, "DEMO_AI", fetuses=fetuses)
    paths = []
    for i, ds in enumerate(result.objects):
        path = tmp_path / f"{kind}-{i}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return result, paths


def _errors(path: Path) -> list[str]:
    run = subprocess.run([require_tool("dciodvfy"), str(path)], capture_output=True, text=True, errors="replace",
                         timeout=60)
    return [line for line in (run.stdout + run.stderr).splitlines() if line.startswith("Error")]


@pytest.mark.parametrize("kind", v.KINDS)
def test_every_object_passes_dciodvfy_and_carries_the_pushed_identity(tmp_path: Path, kind: str) -> None:
    result, paths = _write(tmp_path, kind, fetuses=2 if kind == v.OB else 1)
    assert len(paths) >= 2  # at least one SC page and the SR
    for path in paths:
        assert _errors(path) == [], path.name
        ds = pydicom.dcmread(path)
        assert (str(ds.PatientID), str(ds.PatientName), ds.AccessionNumber, ds.StudyInstanceUID) == (
            "P000123", "欧阳明", "A20261127003", "1.2.826.0.1.3680043.10.543.7")
    sc = pydicom.dcmread(paths[0])
    assert sc.SOPClassUID == "1.2.840.10008.5.1.4.1.1.7" and (sc.Rows, sc.Columns, sc.SamplesPerPixel) == (600, 800, 3)
    pixels = sc.pixel_array
    assert len({tuple(p) for p in pixels.reshape(-1, 3)[::97]}) > 10  # rendered text and a trace, not a blank page


def test_chinese_labels_are_drawn_when_a_cjk_font_is_installed() -> None:
    if cjk_font_file() is None:
        if IN_CI:
            pytest.fail("no CJK font in CI (.ci/run installs fonts-noto-cjk)")
        pytest.skip("no CJK font here")
    from ris_ai_module.sim.sc_image import PanelRow, render_panel

    _pixels, chinese = render_panel("超声心动图测量", "Adult echo", EXAM, [PanelRow("左室射血分数", "LVEF", "62", "%")])
    assert chinese


def _selected(path: Path) -> dict[str, float]:
    parsed = parse_sr_file(path)
    out: dict[str, float] = {}
    for m in parsed.selected:
        if m.key:
            assert m.key not in out, f"{m.key} selected twice"
            out[m.key] = m.value  # type: ignore[assignment]
    assert (parsed.patient_id, parsed.patient_name, parsed.accession_number) == ("P000123", "欧阳明", "A20261127003")
    return out


def test_adult_echo_reads_back_with_every_category(tmp_path: Path) -> None:
    result, paths = _write(tmp_path, v.ECHO)
    e = result.values
    got = _selected(paths[-1])
    expected = {  # the engine's canonical units: mm, %, cm/s, ms, mm[Hg], ml
        "LVIDd": e.lvidd * 10, "LVIDs": e.lvids * 10, "IVSd": e.ivsd * 10, "IVSs": e.ivss * 10,
        "LVPWd": e.lvpwd * 10, "LVPWs": e.lvpws * 10, "FS": e.fs, "LVEF_TEICH": e.ef_teich,
        "LVEF_BIPLANE": e.ef_biplane, "LVEDV": e.edv_bp, "LVESV": e.esv_bp, "LV_MASS": e.lv_mass,
        "LAD": e.lad * 10, "LAV": e.lav, "AOR": e.aor * 10, "AAO": e.aao * 10, "MPA": e.mpa * 10,
        "RVIDd": e.rvidd * 10, "TAPSE": e.tapse * 10, "LVOT_D": e.lvot_d * 10,
        "MV_E": e.mv_e, "MV_A": e.mv_a, "MV_E_A": e.mv_ea, "MV_DT": e.mv_dt,
        "AV_VMAX": e.av_vmax, "AV_PG_PEAK": e.av_pg_peak, "AV_PG_MEAN": e.av_pg_mean, "AV_VTI": e.av_vti, "AVA": e.ava,
        "PV_VMAX": e.pv_vmax, "PV_PG_PEAK": e.pv_pg_peak, "PV_AT": e.pv_at,
        "TV_E": e.tv_e, "TV_A": e.tv_a, "TR_VMAX": e.tr_vmax, "TR_PG": e.tr_pg, "RVSP": e.rvsp,
        "E_PRIME_SEPTAL": e.e_sept, "E_PRIME_LATERAL": e.e_lat, "A_PRIME_SEPTAL": e.a_sept,
        "A_PRIME_LATERAL": e.a_lat, "S_PRIME_SEPTAL": e.s_sept, "S_PRIME_LATERAL": e.s_lat,
        "E_E_PRIME_SEPTAL": e.ee_sept, "E_E_PRIME_LATERAL": e.ee_lat, "E_E_PRIME_AVG": e.ee_avg,
        "TV_E_PRIME": e.tv_e_prime, "TV_A_PRIME": e.tv_a_prime, "TV_S_PRIME": e.tv_s_prime,
        "SV": e.sv, "CO": e.co, "HR": e.hr,
    }
    for key, value in expected.items():
        assert got.get(key) == pytest.approx(value, abs=1e-6), key


def test_ob_biometry_reads_back(tmp_path: Path) -> None:
    result, paths = _write(tmp_path, v.OB)
    (f,) = result.values
    got = _selected(paths[-1])
    for key, value in {"BPD": f.bpd, "HC": f.hc, "AC": f.ac, "FL": f.fl, "EFW": f.efw, "FHR": f.fhr}.items():
        assert got.get(key) == pytest.approx(value, abs=1e-6), key


def test_twins_and_fetal_doppler_read_back_per_fetus(tmp_path: Path) -> None:
    result, paths = _write(tmp_path, v.OB, fetuses=2)
    parsed = parse_sr_file(paths[-1])
    for f in result.values:
        bpd = [m for m in parsed.selected if m.key == "BPD" and m.context.get("fetus_id") == f.fetus_id]
        ua = [m for m in parsed.selected if m.key == "UA_RI" and m.context.get("fetus_id") == f.fetus_id]
        assert [m.value for m in bpd] == [f.bpd] and [m.value for m in ua] == [f.ua_ri]


def test_carotid_velocities_read_back_per_side_and_vessel(tmp_path: Path) -> None:
    result, paths = _write(tmp_path, v.CAROTID)
    parsed = parse_sr_file(paths[-1])
    for side in result.values:
        lat = "Right" if side.side == "R" else "Left"
        for key, value in (("CCA_PSV", side.cca.psv), ("ICA_PSV", side.ica.psv), ("ICA_EDV", side.ica.edv)):
            found = [m.value for m in parsed.selected if m.key == key and m.context.get("laterality") == lat]
            assert found == [value], (key, lat)


def test_carotid_ratio_and_thyroid_sizes_read_back(tmp_path: Path) -> None:
    result, paths = _write(tmp_path, v.CAROTID)
    parsed = parse_sr_file(paths[-1])
    ratios = {m.context.get("laterality"): m.value for m in parsed.selected if m.key == "ICA_CCA_RATIO"}
    assert ratios == {("Right" if s.side == "R" else "Left"): s.ica_cca for s in result.values}
    result, paths = _write(tmp_path, v.THYROID)
    t = result.values
    parsed = parse_sr_file(paths[-1])
    lobes = {m.context.get("laterality"): m.value for m in parsed.selected if m.key == "THYROID_LOBE_LENGTH"}
    assert lobes == {"Right": t.lobes["R"][0], "Left": t.lobes["L"][0]}
    lengths = sorted(m.value for m in parsed.selected if m.key == "LESION_LENGTH")
    assert lengths == sorted(n.length for n in t.nodules)
    categories = {m.context.get("lesion"): m.to_dict()["code"]["meaning"] for m in parsed.selected
                  if m.key == "C_TIRADS"}
    assert categories == {n.lesion_id: f"C-TIRADS {n.category}" for n in t.nodules}
