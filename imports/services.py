"""Bulk User Import: every state change, used alike by views, tasks and operator commands.

Guarantees (see ImportJob):
- A report is built in one transaction behind a lock on the job: a re-run after a crash
  starts over, two concurrent runs produce one set of rows.
- An import runs in chunks. Each chunk, in one transaction: lock the job, take the next
  pending rows, lock their users, re-check each one, insert the memberships, move the
  accounts, write every row's result and the job's checkpoint. A crash rolls the chunk back;
  the next run resumes from the pending rows. Nobody is imported twice (row.result state and
  the one-membership-per-user constraint), no row is lost, imported + not imported = rows.
"""

import logging
import time
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from console import audit, clock
from console.admission import email_admission
from console.errors import ConsoleError
from console.models import Account, AuditEvent, Membership, Organization, User
from domains.models import Domain
from imports.models import AccessRequest, ImportJob, ImportRow, Reason

logger = logging.getLogger(__name__)

FEATURE = Organization.Feature.BULK_USER_IMPORT


# --- Access -------------------------------------------------------------------------------


def _require_feature(organization: Organization) -> None:
    if not organization.has_feature(FEATURE):
        raise ConsoleError(
            _("Bulk User Import is not enabled for this organization. Request access first."),
            code="feature_missing",
        )


def request_access(*, organization: Organization, actor, domain: Domain | None = None, note: str = "") -> AccessRequest:
    """Record an administrator's request for the feature (one open request at a time)."""
    if organization.has_feature(FEATURE):
        raise ConsoleError(_("Bulk User Import is already enabled for this organization."), code="already_enabled")
    with transaction.atomic():
        existing = AccessRequest.objects.filter(
            organization=organization, feature=FEATURE, status=AccessRequest.Status.OPEN
        ).first()
        if existing is not None:
            return existing
        access_request = AccessRequest.objects.create(
            organization=organization,
            feature=FEATURE,
            requested_by=actor,
            requested_at=clock.now(),
            domain_name=domain.name if domain is not None else "",
            note=note,
        )
        audit.record(
            "imports.access_requested",
            organization=organization,
            actor=actor,
            target=access_request,
            detail={"feature": FEATURE, "domain": access_request.domain_name},
        )
    return access_request


def grant_feature(*, organization: Organization, actor=None, actor_kind: str | None = None) -> bool:
    """Enable Bulk User Import; closes open requests. Returns False if it was already enabled."""
    return _set_feature(organization=organization, enabled=True, actor=actor, actor_kind=actor_kind)


def revoke_feature(*, organization: Organization, actor=None, actor_kind: str | None = None) -> bool:
    """Disable Bulk User Import. Running jobs finish; no new report or import can start."""
    return _set_feature(organization=organization, enabled=False, actor=actor, actor_kind=actor_kind)


def _set_feature(*, organization: Organization, enabled: bool, actor, actor_kind: str | None) -> bool:
    with transaction.atomic():
        organization = Organization.objects.select_for_update().get(pk=organization.pk)
        if organization.has_feature(FEATURE) == enabled:
            return False
        others = [f for f in organization.features or [] if f != FEATURE]
        organization.features = [*others, FEATURE] if enabled else others
        organization.save(update_fields=["features"])
        if enabled:
            AccessRequest.objects.filter(
                organization=organization, feature=FEATURE, status=AccessRequest.Status.OPEN
            ).update(status=AccessRequest.Status.GRANTED, resolved_at=clock.now())
        audit.record(
            "imports.feature_granted" if enabled else "imports.feature_revoked",
            organization=organization,
            actor=actor,
            actor_kind=actor_kind or (AuditEvent.ActorKind.OPERATOR if actor is None else None),
            target=organization,
            detail={"feature": FEATURE},
        )
    return True


# --- Report --------------------------------------------------------------------------------


