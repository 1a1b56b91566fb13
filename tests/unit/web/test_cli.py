"""The two ways a secret gets into the configuration: hash-password and new-token."""

from __future__ import annotations

import subprocess
import sys

import tomllib

from ris_ai_module.settings import config_from_dict
from ris_ai_module.web.auth import Authenticator, verify_password


def _cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ris_ai_module", *args], input=stdin, capture_output=True,
                          text=True, timeout=60)


def test_hash_password_from_stdin_prints_a_hash_that_verifies() -> None:
    done = _cli("hash-password", "--stdin", stdin="口令-Long-enough\n")
    assert done.returncode == 0, done.stderr
    digest = done.stdout.strip()
    assert digest.startswith("pbkdf2_sha256$600000$") and verify_password("口令-Long-enough", digest)


def test_a_short_password_is_refused_in_one_line() -> None:
    done = _cli("hash-password", "--stdin", stdin="short\n")
    assert done.returncode != 0 and "password" in done.stderr and "Traceback" not in done.stderr


def test_new_token_prints_the_token_once_and_a_table_that_loads() -> None:
    done = _cli("new-token", "zabbix", "--role", "viewer")
    assert done.returncode == 0, done.stderr
    table = done.stdout[done.stdout.index("[[http.tokens]]"):]
    token = next(line.strip() for line in done.stdout.splitlines() if line.startswith("    "))
    assert token not in table, "the token itself never goes into the configuration"
    http = tomllib.loads(table)
    cfg = config_from_dict({"database": {"url": "sqlite:///x.db"}, "push": {"url": "http://127.0.0.1:9/"},
                            "http": {"enabled": True, **http["http"]}})
    account = Authenticator(cfg.http).check_token(token)
    assert account is not None and account.name == "zabbix"
