"""init-demo --archive writes an [archive] section the loader accepts; a bad value names the option."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomllib

from ris_ai_module.archive.demo import demo_section
from ris_ai_module.errors import InvalidInput
from ris_ai_module.settings import config_from_dict


def test_archive_option_becomes_a_valid_section(tmp_path: Path) -> None:
    raw = tomllib.loads(demo_section("PACS@127.0.0.1:11113"))
    cfg = config_from_dict({"database": {"url": "sqlite:///x.db"}, "worker": {"enabled": False}, **raw})
    assert (cfg.archive.ae_title, cfg.archive.host, cfg.archive.port) == ("PACS", "127.0.0.1", 11113)
    assert cfg.archive.forwards("1.2.840.10008.5.1.4.1.1.7")


@pytest.mark.parametrize("bad", ["127.0.0.1:11113", "PACS@127.0.0.1", "PACS@:1", "PACS@h:0", "A" * 17 + "@h:1"])
def test_a_bad_archive_option_names_it(bad: str) -> None:
    with pytest.raises(InvalidInput) as info:
        demo_section(bad)
    assert info.value.field == "--archive"


def test_a_bad_archive_key_is_named() -> None:
    from ris_ai_module.errors import ConfigError

    with pytest.raises(ConfigError, match="archive.ae_title"):
        config_from_dict({"database": {"url": "sqlite:///x.db"}, "worker": {"enabled": False}, "archive": {"host": "h", "ae_title": ""}})