def create_report_job(*, domain: Domain, actor, parent: ImportJob | None = None, enqueue: bool = True) -> ImportJob:
    """Queue a report of the domain's users who are not in the organization (verified domains only)."""
    organization = domain.organization
    _require_feature(organization)
    if domain.status != Domain.Status.VERIFIED:
        raise ConsoleError(
            _("%(domain)s is not verified, so its users cannot be imported.") % {"domain": domain}, code="not_verified"
        )
    with transaction.atomic():
        job = ImportJob.objects.create(
            organization=organization,
            domain=domain,
            domain_name=domain.name,
            created_by=actor,
            created_at=clock.now(),
            kind=ImportJob.Kind.CHECK_NEW if parent is not None else ImportJob.Kind.REPORT,
            parent=parent,
            status=ImportJob.Status.REPORT_QUEUED,
            heartbeat_at=clock.now(),
        )
        audit.record(
            "imports.report_requested",
            organization=organization,
            actor=actor,
            actor_kind=None if actor is not None else AuditEvent.ActorKind.OPERATOR,
            target=job,
            detail={"domain": domain.name, "parent": parent.pk if parent else None},
        )
        if enqueue:
            from imports import tasks

            tasks.build_report.delay_on_commit(job.pk)
    return job


def check_for_new_users(*, job: ImportJob, actor) -> ImportJob:
    """A new report for the same domain: users who joined since or were not imported before."""
    if job.status != ImportJob.Status.COMPLETED:
        raise ConsoleError(_("Check for new users once the import has completed."), code="not_completed")
    return create_report_job(domain=job.domain, actor=actor, parent=job)


def _report_reason(user: dict, organization_id: int) -> str:
    if not user["is_active"]:
        return Reason.DEACTIVATED
    if not user["email_verified"]:
        return Reason.EMAIL_NOT_VERIFIED
    if user["membership__organization_id"] is not None and user["membership__organization_id"] != organization_id:
        return Reason.MANAGED_ELSEWHERE
    return ""


def _batches(iterable, size):
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def build_report(job_id: int) -> bool:
    """Fill the job's rows. Idempotent: returns False when there is nothing (more) to do."""
    now = clock.now()
    claimed = ImportJob.objects.filter(pk=job_id, status__in=ImportJob.REPORT_STATUSES).update(
        status=ImportJob.Status.REPORT_RUNNING, heartbeat_at=now, started_at=now
    )
    if not claimed:
        return False
    batch_size = settings.IMPORT_REPORT_BATCH_SIZE
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().select_related("domain").get(pk=job_id)
        if job.status != ImportJob.Status.REPORT_RUNNING:
            return False  # another run finished it while we waited for the lock
        ImportRow.objects.filter(job=job).delete()  # a crashed earlier run left nothing, but be sure
        parent_user_ids: set[int] = set()
        if job.parent_id:
            parent_user_ids = set(
                ImportRow.objects.filter(job_id=job.parent_id, user__isnull=False).values_list("user_id", flat=True)
            )
        # The indexed e-mail-domain column, keyset-paginated by pk: never a LIKE scan.
        users = (
            User.objects.filter(email_domain=job.domain_name)
            .exclude(membership__organization_id=job.organization_id)
            .order_by("pk")
        )
        total = eligible = 0
        # One pass over the index (a server-side cursor on PostgreSQL), handled in batches.
        stream = users.values(
            "pk", "email", "date_joined", "email_verified", "is_active", "membership__organization_id"
        ).iterator(chunk_size=batch_size)
        for batch in _batches(stream, batch_size):
            counts = dict(
                Account.objects.filter(owner_id__in=[u["pk"] for u in batch])
                .values("owner_id")
                .annotate(n=Count("id"))
                .values_list("owner_id", "n")
            )
            rows = []
            for user in batch:
                reason = _report_reason(user, job.organization_id)
                rows.append(
                    ImportRow(
                        job_id=job.pk,
                        user_id=user["pk"],
                        email=user["email"],
                        accounts_count=counts.get(user["pk"], 0),
                        signed_up_at=user["date_joined"],
                        email_verified=user["email_verified"],
                        eligible=not reason,
                        reason=reason,
                        new_since_parent=bool(job.parent_id) and user["pk"] not in parent_user_ids,
                    )
                )
                eligible += not reason
            ImportRow.objects.bulk_create(rows, batch_size=batch_size)
            total += len(rows)
        finished = clock.now()
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.REPORT_READY,
            rows_total=total,
            rows_eligible=eligible,
            report_ready_at=finished,
            heartbeat_at=finished,
        )
        audit.record(
            "imports.report_ready",
            organization=job.organization,
            actor=None,
            actor_kind=AuditEvent.ActorKind.SYSTEM,
            target=job,
            detail={"rows": total, "eligible": eligible},
        )
    return True


