"""The hospital's catalog overlay is named in the configuration: used by parse-sr and SR_APPLY, and a bad
file stops start-up naming the key, the file and the row."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.sr_fixtures import cases
from tests.sr_fixtures.build import num

BASE = '[database]\nurl = "sqlite:///ris.db"\n[push]\nurl = "http://127.0.0.1:9/"\n'


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ris_ai_module", *args], capture_output=True, text=True, timeout=60)


def test_parse_sr_uses_the_configured_overlay(tmp_path: Path) -> None:
    (tmp_path / "hospital.csv").write_text(
        "key,concept,context,manufacturer,model,source,name_en,name_zh,unit\n"
        "AOR,LN:29436-3,,,,local: this scanner misuses the LVIDd code,,,\n", encoding="utf-8")
    config = tmp_path / "c.toml"
    config.write_text(BASE + '[sr]\ncatalog_overlay = "hospital.csv"\n', encoding="utf-8")
    ds = cases.document(cases.ECHO, [cases.section(cases.LV, cases.group(num(cases.LVIDD, 3.3, "cm")))])
    sr = tmp_path / "s.dcm"
    ds.save_as(sr, enforce_file_format=True)
    with_config = _cli("--config", str(config), "parse-sr", str(sr))
    assert with_config.returncode == 0, with_config.stderr
    assert [(m["key"], m["value"]) for m in json.loads(with_config.stdout)["measurements"]] == [("AOR", 33.0)]
    plain = _cli("parse-sr", str(sr))
    assert [m["key"] for m in json.loads(plain.stdout)["measurements"]] == ["LVIDd"]


def test_a_bad_overlay_stops_start_up_naming_key_file_and_row(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("key,concept,context\nNOPE,LN:1-1,\n", encoding="utf-8")
    config = tmp_path / "c.toml"
    config.write_text(BASE + '[sr]\ncatalog_overlay = "bad.csv"\n', encoding="utf-8")
    done = _cli("config", "check", str(config))
    assert done.returncode == 2
    assert "sr.catalog_overlay" in done.stderr and "bad.csv:2" in done.stderr and "Traceback" not in done.stderr
    config.write_text(BASE + '[sr]\ncatalog_overlay = "missing.csv"\n', encoding="utf-8")
    missing = _cli("config", "check", str(config))
    assert missing.returncode == 2 and "sr.catalog_overlay" in missing.stderr and "missing.csv" in missing.stderr
