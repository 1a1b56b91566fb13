"""Issue 8 item 12: the key a report row carries comes from the measurement's context, the same in every SR.

Keys are written by hand from the fixtures' context (side, segment, fetus, follicle) and the key
suffix rules of ris_ai_module/report/display.py: _L/_R, _PROX/_DIST, _F<fetus id>, _<identifier>.
"""

from __future__ import annotations

from ris_ai_module.report.display import report_items
from ris_ai_module.report.section import ReportConfig
from ris_ai_module.sr.parse import parse_sr_file
from tests.sr_fixtures import structures
from tests.sr_fixtures.build import FINDINGS, LATERALITY, RIGHT, code, container, document, num


def _keys(tmp_path, ds) -> dict[str, str]:
    path = tmp_path / "k.dcm"
    ds.save_as(path, enforce_file_format=True)
    items = report_items(ReportConfig(), parse_sr_file(path).measurements, "uid")
    return {i.key: i.display_value for i in items}


def test_vascular_keys_carry_side_and_segment(tmp_path):
    keys = _keys(tmp_path, structures.vascular())
    assert {"CCA_PSV_R_PROX": "90", "CCA_PSV_R_DIST": "85", "CCA_EDV_R": "20", "ICA_PSV_R": "120",
            "ECA_PSV_R": "110", "ICA_CCA_RATIO_R": "1.33", "VA_PSV_L": "50", "RENA_RI_L": "0.68"}.items() <= keys.items()
    assert not [k for k in keys if k[-2:] in ("_2", "_3")]


def test_a_newer_sr_with_one_vessel_gives_the_same_key(tmp_path):
    """Only the right ICA re-measured: its key is the one the first SR gave it, so it replaces exactly that."""
    ds = document(structures.VASCULAR, [container(
        FINDINGS, code(LATERALITY, RIGHT), container(structures.ICA, num(structures.PSV, 125, "cm/s")))])
    assert _keys(tmp_path, ds) == {"ICA_PSV_R": "125"}


def test_fetus_and_follicle_keys(tmp_path):
    keys = _keys(tmp_path, structures.ob_gyn())
    assert keys["BPD_F1"] == "85.0" and keys["BPD_GA_F1"] == "238" and keys["UA_PI_F1"] == "1.02"
    assert keys["FOLLICLE_DIAMETER_L_1"] == "18.0" and keys["FOLLICLE_DIAMETER_L_2"] == "12.0"
    assert keys["UTA_PI_L"] == "0.90" and keys["UTA_PI_R"] == "1.10"
    assert "ENDOMETRIUM" in keys and "BPD" not in keys


def test_held_and_empty_values_are_not_report_rows(tmp_path):
    keys = _keys(tmp_path, structures.lateralised_sites())
    assert keys["THYROID_LOBE_WIDTH_R"] == "16.0"  # the contradicted left-lobe width (15) is not written
    assert keys["OVARY_LENGTH_L"] == "31.0" and keys["KIDNEY_LENGTH_R"] == "105.0"