# --- Notify --------------------------------------------------------------------------------


def notice_context(job: ImportJob) -> dict:
    return {
        "organization": job.organization.name,
        "domain": job.domain.unicode_name or job.domain_name,
        "console_url": settings.CONSOLE_BASE_URL,
    }


def render_notice(job: ImportJob, language: str) -> tuple[str, str]:
    """(subject, body) of the notice in one language; English unless a Japanese text exists."""
    language = "ja" if language == "ja" else "en"
    context = notice_context(job)
    with translation.override(language):
        subject = render_to_string(f"emails/imports_notice_subject_{language}.txt", context).strip()
        body = render_to_string(f"emails/imports_notice_message_{language}.txt", context)
    return subject, body


def notify_eligible(*, job: ImportJob, actor, enqueue: bool = True) -> int:
    """Queue the notice e-mail to the report's eligible users not yet notified; returns how many."""
    _require_feature(job.organization)
    if job.status != ImportJob.Status.REPORT_READY:
        raise ConsoleError(_("Users can be notified while the report is ready and before the import starts."))
    pending = ImportRow.objects.filter(job=job, eligible=True, notified_at__isnull=True).count()
    if not pending:
        raise ConsoleError(_("Every eligible user of this report has already been notified."), code="nothing_to_do")
    with transaction.atomic():
        audit.record(
            "imports.notify_requested", organization=job.organization, actor=actor, target=job, detail={"users": pending}
        )
        if enqueue:
            from imports import tasks

            tasks.send_notices.delay_on_commit(job.pk)
    return pending


def send_notices(job_id: int, *, batch_size: int = 500) -> int:
    """E-mail the notice to eligible, not yet notified users, each in their language.

    Rows are marked in the same transaction as the batch is handed to the mail backend, so a
    re-run never e-mails a notified user again (at-most-once per batch).
    """
    job = ImportJob.objects.select_related("organization", "domain").get(pk=job_id)
    notices = {language: render_notice(job, language) for language in ("en", "ja")}
    sent = 0
    connection = get_connection()
    while True:
        with transaction.atomic():
            batch = list(
                ImportRow.objects.select_for_update(of=("self",))
                .filter(job_id=job_id, eligible=True, notified_at__isnull=True, user__isnull=False)
                .select_related("user")
                .order_by("pk")[:batch_size]
            )
            if not batch:
                break
            messages = []
            for row in batch:
                subject, body = notices["ja" if row.user.language == "ja" else "en"]
                messages.append(EmailMultiAlternatives(subject, body, settings.DEFAULT_FROM_EMAIL, [row.user.email]))
            connection.send_messages(messages)
            now = clock.now()
            ImportRow.objects.filter(pk__in=[row.pk for row in batch]).update(notified_at=now)
            ImportJob.objects.filter(pk=job_id).update(rows_notified=F("rows_notified") + len(batch), notified_at=now)
            sent += len(batch)
    if sent:
        audit.record(
            "imports.users_notified",
            organization=job.organization,
            actor=None,
            actor_kind=AuditEvent.ActorKind.SYSTEM,
            target=job,
            detail={"users": sent},
        )
    return sent


