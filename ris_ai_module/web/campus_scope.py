"""Which campuses' exams a caller sees: the request's ``campus`` filter, within the account's ``campuses``.

An account (``[[http.users]]`` or ``[[http.tokens]]``) limited to some campuses of a hospital group never
sees another campus's exam: its searches keep to its campuses, and an exam of another campus answers as
if it did not exist (404, not 403: the key itself tells nothing).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from ris_ai_module.db.ris import optional_columns
from ris_ai_module.errors import InvalidInput


def account_campuses(user: Any) -> tuple[str, ...]:
    return tuple(getattr(user, "campuses", ()) or ())


def search_campuses(config: Any, user: Any, requested: str | None) -> tuple[str, ...]:
    """The campuses a search keeps to (empty: every campus)."""
    allowed = account_campuses(user)
    wanted = (requested or "").strip()
    if not wanted:
        return allowed
    if not config.ris.campus_column:
        raise InvalidInput("campus", "no campuses are configured (ris.campus_column)")
    if allowed and wanted not in allowed:
        raise InvalidInput("campus", f"{wanted!r} is not one of this account's campuses ({', '.join(allowed)})")
    return (wanted,)


def may_see(conn: Connection, config: Any, user: Any, exam_key: str) -> bool:
    """Whether the caller may see this exam (an unlimited account: every exam)."""
    allowed = account_campuses(user)
    if not allowed or not config.ris.campus_column:
        return True
    column = config.ris.campus_column
    campus = str(optional_columns(conn, exam_key, [column]).get(column.lower()) or "").strip()
    return campus in allowed


def visible_exams(config: Any, user: Any) -> Any:
    """For lists of the module's own rows keyed by exam (tasks, recent failures): a SELECT of the exam keys of
    the account's campuses, or None for an unlimited account. A row without an exam, or whose exam is not in
    the view, is not shown to a limited account (its campus is unknown)."""
    from sqlalchemy import select

    from ris_ai_module.db.ris import exam_view
    from ris_ai_module.web.lookup import campus_in

    allowed = account_campuses(user)
    if not allowed or not config.ris.campus_column:
        return None
    return select(exam_view.c.exam_key).where(campus_in(config.ris.campus_column, allowed))


def limited(config: Any, user: Any) -> bool:
    """Whether the caller is an account limited to some campuses (and campuses are configured)."""
    return bool(account_campuses(user) and config.ris.campus_column)


def exam_campus(conn: Connection, config: Any, exam_key: str) -> str:
    """The exam's campus in RAI_V_EXAM ('' when it has none or is not in the view)."""
    column = config.ris.campus_column
    return str(optional_columns(conn, exam_key, [column]).get(column.lower()) or "").strip()


#: What :func:`object_refusal` answers.
HIDDEN = "hidden"  # of another campus: answered as "not found" (its existence is not revealed)
UNKNOWN = "unknown"  # its campus cannot be told: refused (403), an account of every campus decides


def object_refusal(conn: Connection, config: Any, user: Any, obj: Any) -> str | None:
    """Whether a limited account may act on a stored object (None: it may). The object's campuses are those
    of its linked exam, of the exam the link rules found for it (held for review), and of its sending peer
    (``dicom.peers[].campus``); each one known must be the account's, and at least one must be known."""
    if not limited(config, user):
        return None
    from ris_ai_module.dicom.campus import object_campus

    allowed = account_campuses(user)
    known = {exam_campus(conn, config, key) for key in (obj.exam_key, obj.review_exam_key) if key}
    peer = object_campus(config, obj.sender_ae, obj.sender_address, None).campus
    if peer:
        known.add(peer)
    known.discard("")
    if any(c not in allowed for c in known):
        return HIDDEN
    return None if known else UNKNOWN


def upload_campuses(config: Any, user: Any) -> tuple[str, ...]:
    """The campuses a manual SR upload must link into (empty: any exam, or none)."""
    return account_campuses(user) if limited(config, user) else ()


def campus_actors(config: Any, user: Any) -> list[str] | None:
    """The audit rows an auditor limited to campuses reads: those whose actor is an account or token limited
    to campuses all among the auditor's (its own included). Rows of accounts of every campus, of the CLI and
    of unknown names (a login attempt under no account's name) are the group's auditor's. None: every row."""
    if not limited(config, user):
        return None
    allowed = set(account_campuses(user))
    accounts = [*config.http.users, *config.http.tokens]

    def inside(account: Any) -> bool:
        return bool(account.campuses) and set(account.campuses) <= allowed

    outside = {a.name for a in accounts if not inside(a)}  # a name shared with a wider account is not the campus's
    return sorted({a.name for a in accounts if inside(a)} - outside)
