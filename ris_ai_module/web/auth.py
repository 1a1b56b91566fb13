"""Who may use the API: PBKDF2 password hashes, lockout after repeated failures, API tokens.

People log in once on the status page (a session, ``web/sessions.py``) or send HTTP Basic; scripts and
monitoring tools send an API token (``Authorization: Bearer``). Either must travel over HTTPS outside the
server itself (等保: encryption in transit). Failures are counted in the database per account and per
client address (``web/lockout.py``). A verified password is remembered for a few minutes by its SHA-256,
so the deliberately slow PBKDF2 runs once per user and window, not once per Basic request.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import secrets
import threading
import time

from ris_ai_module.web.lockout import LoginFailures
from ris_ai_module.web.section import (
    HASH_PREFIX,
    TOKEN_PREFIX,
    HttpConfig,
    HttpTokenConfig,
    HttpUserConfig,
    PasswordPolicyConfig,
)
from ris_ai_module.web.totp import TotpVerifier, split

ITERATIONS = 600_000  # OWASP 2023 figure for PBKDF2-HMAC-SHA256
VERIFIED_FOR = 300.0


def hash_password(password: str, iterations: int = ITERATIONS) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"{HASH_PREFIX}{iterations}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        _, iterations, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), base64.b64decode(salt), int(iterations))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def new_token() -> tuple[str, str]:
    """(token, its hash for [[http.tokens]]): the token is shown once, only the hash is kept."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return TOKEN_PREFIX + hashlib.sha256(token.encode("utf-8")).hexdigest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class Authenticator:
    """Checks credentials; counts failures per account and per address and locks them (等保 身份鉴别)."""

    def __init__(self, cfg: HttpConfig, failures: LoginFailures | None = None) -> None:
        """``failures`` may be left out where only API tokens are checked (they need no lockout)."""
        self.cfg = cfg
        self.failures = failures
        self.users = {u.name: u for u in cfg.users}
        self.tokens = {t.token_hash: t for t in cfg.tokens}
        # An unknown name costs the same PBKDF2 as a known one: the time of a reply does not tell which
        # account names exist.
        self._dummy = hash_password(secrets.token_hex(8), ITERATIONS if not cfg.users else _iterations(cfg.users[0]))
        self._verified: dict[tuple[str, bytes], float] = {}
        self._lock = threading.Lock()
        self._totp = TotpVerifier()

    def days_left(self, user: HttpUserConfig) -> int | None:
        """Days until the account's password expires under the policy (None: no expiry)."""
        return password_days_left(user.password_set, self.cfg.password_policy, datetime.date.today())

    def check(self, name: str, password: str, address: str) -> tuple[HttpUserConfig | None, str]:
        """(user, "") when accepted, else (None, reason): "locked" (account), "address locked",
        "bad credentials" or "password expired". A locked account or address is refused even with the right
        password. An account with a TOTP secret (every administrator role) sends its password followed by the
        current 6-digit code; both must be right, and a failure of either counts towards the lockout."""
        if self.failures is None:
            raise RuntimeError("Authenticator.check needs the LoginFailures store")
        lock = self.failures.locked(name, address)
        if lock is not None:
            return None, "locked" if lock == "account" else "address locked"
        now = time.monotonic()
        user = self.users.get(name)
        token = (name, hashlib.sha256(password.encode("utf-8")).digest())
        with self._lock:
            cached = self._verified.get(token, 0.0) > now
            if len(self._verified) > 10_000:
                self._verified = {k: v for k, v in self._verified.items() if v > now}
        secret, code = password, ""
        if user is not None and user.totp_secret:
            secret, code = split(password)
        if user is None:
            verify_password(password, self._dummy)
        ok = user is not None and (cached or (verify_password(secret, user.password_hash) and (
            not user.totp_secret or self._totp.verify(name, user.totp_secret, code))))
        if ok and user is not None:
            left = self.days_left(user)
            if left is not None and left < 0:
                return None, "password expired"
        if ok:
            if not cached:
                self.failures.succeeded(name)
            with self._lock:
                self._verified[token] = now + VERIFIED_FOR
            return user, ""
        if self.failures.failed(name, address):
            lock = self.failures.locked(name, address)
            return None, "address locked" if lock == "address" else "locked"
        return None, "bad credentials"

    def check_token(self, token: str) -> HttpTokenConfig | None:
        """The API token's account, or None (256 random bits: no lockout needed against guessing)."""
        wanted = token_hash(token)
        return next((t for h, t in self.tokens.items() if hmac.compare_digest(h, wanted)), None)


def _iterations(user: HttpUserConfig) -> int:
    try:
        return int(user.password_hash.split("$")[1])
    except (IndexError, ValueError):
        return ITERATIONS


def password_days_left(password_set: str, policy: PasswordPolicyConfig, today: datetime.date) -> int | None:
    """Days until a password set on ``password_set`` (ISO date) expires (negative: expired), or None when
    it never does or its date is unknown. Here, not in password_policy.py, which imports this module."""
    if not password_set or int(policy.max_age) <= 0:
        return None
    expires = datetime.date.fromisoformat(password_set) + datetime.timedelta(seconds=int(policy.max_age))
    return (expires - today).days
