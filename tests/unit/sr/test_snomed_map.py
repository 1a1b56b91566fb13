"""The SRT -> SCT map is shipped catalog data: the reader needs no private pydicom module, and the file
matches what the generator writes from the installed pydicom."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ris_ai_module.sr.items import _srt_to_sct, normalise_code

ROOT = Path(__file__).resolve().parents[3]


def test_legacy_snomed_codes_map_to_snomed_ct() -> None:
    # PS3.16: SRT T-32000 (Heart) is SCT 80891009; SRT G-A101 (Left) is SCT 7771000.
    assert normalise_code("SRT", "T-32000") == ("SCT", "80891009")
    assert normalise_code("SNM3", "G-A101") == ("SCT", "7771000")
    assert normalise_code("SRT", "NOT-A-CODE") == ("SRT", "NOT-A-CODE")
    assert len(_srt_to_sct()) > 7000


def test_shipped_map_is_what_the_generator_writes(tmp_path: Path) -> None:
    shipped = (ROOT / "ris_ai_module/sr/catalog/snomed-srt-sct.csv").read_text(encoding="utf-8")
    script = (ROOT / "tools/make_snomed_map.py").read_text(encoding="utf-8")
    out = tmp_path / "map.csv"
    code = script.replace('OUT = Path(__file__).resolve().parents[1] / "ris_ai_module" / "sr" / "catalog" / "snomed-srt-sct.csv"',
                          f"OUT = Path({str(out)!r})")
    assert code != script
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    assert out.read_text(encoding="utf-8") == shipped, "pydicom's table changed: re-run tools/make_snomed_map.py"
