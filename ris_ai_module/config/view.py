"""The canonical columns of the view RAI_V_EXAM (the DBA's; see sql/<dialect>/20_view_exam.sql).

Configuration that names a view column (routing rules, optional columns) is checked against this list
at start-up, before any database is reached. ``db/ris.py`` declares the view's table with these columns
and their types; a test keeps the two lists equal.
"""

from __future__ import annotations

CANONICAL_COLUMNS = (
    "EXAM_KEY", "PATIENT_ID", "PATIENT_NAME", "SEX", "BIRTH_DATE", "ACCESSION_NO", "EXAM_DATE", "EXAM_DESC",
    "EXAM_ITEMS", "STUDY_UID", "MODALITY", "EXAM_STATUS",
)
