"""The import: the admin's choice (all eligible users, or those selected), then chunks.

Each chunk, in one transaction: lock the job, take the next pending rows, lock their users,
re-check each one with the admission rule (domains.admission), make them managed users
(console.services.make_managed, their accounts following), write every row's result and the
job's checkpoint. A crash rolls the chunk back; the next run resumes from the pending rows.
Nobody is imported twice (row.result and the one-membership-per-user constraint), no row is
lost, imported + not imported = rows. A job whose runs keep stopping ends FAILED after
IMPORT_MAX_ATTEMPTS, and an operator can replay it from its checkpoint.
"""

import logging
import time
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, OuterRef, Subquery
from django.utils.translation import gettext as _

from console import audit, bulk, clock, events, services
from console.admission import person_refusal
from console.errors import ConsoleError
from console.models import AuditEvent, Membership, User
from domains.admission import domain_admission
from imports.enqueue import BUILD_REPORT, RUN_IMPORT, on_commit
from imports.models import ImportJob, ImportRow, Reason
from imports.services.access import require_feature

logger = logging.getLogger(__name__)


def save_selection(*, job: ImportJob, page_row_ids: list[int], selected_row_ids: list[int]) -> int:
    """Set `selected` for the eligible rows shown on one page; returns the job's selected count."""
    if job.status != ImportJob.Status.REPORT_READY:
        raise ConsoleError(_("The selection can only change before the import starts."))
    selected = set(selected_row_ids) & set(page_row_ids)
    with transaction.atomic():
        rows = ImportRow.objects.filter(job=job, eligible=True, pk__in=page_row_ids)
        rows.filter(pk__in=selected).update(selected=True)
        rows.exclude(pk__in=selected).update(selected=False)
        count = ImportRow.objects.filter(job=job, selected=True).count()
        ImportJob.objects.filter(pk=job.pk).write_state(rows_selected=count)
    return count


def _require_domain_verified(job: ImportJob) -> None:
    decision = domain_admission(job.organization, job.domain_name)
    if not decision.allowed:
        raise ConsoleError(decision.reason, code=decision.code)


def start_import(
    *,
    job: ImportJob,
    actor,
    selected_row_ids: list[int] | None = None,
    page_row_ids: list[int] | None = None,
    selected_only: bool = False,
    enqueue: bool = True,
) -> ImportJob:
    """Queue the import of all eligible rows, or only the selected ones.

    `selected_row_ids` alone replaces the saved selection; with `page_row_ids` (the rows the
    admin saw) it updates the saved selection for those rows only, as `save_selection` does,
    so ticks not yet saved are never lost. Either implies `selected_only`, which uses the
    saved selection. Refused when the domain is not verified now (e.g. re-validation required).
    """
    organization = job.organization
    require_feature(organization)
    _require_domain_verified(job)
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status != ImportJob.Status.REPORT_READY:
            raise ConsoleError(_("This report has already been imported or is not ready yet."), code="bad_state")
        if selected_row_ids is not None:
            rows = ImportRow.objects.filter(job=locked, eligible=True)
            if page_row_ids is not None:
                rows = rows.filter(pk__in=page_row_ids)
                selected_row_ids = set(selected_row_ids) & set(page_row_ids)
            rows.filter(pk__in=selected_row_ids).update(selected=True)
            rows.exclude(pk__in=selected_row_ids).update(selected=False)
            selected_only = True
        selected_count = ImportRow.objects.filter(job=locked, selected=True).count() if selected_only else 0
        if selected_only and not selected_count:
            raise ConsoleError(_("Select at least one eligible user, or import all eligible users."), code="none_selected")
        now = clock.now()
        ImportJob.objects.filter(pk=locked.pk).write_state(
            to=ImportJob.Status.IMPORT_QUEUED,
            selected_only=selected_only,
            rows_selected=selected_count,
            import_requested_by=actor,
            import_requested_at=now,
            heartbeat_at=now,
            rows_processed=0,
            rows_attempted=0,
            last_row_id=0,
        )
        audit.record(
            "imports.import_started",
            organization=organization,
            actor=actor,
            actor_kind=None if actor is not None else AuditEvent.ActorKind.OPERATOR,
            target=locked,
            detail={"selected_only": selected_only, "selected": selected_count, "eligible": locked.rows_eligible},
        )
        if enqueue:
            on_commit(RUN_IMPORT, locked.pk)
    locked.refresh_from_db()
    return locked


