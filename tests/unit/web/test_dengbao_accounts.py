"""等保三级 account controls without a server: password policy, TOTP (RFC 6238 vectors), separation of
duties in the configuration, the hash-chained audit export and its verifier."""

from __future__ import annotations

import base64

import pytest

from ris_ai_module.errors import ConfigError
from ris_ai_module.settings import config_from_dict
from ris_ai_module.web.audit_export import export_csv, verify_csv
from ris_ai_module.web.auth import hash_password
from ris_ai_module.web.password_policy import days_left, problems
from ris_ai_module.web.section import PasswordPolicyConfig
from ris_ai_module.web.totp import TotpVerifier, split

# RFC 6238 appendix B: the SHA-1 key is the ASCII string "12345678901234567890".
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


def test_password_policy_length_classes_and_name() -> None:
    policy = PasswordPolicyConfig()  # 10 characters, 3 of 4 classes
    assert problems("Zhang-2026x", policy) == []
    assert problems("张三医生Ab1xyz", policy) == []  # CJK counts as "other": upper, lower, digit, other
    assert problems("Ab1-short", policy) == ["at least 10 characters (got 9)"]
    assert problems("alllowercase1", policy) == ["at least 3 of: lower case, upper case, digits, other "
                                                 "characters (got 2)"]
    assert problems("Operator-2026x", policy, name="operator") == ["must not contain the account name"]


def test_password_expiry_counts_from_password_set() -> None:
    import datetime as dt

    policy = PasswordPolicyConfig()  # 90 days
    today = dt.date(2026, 12, 2)
    assert days_left("2026-09-03", policy, today) == 0  # 2026-09-03 + 90 days = 2026-12-02
    assert days_left("2026-09-02", policy, today) == -1
    assert days_left("", policy, today) is None


@pytest.mark.parametrize(("at", "code"), [(59, "287082"), (1111111109, "081804"), (1234567890, "005924")])
def test_totp_matches_rfc6238_vectors(at: int, code: str) -> None:
    assert TotpVerifier().verify("a", RFC_SECRET, code, now=at)


def test_totp_refuses_replay_wrong_code_and_far_drift() -> None:
    verifier = TotpVerifier()
    assert verifier.verify("a", RFC_SECRET, "005924", now=1234567890)
    assert not verifier.verify("a", RFC_SECRET, "005924", now=1234567891), "same code twice"
    assert not TotpVerifier().verify("a", RFC_SECRET, "005925", now=1234567890)
    assert not TotpVerifier().verify("a", RFC_SECRET, "005924", now=1234567890 + 90), "three steps later"
    assert TotpVerifier().verify("a", RFC_SECRET, "005924", now=1234567890 + 30), "one step of drift"
    assert split("pass-word287082") == ("pass-word", "287082") and split("pass-word") == ("pass-word", "")


def _config(users: list[dict], **http) -> None:
    config_from_dict({"database": {"url": "sqlite:///x.db"}, "push": {"url": "http://127.0.0.1:9/"},
                      "http": {"enabled": True, "users": users, **http}})


def _user(name: str, role: str, **kw) -> dict:
    return {"name": name, "password_hash": hash_password("x", 1000), "role": role, **kw}


def test_one_account_never_holds_two_administrator_roles_by_default() -> None:
    both = _user("root", "sysadmin", extra_roles=["auditadmin"], totp_secret=RFC_SECRET)
    with pytest.raises(ConfigError) as err:
        _config([both])
    assert err.value.key == "http.users[0].extra_roles" and "三员分立" in str(err.value)
    _config([both], separation_of_duties=False)  # a small site may, explicitly
    _config([_user("op", "operator", extra_roles=["viewer"])])  # daily roles combine freely


def test_administrator_roles_need_a_second_factor() -> None:
    with pytest.raises(ConfigError) as err:
        _config([_user("sec", "secadmin")])
    assert err.value.key == "http.users[0].totp_secret" and "totp-enrol sec" in str(err.value)
    with pytest.raises(ConfigError) as err:
        _config([_user("sec", "secadmin", totp_secret="AAAA")])
    assert err.value.key == "http.users[0].totp_secret"


ROWS = [{"audit_id": i, "audit_at": f"2026-12-0{i} 08:00:00", "actor": "op", "source": "http:127.0.0.1",
         "action": "exam_resend", "target": f"E000{i}", "detail": "张三, \"quoted\"", "ok": 1} for i in (1, 2, 3)]


def test_audit_export_chain_detects_an_edited_deleted_or_cut_row() -> None:
    text, head, count = export_csv(ROWS, "2026-12-01", "2026-12-03", "2026-12-04T00:00:00")
    assert count == 3 and verify_csv(text, head)[0]
    lines = text.split("\r\n")
    edited = "\r\n".join(lines[:3] + [lines[3].replace("E0002", "E0009")] + lines[4:])
    assert verify_csv(edited) == (False, "line 4: chain broken (audit_id 2: this row or one before it was edited, "
                                         "deleted or inserted)")
    deleted = "\r\n".join(lines[:3] + lines[4:])
    ok, why = verify_csv(deleted)
    assert not ok and why.startswith("line 4: chain broken (audit_id 3")
    cut = "\r\n".join(lines[:4]) + "\r\n"
    assert verify_csv(cut) == (False, "no END row: the file was cut")
    # A forger who drops row 2 and recomputes every hash is caught by the head recorded at export time.
    forged, forged_head, _ = export_csv([ROWS[0], ROWS[2]], "2026-12-01", "2026-12-03", "2026-12-04T00:00:00")
    assert verify_csv(forged)[0] and not verify_csv(forged, head)[0]
