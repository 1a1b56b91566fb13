"""The password policy of GB/T 22239-2019 8.1.4.1 (身份鉴别 a): length, character classes, no reuse of the
last N, expiry with a warning. Checked where a password becomes a hash (``hash-password``,
``account-add``): the server only ever sees hashes, so it can check age but not complexity."""

from __future__ import annotations

import datetime as dt
import unicodedata

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from ris_ai_module.db.tables import password_history
from ris_ai_module.web.auth import password_days_left, verify_password
from ris_ai_module.web.section import PasswordPolicyConfig


def character_classes(password: str) -> set[str]:
    classes = set()
    for ch in password:
        if ch.isascii() and ch.islower():
            classes.add("lower")
        elif ch.isascii() and ch.isupper():
            classes.add("upper")
        elif ch.isdigit():
            classes.add("digit")
        elif not unicodedata.category(ch).startswith("C"):  # control characters count for nothing
            classes.add("other")
    return classes


def problems(password: str, policy: PasswordPolicyConfig, name: str = "") -> list[str]:
    """What is wrong with ``password`` under ``policy`` (empty when it is acceptable)."""
    found = []
    if len(password) < policy.min_length:
        found.append(f"at least {policy.min_length} characters (got {len(password)})")
    classes = character_classes(password)
    if len(classes) < policy.min_classes:
        found.append(f"at least {policy.min_classes} of: lower case, upper case, digits, other characters "
                     f"(got {len(classes)})")
    if name and name.casefold() in password.casefold():
        found.append("must not contain the account name")
    return found


def reused(conn: Connection, name: str, password: str, policy: PasswordPolicyConfig) -> bool:
    """Whether ``password`` is one of the account's last ``policy.history`` passwords."""
    if policy.history <= 0:
        return False
    rows = conn.execute(select(password_history.c.password_hash).where(password_history.c.user_name == name)
                        .order_by(password_history.c.set_at.desc(), password_history.c.history_id.desc())
                        .limit(policy.history)).scalars()
    return any(verify_password(password, stored) for stored in rows)


def remember(conn: Connection, name: str, password_hash: str, policy: PasswordPolicyConfig,
             at: dt.datetime) -> None:
    """Record the new hash and forget those beyond the last N."""
    conn.execute(password_history.insert().values(user_name=name, password_hash=password_hash, set_at=at))
    keep = conn.execute(select(password_history.c.history_id).where(password_history.c.user_name == name)
                        .order_by(password_history.c.set_at.desc(), password_history.c.history_id.desc())
                        .limit(max(policy.history, 1))).scalars().all()
    conn.execute(delete(password_history).where(password_history.c.user_name == name,
                                                password_history.c.history_id.not_in(keep)))


days_left = password_days_left  # one definition, in web/auth.py (which the policy builds on)
