"""[outbox] / [hl7] bad input names the key; the composition root's delivery list follows the config."""

from __future__ import annotations

import pytest

from ris_ai_module.deliveries import REGISTRY, deliveries_of
from ris_ai_module.errors import ConfigError, InvalidInput
from ris_ai_module.results.demo import parse_host_port
from ris_ai_module.settings import config_from_dict

BASE = {"database": {"url": "sqlite://"}, "worker": {"enabled": False}}


def _cfg(**sections):
    return config_from_dict({**BASE, **sections})


def test_registry_lines_follow_the_config():
    assert REGISTRY.kinds(_cfg()) == []
    assert REGISTRY.kinds(_cfg(outbox={"folder": "/tmp/x"})) == ["OUTBOX"]
    assert REGISTRY.kinds(_cfg(outbox={"folder": "/tmp/x"}, hl7={"host": "esb", "port": 2575}), "signed") == [
        "OUTBOX", "HL7_ORU"]
    assert deliveries_of(object()) is REGISTRY


@pytest.mark.parametrize("sections, key", [
    ({"outbox": {"folder": "/tmp/x", "formats": ["json", "pdf"]}}, "outbox.formats[1]"),
    ({"outbox": {"folder": "/tmp/x", "formats": []}}, "outbox.formats"),
    ({"hl7": {"host": "esb", "port": 0}}, "hl7.port"),
    ({"hl7": {"host": "esb", "reference_ranges": {"LVEF": "fifty"}}}, "hl7.reference_ranges.LVEF"),
    ({"hl7": {"host": "esb", "charset": "big5"}}, "hl7.charset"),
])
def test_bad_values_name_the_key(sections, key):
    with pytest.raises(ConfigError) as err:
        _cfg(**sections)
    assert key in str(err.value)


def test_host_port_option():
    assert parse_host_port("127.0.0.1:2575") == ("127.0.0.1", 2575)
    assert parse_host_port("[::1]:2575") == ("::1", 2575)
    for bad in ("esb", "esb:", ":2575", "esb:99999", "esb:x"):
        with pytest.raises(InvalidInput, match="--hl7"):
            parse_host_port(bad)
