"""Several campuses (院区) on one database: which tasks an instance limited to some campuses may claim.

Each campus may run its own module instance next to the shared database (``module.campuses``). The
campus of a task is its exam's, read through the DBA's optional view column (``ris.campus_column``).
A task with no exam yet (an SR not linked) or whose exam has left the view is any instance's, so no task
waits for a campus that will never claim it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, exists, not_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from ris_ai_module.db.ris import exam_view, optional_column
from ris_ai_module.db.tables import task


def campus_claim_filter(campus_column: str, campuses: Sequence[str]) -> ColumnElement[bool] | None:
    """The claim condition for an instance limited to ``campuses`` (None: no limit)."""
    if not campuses or not campus_column:
        return None
    campus = optional_column(campus_column).element
    same_exam = exam_view.c.exam_key == task.c.exam_key
    ours = exists(select(exam_view.c.exam_key).where(and_(same_exam, campus.in_(list(campuses)))))
    gone = not_(exists(select(exam_view.c.exam_key).where(same_exam)))
    return or_(task.c.exam_key.is_(None), ours, gone)
