"""Archive forwarding (issue 14): every received object, or those of chosen SOP classes, sent on to the
hospital's PACS archive by C-STORE as an ARCHIVE_FORWARD task (retries, trace, resend)."""
