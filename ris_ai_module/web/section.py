"""[http]: the HTTP API and status page (look-up, trace, resend, manual SR upload)."""

from __future__ import annotations

import base64
import binascii
import datetime
import ipaddress
from dataclasses import dataclass, field
from typing import Literal

from ris_ai_module.config.types import ByteSize, Duration, FilePath
from ris_ai_module.errors import ConfigError

HASH_PREFIX = "pbkdf2_sha256$"
TOKEN_PREFIX = "sha256$"

Role = Literal["viewer", "operator", "sysadmin", "secadmin", "auditadmin"]
#: 三员分立 (GB/T 22239-2019 8.1.4.2): system, security and audit administrator; each needs a second factor.
ADMIN_ROLES = ("sysadmin", "secadmin", "auditadmin")


@dataclass(frozen=True)
class PasswordPolicyConfig:
    """[http.password_policy]: checked when a password is hashed (`hash-password`, `account-add`)."""

    min_length: int = 10
    #: Of the four classes lower case, upper case, digits, other characters (CJK counts as other).
    min_classes: int = 3
    #: A new password may not be one of the account's last N (kept as hashes in RAI_PASSWORD_HISTORY).
    history: int = 5
    #: A password older than this is refused at login (0 s = never expires); counted from password_set.
    max_age: Duration = Duration(90 * 86400)
    #: Within this time before expiry every answer carries X-Password-Expires-In-Days.
    warn_before: Duration = Duration(14 * 86400)

    def validate(self) -> None:
        if self.min_length < 8:
            raise ConfigError("http.password_policy.min_length", "expected at least 8 (等保 password complexity)")
        if not 1 <= self.min_classes <= 4:
            raise ConfigError("http.password_policy.min_classes", "expected 1 to 4")
        if self.history < 0:
            raise ConfigError("http.password_policy.history", "expected 0 or more")


@dataclass(frozen=True)
class HttpUserConfig:
    """An account of the API. Passwords are stored only as PBKDF2 hashes (`ris-ai-module hash-password`)."""

    name: str
    password_hash: str
    role: Role = "viewer"
    #: Further roles of the same account; two administrator roles only with separation_of_duties = false.
    extra_roles: tuple[Role, ...] = ()
    #: The day the password was set (YYYY-MM-DD, printed by hash-password): its expiry counts from it.
    password_set: str = ""
    #: TOTP secret (base32, from `ris-ai-module totp-enrol`); required for the administrator roles.
    totp_secret: str = ""
    #: Campuses (values of ``ris.campus_column``) whose exams this account sees; empty: every campus.
    campuses: tuple[str, ...] = ()

    @property
    def roles(self) -> frozenset[str]:
        return frozenset((self.role, *self.extra_roles))


@dataclass(frozen=True)
class HttpTokenConfig:
    """An API token for a script or monitoring tool (``Authorization: Bearer``), stored only as its SHA-256
    (`ris-ai-module new-token`); the token itself is 256 random bits, so a fast hash is enough."""

    name: str
    token_hash: str
    role: Literal["viewer", "operator"] = "viewer"
    #: Campuses (values of ``ris.campus_column``) whose exams this token sees; empty: every campus.
    campuses: tuple[str, ...] = ()