# --- Selection and import -----------------------------------------------------------------


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
        ImportJob.objects.filter(pk=job.pk).update(rows_selected=count)
    return count


def start_import(
    *, job: ImportJob, actor, selected_row_ids: list[int] | None = None, selected_only: bool = False, enqueue: bool = True
) -> ImportJob:
    """Queue the import of all eligible rows, or only the selected ones.

    `selected_row_ids` replaces the saved selection; `selected_only` uses the saved one.
    Refused when the domain is not verified now (e.g. re-validation required).
    """
    organization = job.organization
    _require_feature(organization)
    admission = email_admission(organization, f"import@{job.domain_name}")
    if not admission.allowed:
        raise ConsoleError(admission.reason, code=admission.code)
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status != ImportJob.Status.REPORT_READY:
            raise ConsoleError(_("This report has already been imported or is not ready yet."), code="bad_state")
        if selected_row_ids is not None:
            rows = ImportRow.objects.filter(job=locked, eligible=True)
            rows.filter(pk__in=selected_row_ids).update(selected=True)
            rows.exclude(pk__in=selected_row_ids).update(selected=False)
            selected_only = True
        selected_count = ImportRow.objects.filter(job=locked, selected=True).count() if selected_only else 0
        if selected_only and not selected_count:
            raise ConsoleError(_("Select at least one eligible user, or import all eligible users."), code="none_selected")
        now = clock.now()
        ImportJob.objects.filter(pk=locked.pk).update(
            status=ImportJob.Status.IMPORT_QUEUED,
            selected_only=selected_only,
            rows_selected=selected_count,
            import_requested_by=actor,
            heartbeat_at=now,
            rows_processed=0,
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
            from imports import tasks

            tasks.run_import.delay_on_commit(locked.pk)
    locked.refresh_from_db()
    return locked


def _domain_admitted(job: ImportJob) -> bool:
    return email_admission(job.organization, f"import@{job.domain_name}").allowed


def run_import_chunk(job_id: int) -> bool:
    """Process the next chunk of pending rows. Returns True while more work remains.

    One transaction: job lock → rows → user locks → re-check → memberships → accounts →
    row results → checkpoint. A crash anywhere rolls all of it back.
    """
    chunk_size = settings.IMPORT_CHUNK_SIZE
    with transaction.atomic():
        job = (
            ImportJob.objects.select_for_update(of=("self",))
            .select_related("organization")
            .filter(pk=job_id, status__in=ImportJob.IMPORT_STATUSES)
            .first()
        )
        if job is None:
            return False
        now = clock.now()
        if job.status == ImportJob.Status.IMPORT_QUEUED:
            job.status = ImportJob.Status.IMPORTING
            job.started_at = now
        # Keyset from the checkpoint: every row up to last_row_id got its result in the same
        # transaction that moved the checkpoint, so the next chunk starts right after it.
        rows = list(
            ImportRow.objects.filter(job_id=job_id, pk__gt=job.last_row_id, result=ImportRow.Result.PENDING)
            .order_by("pk")
            .values("pk", "user_id", "eligible", "reason", "selected")[:chunk_size]
        )
        if not rows:
            job.status = ImportJob.Status.COMPLETED
            job.finished_at = now
            job.heartbeat_at = now
            job.save(update_fields=["status", "started_at", "finished_at", "heartbeat_at"])
            audit.record(
                "imports.import_completed",
                organization=job.organization,
                actor=None,
                actor_kind=AuditEvent.ActorKind.SYSTEM,
                target=job,
                detail={"imported": job.rows_imported, "not_imported": job.rows_not_imported, "rows": job.rows_total},
            )
            return False

        outcome: dict[str, list[int]] = defaultdict(list)  # reason ("" = imported) -> row ids
        candidates: dict[int, int] = {}  # user id -> row id
        for row in rows:
            if not row["eligible"]:
                outcome[row["reason"] or Reason.NOT_SELECTED].append(row["pk"])
            elif job.selected_only and not row["selected"]:
                outcome[Reason.NOT_SELECTED].append(row["pk"])
            elif row["user_id"] is None:
                outcome[Reason.USER_DELETED].append(row["pk"])
            else:
                candidates[row["user_id"]] = row["pk"]

        if candidates:
            domain_ok = _domain_admitted(job)
            # Lock the users so their e-mail or membership cannot change under us.
            current = {
                u["pk"]: u
                for u in User.objects.select_for_update(of=("self",))
                .filter(pk__in=list(candidates))
                .values("pk", "email_domain", "is_active", "email_verified", "membership__organization_id")
            }
            to_import: list[int] = []
            for user_id, row_id in candidates.items():
                user = current.get(user_id)
                if user is None:
                    reason = Reason.USER_DELETED
                elif user["email_domain"] != job.domain_name:
                    reason = Reason.EMAIL_CHANGED
                elif user["membership__organization_id"] == job.organization_id:
                    reason = Reason.ALREADY_MEMBER
                elif not domain_ok:
                    reason = Reason.DOMAIN_NOT_VERIFIED
                else:
                    reason = _report_reason(user, job.organization_id)
                if reason:
                    outcome[reason].append(row_id)
                else:
                    to_import.append(user_id)
            imported_users = _insert_memberships(job, to_import, now)
            for user_id in to_import:
                if user_id in imported_users:
                    outcome[""].append(candidates[user_id])
                else:
                    outcome[Reason.MANAGED_ELSEWHERE].append(candidates[user_id])
            if imported_users:
                _move_accounts(list(imported_users), job.organization_id)

        imported = not_imported = 0
        for reason, row_ids in outcome.items():
            result = ImportRow.Result.NOT_IMPORTED if reason else ImportRow.Result.IMPORTED
            _set_row_results(row_ids, result=result, reason=reason, now=now)
            if reason:
                not_imported += len(row_ids)
            else:
                imported += len(row_ids)
        delay = settings.IMPORT_CHUNK_DELAY_SECONDS
        if delay:  # tests only: holds the chunk's transaction open so a worker kill lands mid-chunk
            time.sleep(delay)
        job.rows_imported = F("rows_imported") + imported
        job.rows_not_imported = F("rows_not_imported") + not_imported
        job.rows_processed = F("rows_processed") + len(rows)
        job.last_row_id = rows[-1]["pk"]
        job.heartbeat_at = clock.now()
        job.save(
            update_fields=[
                "status",
                "started_at",
                "rows_imported",
                "rows_not_imported",
                "rows_processed",
                "last_row_id",
                "heartbeat_at",
            ]
        )
    return True


def _set_row_results(row_ids: list[int], *, result: str, reason: str, now) -> None:
    """One UPDATE per outcome (an array parameter on PostgreSQL: no per-id placeholders)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {ImportRow._meta.db_table} SET result = %s, result_reason = %s, processed_at = %s "  # noqa: S608
                "WHERE id = ANY(%s)",
                [result, reason, now, row_ids],
            )
    else:
        ImportRow.objects.filter(pk__in=row_ids).update(result=result, result_reason=reason, processed_at=now)


def _move_accounts(owner_ids: list[int], organization_id: int) -> None:
    """The imported users' own accounts join the organization (never taken from another one)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Account._meta.db_table} SET organization_id = %s "  # noqa: S608
                "WHERE owner_id = ANY(%s) AND organization_id IS NULL",
                [organization_id, owner_ids],
            )
    else:
        Account.objects.filter(owner_id__in=owner_ids, organization__isnull=True).update(organization_id=organization_id)


