"""The second factor (GB/T 22239-2019 8.1.4.1 d: two factors, one of them cryptographic): RFC 6238 TOTP
with pyotp, 30-second steps, SHA-1, 6 digits — what every authenticator app (Google/Microsoft
Authenticator, 腾讯身份验证器, FreeOTP) enrols from an ``otpauth://`` URI.

With HTTP Basic, the code follows the password in the password field (``<password><6 digits>``). A code is
accepted once: a replayed code (same or earlier time step) is refused."""

from __future__ import annotations

import threading
import time

import pyotp

DIGITS = 6
ISSUER = "ris-ai-module"


def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits


def provisioning_uri(secret: str, name: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=ISSUER)


def split(password_and_code: str) -> tuple[str, str]:
    """``"secret123456"`` -> ``("secret", "123456")``; no code when the last 6 characters are not digits."""
    code = password_and_code[-DIGITS:]
    if len(password_and_code) > DIGITS and code.isascii() and code.isdigit():
        return password_and_code[:-DIGITS], code
    return password_and_code, ""


class TotpVerifier:
    """Checks codes with one step of clock drift either way and refuses a step already used by the account."""

    def __init__(self) -> None:
        self._last_step: dict[str, int] = {}
        self._lock = threading.Lock()

    def verify(self, name: str, secret: str, code: str, now: float | None = None) -> bool:
        if len(code) != DIGITS or not code.isdigit():
            return False
        totp = pyotp.TOTP(secret)
        now = time.time() if now is None else now
        step_now = int(now) // totp.interval
        for step in (step_now, step_now - 1, step_now + 1):
            if pyotp.utils.strings_equal(totp.at(step * totp.interval), code):
                with self._lock:
                    if step <= self._last_step.get(name, -1):
                        return False  # replayed
                    self._last_step[name] = step
                return True
        return False
