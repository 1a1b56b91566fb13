"""``hash-password`` and ``new-token``: the only ways a password or API token gets into the configuration
(as a hash)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from ris_ai_module.errors import InvalidInput


def cmd_hash_password(args: argparse.Namespace) -> int:
    from ris_ai_module.web.auth import hash_password

    if args.stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise InvalidInput("password", "the two entries differ")
    if len(password) < 8 and not args.allow_short:
        raise InvalidInput("password", "at least 8 characters (等保 password complexity)")
    print(hash_password(password))
    return 0


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
    p.add_argument("--allow-short", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_hash_password)
    t = sub.add_parser("new-token", help="make an API token for [[http.tokens]] / 生成 API 令牌")
    t.add_argument("name", help="who uses the token, e.g. zabbix")
    t.add_argument("--role", choices=("viewer", "operator"), default="viewer")
    t.set_defaults(func=cmd_new_token)
