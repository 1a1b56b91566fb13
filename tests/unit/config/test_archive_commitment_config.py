"""[archive.commitment] and [dicom.commitment]: errors name the dotted key; init-demo --archive-commitment."""

from __future__ import annotations

from typing import Any

import pytest
import tomllib

from ris_ai_module.archive.demo import demo_section
from ris_ai_module.errors import ConfigError, InvalidInput
from ris_ai_module.settings import config_from_dict

BASE: dict[str, Any] = {"database": {"url": "sqlite:///x.db"}, "worker": {"enabled": False}}


def _archive(**commitment: Any) -> dict[str, Any]:
    return {**BASE, "archive": {"ae_title": "PACS", "host": "10.1.2.3", "port": 104,
                                "commitment": {"enabled": True, **commitment}}}


def test_reports_come_from_the_archive_host_by_default() -> None:
    cfg = config_from_dict(_archive())
    assert (cfg.archive.report_ae, cfg.archive.report_addresses()) == ("PACS", ("10.1.2.3",))
    cfg = config_from_dict(_archive(report_ae_title="PACS_SCU", report_addresses=["10.1.2.0/24"]))
    assert (cfg.archive.report_ae, cfg.archive.report_addresses()) == ("PACS_SCU", ("10.1.2.0/24",))


@pytest.mark.parametrize(("raw", "key"), [
    (_archive(report_addresses=["not-an-address"]), "archive.commitment.report_addresses[0]"),
    (_archive(timeout="0s"), "archive.commitment.timeout"),
    (_archive(report_ae_title="A" * 17), "archive.commitment.report_ae_title"),
    ({**BASE, "archive": {"ae_title": "PACS", "host": "pacs.hospital", "commitment": {"enabled": True}}},
     "archive.commitment.report_addresses"),
    ({**BASE, "dicom": {"commitment": {"timeout": "0s"}}}, "dicom.commitment.timeout"),
    ({**BASE, "dicom": {"peers": [{"name": "ai", "ae_title": "AI", "commitment_port": 70000}]}},
     "dicom.peers[0].commitment_port"),
])
def test_a_bad_key_is_named(raw: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict(raw)
    assert key in str(info.value)


def test_init_demo_archive_commitment() -> None:
    raw = tomllib.loads(demo_section("PACS@127.0.0.1:11113", commitment=True))
    cfg = config_from_dict({**BASE, **raw})
    assert cfg.archive.commitment.enabled and cfg.archive.report_addresses() == ("127.0.0.1",)
    assert not config_from_dict({**BASE, **tomllib.loads(demo_section("PACS@127.0.0.1:11113"))}).archive.commitment.enabled
    with pytest.raises(InvalidInput) as info:
        demo_section("", commitment=True)
    assert info.value.field == "--archive-commitment"
    with pytest.raises(InvalidInput) as info:
        demo_section("PACS@pacs.local:104", commitment=True)
    assert info.value.field == "--archive"
