"""account-add, totp-enrol, hash-password's policy and history, verify-audit-export: the command line an
administrator uses, run as a process with the password and the authenticator app's code on its input."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pyotp
import tomllib

from ris_ai_module.web.audit_export import export_csv
from ris_ai_module.web.auth import verify_password


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "ris_ai_module", *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")


def _enrol_with_app(proc: subprocess.Popen[str], first_line: str, wrong: bool = False) -> tuple[str, str, str]:
    """Type ``first_line``, read the secret the command shows, answer with the code an app would show."""
    assert proc.stdin and proc.stderr
    proc.stdin.write(first_line)
    proc.stdin.flush()
    shown = ""
    while "secret: " not in shown:
        line = proc.stderr.readline()
        assert line, shown
        shown += line
    secret = re.search(r"secret: (\w+)", shown).group(1)
    assert "otpauth://totp/ris-ai-module:" in shown and f"secret={secret}" in shown
    typed = pyotp.TOTP(secret).now()
    out, err = proc.communicate(("000000" if typed != "000000" else "111111") if wrong else typed + "\n", timeout=60)
    return secret, out, err


def test_account_add_for_an_auditor_prints_a_table_with_totp_that_loads() -> None:
    proc = _start("account-add", "aud", "--role", "auditadmin", "--stdin")
    secret, out, err = _enrol_with_app(proc, "Strong-pass-2026\n")
    assert proc.returncode == 0, err
    table = tomllib.loads(out)["http"]["users"][0]
    assert table["name"] == "aud" and table["role"] == "auditadmin" and table["totp_secret"] == secret
    assert verify_password("Strong-pass-2026", table["password_hash"]) and re.fullmatch(r"\d{4}-\d\d-\d\d",
                                                                                      table["password_set"])


def test_enrolment_with_a_wrong_code_is_not_completed() -> None:
    proc = _start("totp-enrol", "aud", "--stdin")
    _, out, err = _enrol_with_app(proc, "", wrong=True)
    assert proc.returncode == 2 and "enrolment not completed" in err and "totp_secret" not in out


def test_account_add_refuses_two_admin_roles_and_a_weak_password() -> None:
    two = subprocess.run([sys.executable, "-m", "ris_ai_module", "account-add", "root", "--role", "sysadmin",
                          "--extra-role", "secadmin", "--stdin"], input="Strong-pass-2026\n", capture_output=True,
                         text=True, timeout=60)
    assert two.returncode == 2 and "三员分立" in two.stderr
    weak = subprocess.run([sys.executable, "-m", "ris_ai_module", "hash-password", "--stdin"],
                          input="alllowercase1\n", capture_output=True, text=True, timeout=60)
    assert weak.returncode == 2 and "at least 3 of" in weak.stderr and "Traceback" not in weak.stderr


def test_hash_password_with_config_refuses_a_recent_password(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "rai.db"}"\n[push]\nurl = "http://127.0.0.1:9/"\n',
                      encoding="utf-8")
    assert subprocess.run([sys.executable, "-m", "ris_ai_module", "--config", str(config), "init-db"],
                          capture_output=True, timeout=120).returncode == 0

    def set_password(password: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "ris_ai_module", "--config", str(config), "hash-password",
                               "--user", "op", "--stdin"], input=password + "\n", capture_output=True, text=True,
                              timeout=60)

    assert set_password("First-pass-2026").returncode == 0
    assert set_password("Second-pass-2026").returncode == 0
    again = set_password("First-pass-2026")
    assert again.returncode == 2 and "one of the last 5 passwords of 'op'" in again.stderr


def test_verify_audit_export_names_the_broken_line(tmp_path: Path) -> None:
    rows = [{"audit_id": i, "audit_at": "2026-12-01 08:00:00", "actor": "op", "source": "cli", "action": "retry",
             "target": str(i), "detail": None, "ok": 1} for i in (1, 2)]
    text, head, _ = export_csv(rows, "", "", "2026-12-02T00:00:00")
    good = tmp_path / "good.csv"
    good.write_text("\ufeff" + text, encoding="utf-8")
    ok = subprocess.run([sys.executable, "-m", "ris_ai_module", "verify-audit-export", str(good), "--head", head],
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and ok.stdout.startswith("OK: 2 rows")
    bad = tmp_path / "bad.csv"
    bad.write_text(text.replace(",retry,2,", ",retry,9,"), encoding="utf-8")
    broken = subprocess.run([sys.executable, "-m", "ris_ai_module", "verify-audit-export", str(bad)],
                            capture_output=True, text=True, timeout=60)
    assert broken.returncode == 1 and "line 4: chain broken (audit_id 2" in broken.stdout
