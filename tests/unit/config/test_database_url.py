"""``database.url`` is checked for a known dialect and an installed driver by ``config check`` and before
``run`` makes its engine: a wrong URL is a one-line configuration error naming the key, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ris_ai_module.db.engine import check_url
from ris_ai_module.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ris_ai_module", "--config", str(config), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(f'[database]\nurl = "{url}"\n[worker]\nenabled = false\n', encoding="utf-8")
    return path


@pytest.mark.parametrize(("url", "says"), [
    ("notadb://x", "unknown database dialect 'notadb'"),
    ("postgresql+psycopg2://u@h/db", "driver 'psycopg2' for postgresql is not installed"),
    ("mysql+mysqldb://u@h/db", "driver 'mysqldb' for mysql is not installed"),
])
def test_config_check_and_run_name_the_key_without_a_traceback(url: str, says: str, tmp_path: Path) -> None:
    config = _config(tmp_path, url)
    for command in (("config", "check"), ("run",)):
        done = _cli(config, *command)
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert "database.url" in done.stderr and says in done.stderr, done.stderr
        assert "Traceback" not in done.stderr + done.stdout


def test_a_good_url_reports_its_dialect_and_driver(tmp_path: Path) -> None:
    done = _cli(_config(tmp_path, "postgresql+psycopg://postgres@127.0.0.1:1/x"), "config", "check")
    assert done.returncode == 0 and "database: postgresql+psycopg" in done.stdout
    assert check_url("sqlite:///x.db").get_backend_name() == "sqlite"


def test_run_against_a_database_that_is_down_is_one_line(tmp_path: Path) -> None:
    done = _cli(_config(tmp_path, "postgresql+psycopg://postgres@127.0.0.1:1/x?connect_timeout=2"), "run")
    assert done.returncode == 3 and "cannot connect to database.url" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_check_url_rejects_garbage() -> None:
    with pytest.raises(ConfigError) as caught:
        check_url("::::")
    assert caught.value.key == "database.url"
