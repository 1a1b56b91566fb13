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
