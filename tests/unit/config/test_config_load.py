"""A hospital engineer edits one TOML file; every mistake must name the key and what is expected."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import get_type_hints

import pytest

from ris_ai_module.errors import ConfigError
from ris_ai_module.settings import Config, config_from_dict, load_config

EXAMPLE = Path(str(resources.files("ris_ai_module.config").joinpath("example.toml")))

MINIMAL = """
[database]
url = "sqlite:///ris.db"
[push]
url = "http://127.0.0.1:8090/api/exams"
"""


def _keys_of(cls: type, prefix: str = "") -> set[str]:
    """Every dotted key of the schema; a nested section contributes its own keys."""
    keys = set()
    for name, hint in get_type_hints(cls).items():
        if dataclasses.is_dataclass(hint):
            keys |= _keys_of(hint, f"{prefix}{name}.")
        else:
            keys.add(prefix + name)
    return keys


def _flatten(table: dict, prefix: str = "") -> set[str]:
    keys = set()
    for k, v in table.items():
        if isinstance(v, dict) and v and not k.endswith(("field_names", "constant_fields", "headers")):
            keys |= _flatten(v, f"{prefix}{k}.")
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            keys.add(prefix + k)
        else:
            keys.add(prefix + k)
    return keys


def test_example_config_loads_and_documents_every_key(tmp_path: Path) -> None:
    import tomllib

    config = load_config(EXAMPLE)
    assert isinstance(config, Config)
    documented = _flatten(tomllib.loads(EXAMPLE.read_text(encoding="utf-8")))
    schema = _keys_of(Config)
    missing = sorted(k for k in schema if k not in documented and not any(d.startswith(k + ".") for d in documented))
    assert not missing, f"keys not documented in example.toml: {missing}"


def _load(tmp_path: Path, text: str, **env: str) -> Config:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, environ=env)


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("[push]\nurl='http://x'\n", "database.url", "required key is missing"),
        (MINIMAL + "[push.retry]\ninitial = 5\nmax_delay = 'ten minutes'\n", "push.retry.max_delay", "duration"),
        (MINIMAL + "[worker]\nthreads = '2'\n", "worker.threads", "whole number"),
        (MINIMAL + "[worker]\nthreads = 0\n", "worker.threads", "at least 1"),
        (MINIMAL + "[worker]\nthraeds = 2\n", "worker.thraeds", "unknown key"),
        (MINIMAL + "[ris]\ndetect = 'triggers'\n", "ris.detect", "'trigger', 'poll'"),
        (MINIMAL + "[push.auth]\ntype = 'bearer'\n", "push.auth.token", "required"),
        (MINIMAL + "[push.retry]\nmultiplier = 0.5\n", "push.retry.multiplier", ">= 1"),
        ("[database]\nurl='sqlite:///x.db'\n[push]\nurl='ftp://ai'\n", "push.url", "http"),
        ("[database]\nurl='sqlite:///x.db'\n", "push.url", "required while worker.enabled"),
        ("[database]\nurl='ris.db'\n[push]\nurl='http://x'\n", "database.url", "SQLAlchemy URL"),
        (MINIMAL + "[logging]\nmask_phi = 'yes'\n", "logging.mask_phi", "true or false"),
        (MINIMAL + "[database]\n", "--config", "not valid TOML"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, text: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    assert info.value.key == key
    assert words in str(info.value)


def test_secret_from_environment_variable(tmp_path: Path) -> None:
    text = MINIMAL.replace("[push]", "[push.auth]\ntype='bearer'\ntoken_env='AI_TOKEN'\n[push]", 1)
    text = "[database]\nurl='sqlite:///ris.db'\npassword_env='DB_PW'\n[push]\nurl='http://x'\n[push.auth]\ntype='bearer'\ntoken_env='AI_TOKEN'\n"
    cfg = _load(tmp_path, text, AI_TOKEN="s3cret", DB_PW="pw")
    assert cfg.push.auth.token == "s3cret"
    assert cfg.database.password == "pw"
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text, DB_PW="pw")
    assert info.value.key == "push.auth.token_env" and "AI_TOKEN is not set" in str(info.value)


def test_relative_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    cfg = _load(tmp_path, MINIMAL + "[logging]\nfile='logs/x.log'\n[storage]\nroot='store'\n"
                "[health]\ndisk_paths=['store', '/var/lib/x']\n[[health.http]]\nname='ai'\nurl='http://x'\n"
                "ca_file='pki/ca.pem'\n")
    assert cfg.database.url == f"sqlite:///{tmp_path / 'ris.db'}"
    assert cfg.logging.file == str(tmp_path / "logs" / "x.log")
    assert cfg.storage.root == str(tmp_path / "store")
    assert cfg.health.disk_paths == (str(tmp_path / "store"), "/var/lib/x")
    assert cfg.health.http[0].ca_file == str(tmp_path / "pki" / "ca.pem")
    assert cfg.push.ca_file == "" and cfg.dicom.tls.certificate == ""


def test_durations_accept_units() -> None:
    cfg = config_from_dict({"database": {"url": "sqlite://"}, "push": {"url": "http://x",
                            "retry": {"initial": "250ms", "max_delay": "2h"}}, "worker": {"lease": 90}})
    assert cfg.push.retry.initial == 0.25 and cfg.push.retry.max_delay == 7200 and cfg.worker.lease == 90


def test_config_check_command_exit_status(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(MINIMAL, encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(MINIMAL + "[worker]\nbatch_size = -1\n", encoding="utf-8")
    ok = subprocess.run([sys.executable, "-m", "ris_ai_module", "config", "check", str(good)],
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    fail = subprocess.run([sys.executable, "-m", "ris_ai_module", "config", "check", str(bad)],
                          capture_output=True, text=True, timeout=60)
    assert fail.returncode != 0
    assert "worker.batch_size" in fail.stderr and "Traceback" not in fail.stderr


def test_config_check_says_whether_storage_retention_is_on(tmp_path: Path) -> None:
    """The on-call engineer sees in `config check` whether received files are ever deleted, whatever health is."""
    off = tmp_path / "off.toml"
    off.write_text(MINIMAL, encoding="utf-8")
    on = tmp_path / "on.toml"
    on.write_text(MINIMAL + "[health]\nenabled = false\n[storage]\nkeep_for = \"30d\"\n", encoding="utf-8")
    outs = [subprocess.run([sys.executable, "-m", "ris_ai_module", "config", "check", str(f)],
                           capture_output=True, text=True, timeout=60) for f in (off, on)]
    assert all(o.returncode == 0 for o in outs), [o.stderr for o in outs]
    assert "storage retention: off (storage.keep_for = 0)" in outs[0].stdout
    assert "storage retention: on, files kept 30d after their object is done; at most 200 deleted every 1h" in outs[1].stdout
    assert "independent of health.enabled" in outs[1].stdout