def _lock_running_job(job_id: int) -> ImportJob | None:
    return (
        ImportJob.objects.select_for_update(of=("self",))
        .select_related("organization")
        .filter(pk=job_id, status__in=ImportJob.IMPORT_STATUSES)
        .first()
    )


def _complete(job: ImportJob, now) -> None:
    ImportJob.objects.filter(pk=job.pk).write_state(
        to=ImportJob.Status.COMPLETED, started_at=job.started_at or now, finished_at=now, heartbeat_at=now
    )
    audit.record(
        "imports.import_completed",
        organization=job.organization,
        actor=None,
        actor_kind=AuditEvent.ActorKind.SYSTEM,
        target=job,
        detail={"imported": job.rows_imported, "not_imported": job.rows_not_imported, "rows": job.rows_total},
    )
    events.emit(
        events.IMPORT_COMPLETED,
        organization_id=job.organization_id,
        data={
            "import_job": {"id": job.pk, "domain": job.domain_name},
            "rows": job.rows_total,
            "imported": job.rows_imported,
            "not_imported": job.rows_not_imported,
        },
    )


def _sort_rows(job: ImportJob, rows: list[tuple]) -> tuple[dict[str, list[int]], dict[int, int]]:
    """Rows decided without looking at the user again, and the candidates (user id → row id)."""
    outcome: dict[str, list[int]] = defaultdict(list)  # reason ("" = imported) -> row ids
    candidates: dict[int, int] = {}
    for row_id, user_id, eligible, reason, selected in rows:
        if not eligible:
            outcome[reason or Reason.NOT_SELECTED].append(row_id)
        elif job.selected_only and not selected:
            outcome[Reason.NOT_SELECTED].append(row_id)
        elif user_id is None:
            outcome[Reason.USER_DELETED].append(row_id)
        else:
            candidates[user_id] = row_id
    return outcome, candidates


def _recheck(
    job: ImportJob, candidates: dict[int, int], outcome: dict[str, list[int]]
) -> tuple[list[int], dict[int, str]]:
    """Lock the candidate users and ask the admission rule again; returns the users to import
    and their e-mail addresses (read under the lock, for the events)."""
    domain_ok = domain_admission(job.organization, job.domain_name).allowed
    memberships = Membership.objects.filter(user_id=OuterRef("pk")).values("organization_id")
    current = {
        pk: rest
        # NO KEY UPDATE: holds off a change to the user until the chunk commits, and unlike FOR
        # UPDATE lets other writers keep inserting rows that refer to them (e-mails, audit).
        for pk, *rest in User.objects.select_for_update(of=("self",), no_key=True)
        .filter(pk__any_of=candidates.keys())  # not a list: Django would walk every id for expressions
        # One probe of the unique user index per user: as a join the planner, trusting counts
        # taken before the import grew the table, scans every membership once per chunk.
        .annotate(membership_organization_id=Subquery(memberships))
        .order_by()  # not the users' default (e-mail) order: no sort, and locks taken in id order
        .values_list("pk", "email_domain", "is_active", "email_verified", "membership_organization_id", "email")
    }
    to_import = []
    emails = {}
    for user_id, row_id in candidates.items():
        user = current.get(user_id)
        if user is None:
            reason = Reason.USER_DELETED
        else:
            email_domain, is_active, email_verified, membership_organization_id, emails[user_id] = user
            if email_domain != job.domain_name:
                reason = Reason.EMAIL_CHANGED
            elif not domain_ok:
                reason = Reason.DOMAIN_NOT_VERIFIED
            else:
                reason = person_refusal(
                    organization_id=job.organization_id,
                    is_active=is_active,
                    email_verified=email_verified,
                    membership_organization_id=membership_organization_id,
                )
        if reason:
            outcome[reason].append(row_id)
        else:
            to_import.append(user_id)
    return to_import, emails


