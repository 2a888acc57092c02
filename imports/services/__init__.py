"""Bulk User Import: every state change, used alike by views, tasks and operator commands.

- access: the gated feature (request, grant, revoke);
- report: who at the domain could be imported, and why not (built set-based in SQL);
- notices: the optional notice e-mail to the eligible users;
- importing: the selection, the chunked import with its checkpoint, replay and the stall sweep.
"""

from imports.services.access import FEATURE, grant_feature, request_access, require_feature, revoke_feature
from imports.services.importing import (
    fail_job,
    replay_import,
    resume_stalled,
    run_import,
    run_import_chunk,
    save_selection,
    start_import,
)
from imports.services.notices import notify_eligible, render_notice, send_notices
from imports.services.report import build_report, check_for_new_users, create_report_job, record_csv_download

__all__ = [
    "FEATURE",
    "build_report",
    "check_for_new_users",
    "create_report_job",
    "fail_job",
    "grant_feature",
    "notify_eligible",
    "record_csv_download",
    "render_notice",
    "replay_import",
    "request_access",
    "require_feature",
    "resume_stalled",
    "revoke_feature",
    "run_import",
    "run_import_chunk",
    "save_selection",
    "send_notices",
    "start_import",
]
