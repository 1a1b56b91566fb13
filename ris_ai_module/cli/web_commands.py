"""``hash-password`` and ``new-token``: the only ways a password or API token gets into the configuration
(as a hash)."""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ris_ai_module.cli.session import read_secret
from ris_ai_module.errors import InvalidInput, NoTerminal
from ris_ai_module.web.section import PasswordPolicyConfig

if TYPE_CHECKING:
    from ris_ai_module.settings import Config


def _read_password(args: argparse.Namespace) -> str:
    if args.stdin:
        return sys.stdin.readline().rstrip("\n")
    password = read_secret("password: ")
    if read_secret("again: ") != password:
        raise InvalidInput("password", "the two entries differ")
    return password


def _policy(args: argparse.Namespace) -> tuple[PasswordPolicyConfig, Config | None]:
    """The configuration's password policy when --config is given, else the default one."""
    if not args.config:
        return PasswordPolicyConfig(), None
    from ris_ai_module.cli.core import need_config

    config = need_config(args)
    return config.http.password_policy, config


def _checked_hash(args: argparse.Namespace, name: str) -> str:
    """Hash a new password after the policy; with --config (and an account name) also check the account's
    last N passwords in the database and record this one."""
    from ris_ai_module.db.clock import utcnow
    from ris_ai_module.web.auth import hash_password
    from ris_ai_module.web.password_policy import problems, remember, reused

    policy, config = _policy(args)
    password = _read_password(args)
    if not args.allow_short:
        found = problems(password, policy, name)
        if found:
            raise InvalidInput("password", "; ".join(found) + " (等保 password policy)")
    digest = hash_password(password)
    if config is not None and name:
        from ris_ai_module.db.engine import make_engine

        engine = make_engine(config.database)
        try:
            with engine.begin() as conn:
                if reused(conn, name, password, policy):
                    raise InvalidInput("password", f"one of the last {policy.history} passwords of {name!r}")
                remember(conn, name, digest, policy, utcnow())
        finally:
            engine.dispose()
    return digest


def cmd_hash_password(args: argparse.Namespace) -> int:
    digest = _checked_hash(args, args.user or "")
    print(digest)
    print(f'password_set = "{datetime.date.today().isoformat()}"   # next to password_hash: expiry counts from it',
          file=sys.stderr)
    return 0


def _enrol(name: str, stdin: bool) -> str:
    """A new TOTP secret, shown as otpauth:// URI; kept only after the user types a current code from the app."""
    from ris_ai_module.web.totp import TotpVerifier, new_secret, provisioning_uri

    if not stdin and not sys.stdin.isatty():
        raise NoTerminal("no terminal to prompt for the TOTP code: stdin is not a TTY (give it on stdin with --stdin)")
    secret = new_secret()
    out = sys.stderr
    print(f"Add this account to the authenticator app (scan or type) / 在身份验证器 App 中添加：\n"
          f"    {provisioning_uri(secret, name)}\n    secret: {secret}", file=out)
    print("code shown by the app / 输入 App 显示的 6 位动态码: ", end="", file=out, flush=True)
    code = (sys.stdin.readline() if stdin else input()).strip()
    if not TotpVerifier().verify(name, secret, code):
        raise InvalidInput("code", "wrong or expired TOTP code: enrolment not completed")
    return secret


def cmd_totp_enrol(args: argparse.Namespace) -> int:
    secret = _enrol(args.name, args.stdin)
    print(f'totp_secret = "{secret}"   # in the [[http.users]] table of {args.name} (or totp_secret_env)')
    return 0


def cmd_account_add(args: argparse.Namespace) -> int:
    from ris_ai_module.web.section import ADMIN_ROLES

    roles = [args.role, *args.extra_role]
    admin = sorted(set(roles) & set(ADMIN_ROLES))
    if len(admin) > 1:
        raise InvalidInput("--extra-role", f"{' and '.join(admin)} are held by separate accounts (三员分立)")
    digest = _checked_hash(args, args.name)
    secret = _enrol(args.name, args.stdin) if admin or args.totp else ""
    print("[[http.users]]")
    print(f"name = {json.dumps(args.name, ensure_ascii=False)}")
    print(f'password_hash = "{digest}"')
    print(f'password_set = "{datetime.date.today().isoformat()}"')
    print(f'role = "{args.role}"')
    if args.extra_role:
        print(f"extra_roles = {json.dumps(args.extra_role)}")
    if secret:
        print(f'totp_secret = "{secret}"')
    return 0


def cmd_verify_audit_export(args: argparse.Namespace) -> int:
    from ris_ai_module.web.audit_export import verify_csv

    text = Path(args.file).read_text(encoding="utf-8-sig")
    ok, message = verify_csv(text, args.head)
    print(("OK: " if ok else "TAMPERED / 已被改动: ") + message)
    return 0 if ok else 1


def cmd_new_token(args: argparse.Namespace) -> int:
    from ris_ai_module.web.auth import new_token

    token, digest = new_token()
    print(f"API token for {args.name} (shown once, not stored anywhere; send it as Authorization: Bearer <token>):")
    print(f"API 令牌（仅显示这一次，配置中只保存其散列）：\n\n    {token}\n")
    print("Add to the configuration / 写入配置文件：\n")
    print(f"[[http.tokens]]\nname = {json.dumps(args.name, ensure_ascii=False)}\ntoken_hash = \"{digest}\"\n"
          f"role = \"{args.role}\"")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("hash-password", help="hash a password for [[http.users]] / 生成口令散列")
    p.add_argument("--stdin", action="store_true", help="read the password from standard input")
    p.add_argument("--user", help="the account: with --config, refuses its last N passwords and records this one")
    p.add_argument("--allow-short", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_hash_password)
    roles = ("viewer", "operator", "sysadmin", "secadmin", "auditadmin")
    a = sub.add_parser("account-add", help="a new [[http.users]] table: password policy, TOTP for administrators "
                                           "/ 新建账号")
    a.add_argument("name")
    a.add_argument("--role", choices=roles, default="viewer")
    a.add_argument("--extra-role", action="append", default=[], choices=roles)
    a.add_argument("--totp", action="store_true", help="TOTP also for a viewer/operator account")
    a.add_argument("--stdin", action="store_true", help="read the password, then the TOTP code, from standard input")
    a.add_argument("--allow-short", action="store_true", help=argparse.SUPPRESS)
    a.set_defaults(func=cmd_account_add)
    o = sub.add_parser("totp-enrol", help="a TOTP second factor for an account / 绑定动态口令")
    o.add_argument("name")
    o.add_argument("--stdin", action="store_true", help="read the code from standard input")
    o.set_defaults(func=cmd_totp_enrol)
    v = sub.add_parser("verify-audit-export", help="check the hash chain of an audit CSV export / 校验审计导出")
    v.add_argument("file")
    v.add_argument("--head", help="the chain head recorded at export (RAI_AUDIT audit_export row)")
    v.set_defaults(func=cmd_verify_audit_export)
    t = sub.add_parser("new-token", help="make an API token for [[http.tokens]] / 生成 API 令牌")
    t.add_argument("name", help="who uses the token, e.g. zabbix")
    t.add_argument("--role", choices=("viewer", "operator"), default="viewer")
    t.set_defaults(func=cmd_new_token)