def _next_rows(job: ImportJob) -> list[tuple]:
    """The next chunk after the checkpoint: every row up to last_row_id got its result in the
    transaction that moved the checkpoint. A report's rows were inserted by one statement, so
    their ids are (nearly) consecutive: a chunk is an id range, which the database reads
    directly whatever it estimates about a job it has just been given (ORDER BY … LIMIT from
    the checkpoint made it sort every remaining row, once per chunk)."""
    rows: list[tuple] = []
    start = job.last_row_id
    while not rows:
        rows = list(
            ImportRow.objects.filter(
                job_id=job.pk, pk__gt=start, pk__lte=start + settings.IMPORT_CHUNK_SIZE, result=ImportRow.Result.PENDING
            )
            .order_by("pk")
            .values_list("pk", "user_id", "eligible", "reason", "selected")
        )
        if not rows:  # a gap in the ids (another job inserted meanwhile), or the end
            following = ImportRow.objects.filter(job_id=job.pk, pk__gt=start).order_by("pk").values_list("pk", flat=True)
            next_id = following.first()
            if next_id is None:
                return []
            start = next_id - 1
    return rows


def _write_row_results(outcome: dict[str, list[int]], now) -> None:
    """Every row's result in one statement, one group per reason ("" = imported)."""
    bulk.update_in_groups(
        ImportRow,
        (
            (
                row_ids,
                {
                    "result": ImportRow.Result.NOT_IMPORTED if reason else ImportRow.Result.IMPORTED,
                    "result_reason": reason,
                    "processed_at": now,
                },
            )
            for reason, row_ids in outcome.items()
        ),
    )


def run_import_chunk(job_id: int) -> bool:
    """Process the next chunk of pending rows. Returns True while more work remains.

    One transaction: job lock → rows → user locks → re-check → memberships and accounts →
    row results → checkpoint. A crash anywhere rolls all of it back.
    """
    with transaction.atomic():
        job = _lock_running_job(job_id)
        if job is None:
            return False
        now = clock.now()
        rows = _next_rows(job)
        if not rows:
            _complete(job, now)
            return False
        outcome, candidates = _sort_rows(job, rows)
        if candidates:
            to_import, emails = _recheck(job, candidates, outcome)
            joined = services.make_managed(
                organization=job.organization,
                user_ids=to_import,
                joined_via=Membership.JoinedVia.IMPORTED,
                via_domain=job.domain_name,
                at=now,
                emails=emails,
            ).user_ids
            for user_id in to_import:
                outcome["" if user_id in joined else Reason.MANAGED_ELSEWHERE].append(candidates[user_id])
        _write_row_results(outcome, now)
        delay = settings.IMPORT_CHUNK_DELAY_SECONDS
        if delay:  # tests only: holds the chunk's transaction open so a worker kill lands mid-chunk
            time.sleep(delay)
        imported = len(outcome.get("", ()))
        # The rows this import is about (eligible, and selected when only the selection is
        # imported): its progress bar counts these, not the rows it merely marks.
        attempted = sum(
            1 for _pk, _user, eligible, _reason, selected in rows if eligible and (selected or not job.selected_only)
        )
        ImportJob.objects.filter(pk=job.pk).write_state(
            to=ImportJob.Status.IMPORTING,
            started_at=job.started_at or now,
            rows_imported=F("rows_imported") + imported,
            rows_not_imported=F("rows_not_imported") + len(rows) - imported,
            rows_processed=F("rows_processed") + len(rows),
            rows_attempted=F("rows_attempted") + attempted,
            last_row_id=rows[-1][0],  # (pk, user_id, eligible, reason, selected)
            heartbeat_at=clock.now(),
        )
    return True


