"""``hash-password``: the only way a password gets into the configuration (as a PBKDF2 hash)."""

from __future__ import annotations

import argparse
import getpass
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


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("hash-password", help="hash a password for [[http.users]] / 生成口令散列")
    p.add_argument("--stdin", action="store_true", help="read the password from standard input")
    p.add_argument("--allow-short", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_hash_password)
