"""Campus keys of linking need the view's campus column, and say which key is at fault."""

from __future__ import annotations

import pytest

from ris_ai_module.errors import ConfigError
from ris_ai_module.settings import config_from_dict

PEER = {"name": "east-ai", "ae_title": "EAST_AI", "addresses": ["10.0.0.1"], "campus": "east"}


def test_a_peer_campus_needs_the_campus_column() -> None:
    with pytest.raises(ConfigError) as err:
        config_from_dict({"database": {"url": "sqlite://"}, "worker": {"enabled": False}, "dicom": {"peers": [PEER]}})
    assert err.value.key == "dicom.peers[0].campus"


def test_institution_campuses_need_the_campus_column() -> None:
    with pytest.raises(ConfigError) as err:
        config_from_dict({"database": {"url": "sqlite://"}, "worker": {"enabled": False},
                          "ris": {"campus_institutions": {"东院区": "east"}}})
    assert err.value.key == "ris.campus_institutions"


def test_campus_keys_load_with_the_column() -> None:
    config = config_from_dict({"database": {"url": "sqlite://"}, "worker": {"enabled": False},
                               "ris": {"campus_column": "CAMPUS", "campus_institutions": {"东院区": "east"}},
                               "dicom": {"peers": [PEER]}})
    assert config.dicom.peers[0].campus == "east" and dict(config.ris.campus_institutions) == {"东院区": "east"}


def _outbox(ris: dict, outbox: dict):
    return config_from_dict({"database": {"url": "sqlite://"}, "worker": {"enabled": False}, "ris": ris,
                             "outbox": {"folder": "/tmp/out", **outbox}})


def test_outbox_names_carry_the_campus_whenever_the_ris_has_campuses_unless_told_otherwise() -> None:
    # Two campuses may share an accession number: without the campus in the name one exam's files would
    # overwrite another patient's.
    grouped = _outbox({"campus_column": "CAMPUS"}, {})
    assert grouped.outbox.names_campus(grouped.ris.campus_column) is True
    single = _outbox({}, {})
    assert single.outbox.names_campus(single.ris.campus_column) is False
    unique_accessions = _outbox({"campus_column": "CAMPUS"}, {"campus_in_name": False})
    assert unique_accessions.outbox.names_campus(unique_accessions.ris.campus_column) is False
    asked = _outbox({}, {"campus_in_name": True})
    assert asked.outbox.names_campus(asked.ris.campus_column) is True
