"""SR fixtures are generated once per session from tests/sr_fixtures (nothing binary is committed)."""

from __future__ import annotations

import pytest

from ris_ai_module.sr.parse import parse_sr_file
from tests.sr_fixtures.cases import write_all


@pytest.fixture(scope="session")
def sr_files(tmp_path_factory):
    return write_all(tmp_path_factory.mktemp("sr"))


@pytest.fixture(scope="session")
def parsed(sr_files):
    """name -> ParsedSR for every well-formed case (parsed once)."""
    return {name: parse_sr_file(path) for name, path in sr_files.items() if name != "not_dicom"}


def selected(result, key, **context):
    """The one selected measurement of ``key`` whose context contains ``context``."""
    hits = [m for m in result.measurements if m.key == key and m.selected
            and all(m.context.get(k) == v for k, v in context.items())]
    assert len(hits) == 1, f"{key} {context}: {[(m.path, m.context) for m in hits]}"
    return hits[0]
