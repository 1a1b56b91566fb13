"""Storage retention and an exam that has image rows but no SR (report state IMAGES, report/images_apply.py).

No SR was applied, so no signing comparison is ever made for such an exam (report/current.is_signed needs
APPLIED): its images are done once the RIS report is signed and keep_for has passed, like those of an exam the
module never wrote. Before IMAGES was known here, they were kept for ever ("report changed after the signing").
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ris_ai_module.retention.rule import ObjectState, decide


def _image(report_state: str | None, ris_signed: bool) -> ObjectState:
    return ObjectState(sop_instance_uid="1.2.3", received_at=datetime(2026, 11, 1), is_sr=False, exam_key="E1",
                       review_state=None, purged_at=None, forward_required=False, forward_tasks=(),
                       commitment_required=False, committed_at=None, apply_tasks=(), report_state=report_state,
                       report_sop=None, signed_at=None, ris_signed=ris_signed)


def test_an_image_of_a_signed_images_only_exam_is_purged_after_keep_for() -> None:
    now, keep = datetime(2026, 12, 2), timedelta(days=7)
    assert decide(_image("IMAGES", True), now, keep).purge
    assert decide(_image(None, True), now, keep).purge  # the same as an exam the module wrote nothing for


def test_it_is_kept_while_the_report_is_not_signed_or_its_rows_wait() -> None:
    now, keep = datetime(2026, 12, 2), timedelta(days=7)
    assert not decide(_image("IMAGES", False), now, keep).purge
    # PENDING: image rows waiting for a signed report to be re-opened: the images may still be written
    assert not decide(_image("PENDING", True), now, keep).purge