@dataclass(frozen=True)
class HttpConfig:
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8080
    #: HTTPS when both are given (TLS 1.2 or newer).
    tls_certificate: FilePath = FilePath("")
    tls_private_key: FilePath = FilePath("")
    users: tuple[HttpUserConfig, ...] = ()
    tokens: tuple[HttpTokenConfig, ...] = ()
    #: Client addresses allowed to connect (IPs or CIDR ranges); empty = any.
    ip_allow: tuple[str, ...] = ()
    lockout_failures: int = 5
    #: Failures from one client address (over any account names) that lock the address.
    lockout_address_failures: int = 20
    lockout_time: Duration = Duration(600)
    #: A page session ends after this long without a request (等保: idle timeout).
    session_idle: Duration = Duration(900)
    max_upload: ByteSize = ByteSize(200 * 1024 * 1024)
    #: Worker threads: requests served at once (idle keep-alive connections hold none).
    threads: int = 16
    #: Pinyin name search looks this far back when no date range is given (it reads names to compare).
    pinyin_window: Duration = Duration(365 * 86400)
    #: How often the name look-up's term table is compared with RAI_V_EXAM (a corrected name is found
    #: under its new name after the next rescan).
    name_rescan_interval: Duration = Duration(60)
    #: How often the exams queued by the name-index triggers (31_trigger_name_index.sql) are applied.
    name_queue_interval: Duration = Duration(5)
    #: Request line and headers must arrive within this time; a body within it plus its length at min_body_rate.
    header_timeout: Duration = Duration(10)
    min_body_rate: ByteSize = ByteSize(32 * 1024)
    #: Largest body of any request but the SR upload (which has max_upload); larger is 413, never read.
    max_body: ByteSize = ByteSize(64 * 1024)
    #: Requests in progress at once from one client address (at most threads - 1); more are answered 503 at once.
    max_per_source: int = 4
    #: No account holds two of sysadmin/secadmin/auditadmin (三员分立); false only for a site with too few staff.
    separation_of_duties: bool = True
    password_policy: PasswordPolicyConfig = field(default_factory=PasswordPolicyConfig)

    def validate(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError("http.port", f"expected a TCP port, got {self.port}")
        if bool(self.tls_certificate) != bool(self.tls_private_key):
            raise ConfigError("http.tls_private_key", "http.tls_certificate and http.tls_private_key go together")
        if self.enabled and not (self.users or self.tokens):
            raise ConfigError("http.users", "at least one [[http.users]] entry is required while http.enabled is true")
        names = [u.name for u in self.users] + [t.name for t in self.tokens]
        for i, user in enumerate(self.users):
            if not user.name.strip() or names[:len(self.users)].count(user.name) > 1:
                raise ConfigError(f"http.users[{i}].name", f"expected a unique, non-empty name, got {user.name!r}")
            if not user.password_hash.startswith(HASH_PREFIX) or user.password_hash.count("$") != 3:
                raise ConfigError(f"http.users[{i}].password_hash",
                                  "expected a hash from `ris-ai-module hash-password` (plain passwords are not accepted)")
            _validate_account(i, user, self.separation_of_duties)
        for i, token in enumerate(self.tokens):
            if not token.name.strip() or names.count(token.name) > 1:
                raise ConfigError(f"http.tokens[{i}].name", f"expected a unique, non-empty name, got {token.name!r}")
            digest = token.token_hash.removeprefix(TOKEN_PREFIX)
            if not token.token_hash.startswith(TOKEN_PREFIX) or len(digest) != 64 or digest.strip("0123456789abcdef"):
                raise ConfigError(f"http.tokens[{i}].token_hash",
                                  "expected a hash from `ris-ai-module new-token` (plain tokens are not accepted)")
        for i, address in enumerate(self.ip_allow):
            try:
                ipaddress.ip_network(address, strict=False)
            except ValueError:
                raise ConfigError(f"http.ip_allow[{i}]", f"expected an IP address or CIDR range, got {address!r}") from None
        if self.lockout_failures < 1:
            raise ConfigError("http.lockout_failures", "expected at least 1")
        if self.name_rescan_interval < 5:
            raise ConfigError("http.name_rescan_interval", "expected at least 5s")
        if not 1 <= self.name_queue_interval <= 60:
            raise ConfigError("http.name_queue_interval", "expected between 1s and 1m (a corrected name is found within a minute)")
        if self.lockout_address_failures < self.lockout_failures:
            raise ConfigError("http.lockout_address_failures", "expected at least http.lockout_failures")
        if not 60 <= self.session_idle <= 86400:
            raise ConfigError("http.session_idle", "expected between 1m and 1d")
        if self.threads < 1:
            raise ConfigError("http.threads", "expected at least 1")
        if self.header_timeout < 1:
            raise ConfigError("http.header_timeout", "expected at least 1s")
        if self.min_body_rate < 1024:
            raise ConfigError("http.min_body_rate", f"expected at least 1KB (per second), got {int(self.min_body_rate)}")
        if self.max_per_source < 1:
            raise ConfigError("http.max_per_source", "expected at least 1")
        self.password_policy.validate()


def _validate_account(i: int, user: HttpUserConfig, separation: bool) -> None:
    admin = sorted(user.roles & set(ADMIN_ROLES))
    if separation and len(admin) > 1:
        raise ConfigError(f"http.users[{i}].extra_roles",
                          f"{user.name!r} would hold {' and '.join(admin)}: system, security and audit administrator "
                          "are separate accounts (三员分立; http.separation_of_duties = false to allow it)")
    if user.totp_secret:
        try:
            secret = base64.b32decode(user.totp_secret.upper() + "=" * (-len(user.totp_secret) % 8))
        except (binascii.Error, ValueError):
            secret = b""
        if len(secret) < 10:
            raise ConfigError(f"http.users[{i}].totp_secret",
                              "expected a base32 secret of at least 80 bits from `ris-ai-module totp-enrol`")
    elif admin:
        raise ConfigError(f"http.users[{i}].totp_secret",
                          f"the {admin[0]} role needs a second factor: run `ris-ai-module totp-enrol {user.name}`")
    if user.password_set:
        try:
            datetime.date.fromisoformat(user.password_set)
        except ValueError:
            raise ConfigError(f"http.users[{i}].password_set",
                              f"expected a date YYYY-MM-DD, got {user.password_set!r}") from None


