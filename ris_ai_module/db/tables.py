"""Every RAI_* table, defined once. Alembic migrations and the runtime statements both use these.

Names are written in lower case here because SQLAlchemy then leaves them unquoted, i.e. case-insensitive
on every database: Oracle's dictionary shows RAI_TASK, PostgreSQL rai_task, and a DBA can type either.

Names are upper case and at most 30 characters (Oracle 12.1). A DBA reads these tables without our
code: each column means one thing for every row (no column punning); kind-specific data of a task
sits in its JSON ``PAYLOAD``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from ris_ai_module.db.dialects import BigKey, SearchTerm, Timestamp

metadata = MetaData(naming_convention={"pk": "%(table_name)s_pk"})

#: The one durable queue. Status transitions (see tasks/model.py):
#:   SCHEDULED -> IN_PROCESS (claimed, lease set) -> DONE | SCHEDULED (retry later) | FAILED
#:   IN_PROCESS with an expired lease -> IN_PROCESS by another owner (take-over)
#:   FAILED | DONE -> SCHEDULED (manual retry / resend);  SCHEDULED -> CANCELED
task = Table(
    "rai_task",
    metadata,
    Column("task_id", BigKey, Identity(), primary_key=True),
    Column("task_uuid", String(36), nullable=True, comment="Idempotency key sent to peers; same on every attempt"),
    Column("kind", String(20), nullable=False, comment="EXAM_PUSH, SR_APPLY, ..."),
    Column("status", String(16), nullable=False, server_default="SCHEDULED"),
    Column("exam_key", String(64), nullable=True, comment="The RAI_V_EXAM.EXAM_KEY this task concerns"),
    Column("payload", Text, nullable=True, comment="Kind-specific JSON"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_run_at", Timestamp, nullable=True, comment="UTC; NULL means now"),
    Column("lease_owner", String(100), nullable=True),
    Column("lease_expires_at", Timestamp, nullable=True),
    Column("last_error", String(1000), nullable=True),
    Column("created_at", Timestamp, nullable=True),
    Column("updated_at", Timestamp, nullable=True),
    Column("finished_at", Timestamp, nullable=True),
    UniqueConstraint("task_uuid", name="rai_uq_task_uuid"),
    Index("rai_ix_task_status_run", "status", "next_run_at"),
    Index("rai_ix_task_exam", "exam_key", "kind"),
    comment="ris-ai-module work queue: one row per asynchronous job",
)

#: One row per attempt of a task, for tracing ("why was this exam not on the AI host?").
task_attempt = Table(
    "rai_task_attempt",
    metadata,
    Column("attempt_id", BigKey, Identity(), primary_key=True),
    Column("task_id", BigKey, nullable=False),
    Column("attempt_no", Integer, nullable=False),
    Column("started_at", Timestamp, nullable=False),
    Column("latency_ms", Integer, nullable=True),
    Column("outcome", String(16), nullable=False, comment="DONE, RETRY or FAILED"),
    Column("http_status", Integer, nullable=True),
    Column("error", String(1000), nullable=True),
    Column("response_body", Text, nullable=True, comment="Kept (bounded) for non-2xx answers"),
    Column("worker", String(100), nullable=True),
    Column("target", String(200), nullable=True, comment="Where the attempt went: URL, AE@host:port, ..."),
    Column("status_text", String(200), nullable=True,
           comment="The far side's answer in its protocol's terms: HTTP 422 ..., 0xA700, AE"),
    Index("rai_ix_attempt_task", "task_id"),
)

#: StudyInstanceUIDs the module generated for exams the RIS had none for (2.25.<uuid>), kept once.
study_uid = Table(
    "rai_study_uid",
    metadata,
    Column("exam_key", String(64), primary_key=True),
    Column("study_uid", String(64), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("study_uid", name="rai_uq_study_uid"),
)

#: Who did what through the CLI or the HTTP API (等保: audit of operator actions).
audit = Table(
    "rai_audit",
    metadata,
    Column("audit_id", BigKey, Identity(), primary_key=True),
    Column("audit_at", Timestamp, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("source", String(40), nullable=False, comment="cli, http:<address>, scp"),
    Column("action", String(40), nullable=False),
    Column("target", String(200), nullable=True),
    Column("detail", String(1000), nullable=True),
    Column("ok", Integer, nullable=False, server_default="1"),
    Index("rai_ix_audit_at", "audit_at"),
)

#: Polling mode's ledger: one row per exam start the poller has turned into a task. The primary key makes
#: "never twice" hold even with two module instances polling one database.
exam_started = Table(
    "rai_exam_started",
    metadata,
    Column("exam_key", String(64), primary_key=True),
    Column("task_id", BigKey, nullable=True),
    Column("seen_at", Timestamp, nullable=False),
)

#: Every DICOM object received (C-STORE) or imported by hand; one row per SOP Instance UID.
dicom_object = Table(
    "rai_object",
    metadata,
    Column("sop_instance_uid", String(64), primary_key=True),
    Column("sop_class_uid", String(64), nullable=False),
    Column("study_uid", String(64), nullable=True),
    Column("series_uid", String(64), nullable=True),
    Column("transfer_syntax", String(64), nullable=True),
    Column("patient_id", String(64), nullable=True),
    Column("accession_no", String(64), nullable=True),
    Column("exam_key", String(64), nullable=True, comment="Linked exam; NULL = unlinked"),
    Column("link_method", String(20), nullable=True, comment="STUDY_UID, ACCESSION, PATIENT_DATE or MANUAL"),
    Column("source", String(16), nullable=False, comment="DICOM or IMPORT"),
    Column("sender_ae", String(16), nullable=True),
    Column("sender_address", String(64), nullable=True),
    Column("file_path", String(500), nullable=False, comment="Relative to storage.root"),
    Column("file_size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("received_at", Timestamp, nullable=False),
    Index("rai_ix_object_study", "study_uid"),
    Index("rai_ix_object_exam", "exam_key"),
    Index("rai_ix_object_received", "received_at"),
)

#: Every measurement read from an SR, mapped (item_key set) or not (item_key NULL), with its context.
measurement = Table(
    "rai_measurement",
    metadata,
    Column("measurement_id", BigKey, Identity(), primary_key=True),
    Column("sop_instance_uid", String(64), nullable=False),
    Column("exam_key", String(64), nullable=True),
    Column("item_key", String(64), nullable=True, comment="Canonical key; NULL = not in the catalog"),
    Column("name_zh", String(100), nullable=True),
    Column("name_en", String(200), nullable=True),
    Column("num_value", Float, nullable=True, comment="In the canonical unit"),
    Column("unit", String(32), nullable=True),
    Column("raw_value", String(64), nullable=True),
    Column("raw_unit", String(32), nullable=True),
    Column("concept_scheme", String(16), nullable=True),
    Column("concept_code", String(32), nullable=True),
    Column("concept_meaning", String(200), nullable=True),
    Column("context", Text, nullable=True, comment="JSON: finding site, laterality, fetus, ..."),
    Column("selected", Integer, nullable=False, server_default="0"),
    Column("item_path", String(100), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    # 0006_sr_findings: coded and text findings (issue 8 item 9)
    Column("value_type", String(8), nullable=True, comment="NUM, CODE or TEXT (NULL = NUM)"),
    Column("value_scheme", String(16), nullable=True, comment="CODE: coding scheme as sent"),
    Column("value_code", String(64), nullable=True, comment="CODE: code value as sent"),
    Column("value_meaning", String(200), nullable=True, comment="CODE: code meaning as sent"),
    Column("value_text", String(1000), nullable=True, comment="TEXT: the text as sent"),
    Column("value_zh", String(100), nullable=True, comment="CODE/TEXT: the value as the report writes it"),
    Index("rai_ix_measure_sop", "sop_instance_uid"),
    Index("rai_ix_measure_exam", "exam_key", "item_key"),
)

#: Where each exam's report stands with respect to the module's writes (pending when signed/locked).
report_state = Table(
    "rai_report_state",
    metadata,
    Column("exam_key", String(64), primary_key=True),
    Column("sop_instance_uid", String(64), nullable=True, comment="The SR last applied or waiting"),
    Column("state", String(16), nullable=False, comment="APPLIED, PENDING or FAILED"),
    Column("detail", String(1000), nullable=True),
    Column("written_keys", Text, nullable=True, comment="JSON {target: {item key: value the module wrote}}"),
    Column("updated_at", Timestamp, nullable=False),
    Index("rai_ix_report_state", "state"),
)

#: Every association the SCP turned away (等保 audit; the daily IT report lists them).
assoc_reject = Table(
    "rai_assoc_reject",
    metadata,
    Column("reject_id", BigKey, Identity(), primary_key=True),
    Column("rejected_at", Timestamp, nullable=False),
    Column("address", String(64), nullable=True),
    Column("calling_ae", String(16), nullable=True),
    Column("called_ae", String(16), nullable=True),
    Column("reason", String(200), nullable=False),
    Index("rai_ix_reject_at", "rejected_at"),
)

#: One row per health check run (C-ECHO, HTTP, queue, disk, certificate); kept health.retention (180 days:
#: the Cybersecurity Law asks for six months of logs). The daily IT report is computed from these rows.
check = Table(
    "rai_check",
    metadata,
    Column("check_id", BigKey, Identity(), primary_key=True),
    Column("checked_at", Timestamp, nullable=False),
    Column("target", String(100), nullable=False, comment="Peer name, HTTP check name, queue:*, disk:*, cert:*"),
    Column("kind", String(16), nullable=False, comment="ECHO, HTTP, QUEUE, DISK or CERT"),
    Column("ok", Integer, nullable=False),
    Column("latency_ms", Integer, nullable=True),
    Column("error", String(1000), nullable=True),
    Column("detail", String(1000), nullable=True),
    Column("instance", String(100), nullable=True, comment="Module instance that ran the check"),
    Index("rai_ix_check_at", "checked_at"),
    Index("rai_ix_check_target", "target", "checked_at"),
)

#: Named leases between module instances sharing one database (the scheduler leader). A lease is held
#: while expires_at is in the future; another instance takes it over with a guarded UPDATE once it expired.
lease = Table(
    "rai_lease",
    metadata,
    Column("lease_name", String(40), primary_key=True),
    Column("owner", String(100), nullable=False),
    Column("acquired_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
)

#: Alert state per health target: UP/DOWN, consecutive failures, and the state last announced
#: (a change is announced once; within alerts.throttle further changes wait and are collapsed).
alert_state = Table(
    "rai_alert_state",
    metadata,
    Column("target", String(100), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("state", String(8), nullable=False, comment="UP or DOWN"),
    Column("fail_count", Integer, nullable=False, server_default="0"),
    Column("changed_at", Timestamp, nullable=False),
    Column("last_error", String(1000), nullable=True),
    Column("sent_state", String(8), nullable=False, comment="State last announced to IT"),
    Column("sent_at", Timestamp, nullable=True),
    Column("changes", Integer, nullable=False, server_default="0", comment="State changes since sent_at"),
)

#: Daily IT reports, one row per report date: claimed (INSERT, unique key) before sending, so two
#: instances or a restart never send one report twice.
report_sent = Table(
    "rai_report_sent",
    metadata,
    Column("report_date", String(10), primary_key=True, comment="YYYY-MM-DD of the day reported (local)"),
    Column("status", String(16), nullable=False, comment="CLAIMED, SENT or FAILED"),
    Column("owner", String(100), nullable=False),
    Column("claimed_at", Timestamp, nullable=False),
    Column("sent_at", Timestamp, nullable=True),
    Column("detail", String(1000), nullable=True),
)

#: Sessions of the status page (cookie ``rai_session``): kept here so that several instances behind one
#: address agree; only the SHA-256 of the cookie is stored. Ends after ``http.session_idle`` unused.
web_session = Table(
    "rai_session",
    metadata,
    Column("session_hash", String(64), primary_key=True, comment="SHA-256 of the cookie value"),
    Column("user_name", String(100), nullable=False),
    Column("role", String(16), nullable=False),
    Column("csrf_token", String(64), nullable=False, comment="Sent back by the page on every state change"),
    Column("source", String(45), nullable=True, comment="Client address at login"),
    Column("created_at", Timestamp, nullable=False),
    Column("last_seen_at", Timestamp, nullable=False),
    Index("rai_ix_session_seen", "last_seen_at"),
)

#: Failed logins per account and per client address (``account:<name>``, ``address:<ip>``): the lockout
#: survives a restart and holds for every instance on the database (等保 身份鉴别: login-failure handling).
login_failure = Table(
    "rai_login_failure",
    metadata,
    Column("fail_key", String(150), primary_key=True),
    Column("fail_count", Integer, nullable=False, server_default="0"),
    Column("first_failed_at", Timestamp, nullable=False),
    Column("last_failed_at", Timestamp, nullable=False),
    Column("locked_until", Timestamp, nullable=True),
)

#: The name look-up's ledger: which name and date of each exam the search terms were built from (a rescan
#: compares it with RAI_V_EXAM and rebuilds what changed).
name_index = Table(
    "rai_name_index",
    metadata,
    Column("exam_key", String(64), primary_key=True),
    Column("patient_name", String(200), nullable=True),
    Column("exam_date", Timestamp, nullable=True),
    Column("indexed_at", Timestamp, nullable=False),
)

#: Search terms of each exam's patient name: Chinese substrings (1-4 characters) and pinyin keys (full,
#: initials and mixed, from each character on, every reading of polyphonic characters). A name query is an
#: index range: exact term for Chinese, prefix for pinyin; newest first from the same index.
name_key = Table(
    "rai_name_key",
    metadata,
    Column("term", SearchTerm, primary_key=True),
    Column("exam_date", Timestamp, primary_key=True),
    Column("exam_key", String(64), primary_key=True),
    Index("rai_ix_name_key_exam", "exam_key"),
)

#: When the name index last finished a full rescan of RAI_V_EXAM (the look-up uses the index once one has).
name_scan = Table(
    "rai_name_scan",
    metadata,
    Column("scan_name", String(40), primary_key=True),
    Column("started_at", Timestamp, nullable=False),
    Column("finished_at", Timestamp, nullable=True),
    Column("exams", Integer, nullable=True),
    Column("changed", Integer, nullable=True),
)

#: Exams whose name or date changed in the RIS (inserted, updated, deleted), queued by the DBA's triggers of
#: sql/<dialect>/31_trigger_name_index.sql and applied to RAI_NAME_KEY by the module within seconds.
name_queue = Table(
    "rai_name_queue",
    metadata,
    Column("queue_id", BigKey, Identity(), primary_key=True),
    Column("exam_key", String(64), nullable=False),
    Column("queued_at", Timestamp, nullable=False),
)

#: Earlier password hashes per HTTP account, so that a new password cannot be one of the last N
#: (等保 password policy); written by hash-password/account-add, never read by the web server.
password_history = Table(
    "rai_password_history",
    metadata,
    Column("history_id", BigKey, Identity(), primary_key=True),
    Column("user_name", String(100), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("set_at", Timestamp, nullable=False),
    Index("rai_ix_pwhist_user", "user_name", "set_at"),
)

# --- issue 9 "nothing wrong reaches a report": review, provenance, supersede, acceptance ------------------
#: Columns added to RAI_OBJECT by migration 0009_trust (defined here so that one Table holds them all).
for _col in (
    Column("patient_name", String(200), nullable=True, comment="PatientName as sent (decoded)"),
    Column("review_state", String(16), nullable=True,
           comment="NEEDS_REVIEW, CONFIRMED or MOVED; NULL = passed the patient check"),
    Column("review_reason", String(500), nullable=True, comment="Why the object waits (or was confirmed)"),
    Column("review_exam_key", String(64), nullable=True, comment="The exam the link rules found, while in review"),
    Column("review_method", String(20), nullable=True, comment="The link rule that found review_exam_key"),
):
    dicom_object.append_column(_col)
Index("rai_ix_object_review", dicom_object.c.review_state)
for _col in (
    Column("report_key", String(64), nullable=True, comment="The key written in the report (item_key + suffix)"),
    Column("superseded_by", String(64), nullable=True,
           comment="SOP Instance UID of the SR whose value replaced this one; NULL = current"),
):
    measurement.append_column(_col)
report_state.append_column(
    Column("signed_checked_at", Timestamp, nullable=True, comment="When the signed report was compared (acceptance)")
)

#: Provenance of every SR applied: the device and algorithm that produced it, and what orders it among the
#: exam's SRs (content time, creation time, predecessors).
sr_source = Table(
    "rai_sr_source",
    metadata,
    Column("sop_instance_uid", String(64), primary_key=True),
    Column("exam_key", String(64), nullable=True),
    Column("manufacturer", String(64), nullable=True),
    Column("model", String(64), nullable=True),
    Column("software_versions", String(200), nullable=True),
    Column("device_serial", String(64), nullable=True),
    Column("algorithm_name", String(200), nullable=True, comment="TID 4019 Algorithm Name"),
    Column("algorithm_version", String(64), nullable=True, comment="TID 4019 Algorithm Version"),
    Column("observer", String(1000), nullable=True, comment="JSON: observer context (TID 1002/1004)"),
    Column("content_at", Timestamp, nullable=True, comment="ContentDate/Time as sent (device clock)"),
    Column("instance_at", Timestamp, nullable=True, comment="InstanceCreationDate/Time as sent"),
    Column("predecessors", String(1000), nullable=True, comment="JSON list: Predecessor Documents Sequence"),
    Column("device_key", String(200), nullable=True, comment="Manufacturer|model|serial: one source device"),
    Column("completion_flag", String(16), nullable=True),
    Column("verification_flag", String(16), nullable=True),
    Column("read_at", Timestamp, nullable=False),
    Index("rai_ix_sr_source_exam", "exam_key"),
)

#: What the doctor did with each value the module wrote, compared once the report was signed.
acceptance = Table(
    "rai_acceptance",
    metadata,
    Column("acceptance_id", BigKey, Identity(), primary_key=True),
    Column("exam_key", String(64), nullable=False),
    Column("target", String(16), nullable=False, comment="rows, columns, text or procedure"),
    Column("item_key", String(64), nullable=False, comment="Measurement key; * for a text block or procedure"),
    Column("outcome", String(16), nullable=False, comment="ACCEPTED, EDITED, REMOVED or UNREADABLE"),
    Column("written_value", String(1000), nullable=True),
    Column("signed_value", String(1000), nullable=True),
    Column("sop_instance_uid", String(64), nullable=True, comment="The SR the value came from"),
    Column("model", String(200), nullable=True, comment="AI model and version of that SR"),
    Column("compared_at", Timestamp, nullable=False),
    UniqueConstraint("exam_key", "target", "item_key", name="rai_uq_acceptance"),
    Index("rai_ix_acceptance_at", "compared_at"),
)

# --- issue 14 Storage Commitment (PS3.4 Annex J): migration 0010_stgcmt ---------------------------------
#: Per object, the archive's Storage Commitment for it (``[archive.commitment]``): asked, committed, or refused
#: with the archive's Failure Reason. Retention reads ``committed_at`` ("committed, where asked").
for _col in (
    Column("commit_requested_at", Timestamp, nullable=True, comment="Last N-ACTION asking the archive to commit it"),
    Column("committed_at", Timestamp, nullable=True, comment="The archive committed to keep it (N-EVENT-REPORT)"),
    Column("commit_failure", String(200), nullable=True,
           comment="Why not committed: Failure Reason 0x0112 ..., or no answer; NULL once committed"),
    Column("commit_uid", String(64), nullable=True, comment="Transaction UID of the last request (RAI_STGCMT)"),
):
    dicom_object.append_column(_col)

#: Every Storage Commitment transaction, both ways: IN, a peer (the AI host) asked us (we answer with an
#: N-EVENT-REPORT, task STGCMT_REPORT); OUT, we asked the archive (task STGCMT_REQUEST). Kept so that a restart
#: between the N-ACTION and the report loses nothing, and as the audit trail of each answer.
stgcmt = Table(
    "rai_stgcmt",
    metadata,
    Column("transaction_uid", String(64), primary_key=True),
    Column("direction", String(3), nullable=False, comment="IN (asked of us) or OUT (we asked the archive)"),
    Column("state", String(16), nullable=False,
           comment="IN: PENDING, SENDING, REPORTED; OUT: REQUESTED, COMMITTED, FAILED, CLOSED, EXPIRED"),
    Column("peer_ae", String(16), nullable=True, comment="The requester (IN) or the archive (OUT)"),
    Column("peer_address", String(64), nullable=True),
    Column("task_id", BigKey, nullable=True, comment="The STGCMT_REPORT or STGCMT_REQUEST task"),
    Column("instances", Text, nullable=False, comment="JSON [[SOP Class UID, SOP Instance UID], ...] as asked"),
    Column("failures", Text, nullable=True, comment="JSON [[class, instance, Failure Reason], ...]"),
    Column("event_type", Integer, nullable=True, comment="1 all committed, 2 failures exist"),
    Column("channel", String(8), nullable=True, comment="How the report went: SAME or NEW association"),
    Column("requested_at", Timestamp, nullable=False),
    Column("answered_at", Timestamp, nullable=True, comment="IN: report sent; OUT: report received"),
    Column("updated_at", Timestamp, nullable=False),
    Column("detail", String(1000), nullable=True),
    Index("rai_ix_stgcmt_state", "direction", "state"),
    Index("rai_ix_stgcmt_task", "task_id"),
)

# --- issue 13 C-STORE metrics: counts kept by the SCP, flushed in batches, read by GET /metrics -------------
#: C-STORE requests the SCP answered, by negotiated SOP class, DIMSE status and handling-time bucket (the
#: time from the complete data set to the answer). Each SCP process adds its counts about once a second
#: (UPDATE ... SET events = events + n), so the figures hold across restarts and processes.
cstore_stat = Table(
    "rai_cstore_stat",
    metadata,
    Column("sop_class_uid", String(64), primary_key=True, comment="The presentation context's abstract syntax"),
    Column("status", Integer, primary_key=True, comment="The DIMSE status sent (0 = Success, 42752 = 0xA700 ...)"),
    Column("le_ms", Integer, primary_key=True,
           comment="Handling-time bucket: at most this many ms (and above the previous bound); 2147483647 = above all"),
    Column("events", BigInteger, nullable=False, comment="C-STORE requests answered"),
    Column("sum_ms", Float, nullable=False, comment="Their handling time in all, ms"),
    Column("updated_at", Timestamp, nullable=False),
)

#: SOP classes an accepted association proposed and got no presentation context for (not taken, or none of
#: its transfer syntaxes), once per association: no C-STORE of that class can follow. SOP classes outside the
#: DICOM dictionary count as "other".
context_reject_stat = Table(
    "rai_context_reject_stat",
    metadata,
    Column("sop_class_uid", String(64), primary_key=True, comment="Proposed abstract syntax, or 'other'"),
    Column("result", Integer, primary_key=True,
           comment="PS3.8 result: 3 abstract syntax not supported, 4 transfer syntaxes not supported, 2 no reason"),
    Column("events", BigInteger, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

#: The A-ASSOCIATE-RJ reason of each rejection, as a short code for counting (RAI_ASSOC_REJECT.REASON is text).
assoc_reject.append_column(Column("reason_code", String(32), nullable=True,
                                  comment="CALLING_AE_NOT_RECOGNISED, CALLED_AE_NOT_RECOGNISED or LOCAL_LIMIT_EXCEEDED"))

# --- issue 14 storage retention (migration 0013_retention) -------------------------------------------------
dicom_object.append_column(
    Column("purged_at", Timestamp, nullable=True, comment="When storage retention deleted the file (UTC); NULL = file kept")
)

# --- issue 13 accept-time refusals (migration 0014_refusal_stat) -------------------------------------------
#: Connections the SCP closed at TCP accept, before any byte was read (no A-ASSOCIATE-RJ can be sent then), by
#: reason: ADDRESS_NOT_ALLOWED (no peer's whitelist admits the address), HANDSHAKE_LIMIT (dicom.max_handshakes /
#: max_handshakes_per_source). Counted in memory and added about once a second (dicom/stats.py), as a port scan
#: must cost no database round trip per connection; GET /metrics adds them to rai_association_rejections.
refusal_stat = Table(
    "rai_refusal_stat",
    metadata,
    Column("reason_code", String(32), primary_key=True, comment="ADDRESS_NOT_ALLOWED or HANDSHAKE_LIMIT"),
    Column("events", BigInteger, nullable=False, comment="Connections refused"),
    Column("updated_at", Timestamp, nullable=False),
)