def _insert_memberships(job: ImportJob, user_ids: list[int], now) -> set[int]:
    """Insert one membership per user; returns the users actually imported.

    The users are locked and re-checked, so the bulk insert normally succeeds; if a concurrent
    path (e.g. auto-add at sign-up) inserted a membership anyway, fall back to one savepoint per
    user so only that user is reported as not imported.
    """
    if not user_ids:
        return set()

    def membership(user_id):
        return Membership(
            user_id=user_id,
            organization_id=job.organization_id,
            role=Membership.Role.MEMBER,
            joined_via=Membership.JoinedVia.IMPORTED,
            via_domain=job.domain_name,
            joined_at=now,
        )

    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # One statement with one array parameter: no per-row SQL building.
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"INSERT INTO {Membership._meta.db_table} "  # noqa: S608 (table names from the model)
                        "(user_id, organization_id, role, joined_via, via_domain, joined_at) "
                        "SELECT u, %s, %s, %s, %s, %s FROM unnest(%s::bigint[]) AS u",
                        [
                            job.organization_id,
                            Membership.Role.MEMBER,
                            Membership.JoinedVia.IMPORTED,
                            job.domain_name,
                            now,
                            list(user_ids),
                        ],
                    )
            else:
                Membership.objects.bulk_create([membership(user_id) for user_id in user_ids])
        return set(user_ids)
    except IntegrityError:
        imported = set()
        for user_id in user_ids:
            try:
                with transaction.atomic():
                    membership(user_id).save(force_insert=True)
                imported.add(user_id)
            except IntegrityError:
                continue
        return imported


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

    Only a job whose import was started (audit "imports.import_started") can be replayed, so a
    replay never imports a report nobody decided to import. Rows already imported keep their
    result; the checkpoint and the one-membership-per-user constraint mean nobody is imported twice.
    """
    job = ImportJob.objects.select_related("organization").filter(pk=job_id).first()
    if job is None:
        raise ConsoleError(_("There is no import job %(id)s.") % {"id": job_id}, code="missing")
    if job.status in ImportJob.IMPORT_STATUSES:
        return job
    started = AuditEvent.objects.filter(
        action="imports.import_started", target_type=job._meta.model_name, target_id=str(job.pk)
    ).exists()
    if job.status != ImportJob.Status.FAILED or not started:
        raise ConsoleError(_("Only a failed or interrupted import can be resumed."), code="bad_state")
    with transaction.atomic():
        ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.FAILED).update(
            status=ImportJob.Status.IMPORTING, heartbeat_at=clock.now(), finished_at=None, error=""
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
    ImportJob.objects.filter(pk=job_id).exclude(status=ImportJob.Status.COMPLETED).update(
        status=ImportJob.Status.FAILED, error=error[:2000], finished_at=clock.now()
    )


# --- The sweep -----------------------------------------------------------------------------


def resume_stalled(*, enqueue: bool = True) -> list[int]:
    """Re-enqueue running jobs whose heartbeat is older than IMPORT_STALL_SECONDS.

    The heartbeat is bumped with a conditional update first, so two overlapping sweeps never
    resume the same job twice (and a resumed job gets a full stall period to show progress).
    """
    from imports import tasks

    now = clock.now()
    threshold = now - timedelta(seconds=settings.IMPORT_STALL_SECONDS)
    resumed = []
    stalled = ImportJob.objects.running().filter(Q(heartbeat_at__lt=threshold) | Q(heartbeat_at__isnull=True))
    for job_id, status, heartbeat in stalled.values_list("pk", "status", "heartbeat_at")[:500]:
        claimed = ImportJob.objects.filter(pk=job_id, status=status, heartbeat_at=heartbeat).update(heartbeat_at=now)
        if not claimed:
            continue
        resumed.append(job_id)
        if enqueue:
            if status in ImportJob.REPORT_STATUSES:
                if status == ImportJob.Status.REPORT_RUNNING:
                    # the report transaction rolled back with the crash: run it again from scratch
                    ImportJob.objects.filter(pk=job_id, status=status).update(status=ImportJob.Status.REPORT_QUEUED)
                tasks.build_report.delay_on_commit(job_id)
            else:
                tasks.run_import.delay_on_commit(job_id)
        logger.info("imports: resumed stalled job %s (%s)", job_id, status)
    return resumed