def run_import(job_id: int, *, time_budget: float | None = None, progress=None) -> bool:
    """Run chunks until done (True) or the time budget is spent (False: re-enqueue)."""
    deadline = time.monotonic() + time_budget if time_budget else None
    while run_import_chunk(job_id):
        if progress is not None:
            progress(ImportJob.objects.get(pk=job_id))
        if deadline is not None and time.monotonic() > deadline:
            return False
    return True


def replay_import(*, job_id: int, actor=None) -> ImportJob:
    """Put a failed import back to work from its checkpoint (operators: `imports_run --resume`).

    Only a job whose import someone started (import_requested_at) can be replayed, so a
    replay never imports a report nobody decided to import. Rows already imported keep their
    result; the checkpoint and the one-membership-per-user constraint mean nobody is imported twice.
    """
    job = ImportJob.objects.select_related("organization").filter(pk=job_id).first()
    if job is None:
        raise ConsoleError(_("There is no import job %(id)s.") % {"id": job_id}, code="missing")
    if job.status in ImportJob.IMPORT_STATUSES:
        return job
    if job.status != ImportJob.Status.FAILED or job.import_requested_at is None:
        raise ConsoleError(_("Only a failed or interrupted import can be resumed."), code="bad_state")
    with transaction.atomic():
        ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.FAILED).write_state(
            to=ImportJob.Status.IMPORTING, heartbeat_at=clock.now(), finished_at=None, error="", attempts=0
        )
        audit.record(
            "imports.import_resumed",
            organization=job.organization,
            actor=actor,
            actor_kind=None if actor is not None else AuditEvent.ActorKind.OPERATOR,
            target=job,
            detail={"processed_before": job.rows_processed},
        )
    job.refresh_from_db()
    return job


def fail_job(job_id: int, error: str) -> None:
    """End a job FAILED with the reason (a report starts over; an import can be replayed)."""
    ImportJob.objects.filter(pk=job_id).write_state(
        to=ImportJob.Status.FAILED, error=error[:2000], finished_at=clock.now()
    )


# --- The sweep -----------------------------------------------------------------------------


def resume_stalled(*, enqueue: bool = True) -> list[int]:
    """Re-enqueue running jobs whose heartbeat is older than IMPORT_STALL_SECONDS; a job that
    has stalled IMPORT_MAX_ATTEMPTS times ends FAILED instead of being re-queued forever.

    The heartbeat is bumped with a conditional update first, so two overlapping sweeps never
    resume the same job twice (and a resumed job gets a full stall period to show progress).
    """
    now = clock.now()
    stalled = ImportJob.objects.stalled(now - timedelta(seconds=settings.IMPORT_STALL_SECONDS))
    resumed = []
    for job_id, status, heartbeat, attempts in stalled.values_list("pk", "status", "heartbeat_at", "attempts")[:500]:
        if attempts + 1 >= settings.IMPORT_MAX_ATTEMPTS:
            fail_job(job_id, f"Stopped without finishing {attempts + 1} times; gave up.")
            logger.warning("imports: job %s failed after %s attempts", job_id, attempts + 1)
            continue
        # A crashed report rolled back with its transaction: it runs again from scratch.
        to = ImportJob.Status.REPORT_QUEUED if status == ImportJob.Status.REPORT_RUNNING else None
        claimed = ImportJob.objects.filter(pk=job_id, status=status, heartbeat_at=heartbeat).write_state(
            to=to, heartbeat_at=now, attempts=F("attempts") + 1
        )
        if not claimed:
            continue
        resumed.append(job_id)
        if enqueue:
            on_commit(BUILD_REPORT if status in ImportJob.REPORT_STATUSES else RUN_IMPORT, job_id)
        logger.info("imports: resumed stalled job %s (%s)", job_id, status)
    return resumed
