"""The optional notice to a report's eligible users before they are imported, each in their
language, written once as the gettext templates emails/imports_notice_* (the page shows the
same text, ready to copy, in English and Japanese)."""

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from console import audit, clock, emails
from console.errors import ConsoleError
from console.models import AuditEvent
from imports.enqueue import SEND_NOTICES, on_commit
from imports.models import ImportJob, ImportRow
from imports.services.access import require_feature

TEMPLATE = "imports_notice"


def notice_context(job: ImportJob) -> dict:
    return {"organization": job.organization.name, "domain": job.domain.unicode_name or job.domain_name}


def render_notice(job: ImportJob, language: str) -> tuple[str, str]:
    """(subject, text) of the notice in one language."""
    subject, text, _html = emails.render(TEMPLATE, language=language, context=notice_context(job))
    return subject, text


def notify_eligible(*, job: ImportJob, actor, enqueue: bool = True) -> int:
    """Queue the notice e-mail to the report's eligible users not yet notified; returns how many."""
    require_feature(job.organization)
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
            on_commit(SEND_NOTICES, job.pk)
    return pending


def notice_reference(job_id: int) -> str:
    """How the notice records of a job are found (console.OutboundEmail.reference)."""
    return f"imports.job:{job_id}"


def _notice_context(params: dict, _user) -> dict:
    job = ImportJob.objects.select_related("organization", "domain").filter(pk=params["job_id"]).first()
    if job is None:
        raise emails.NothingToSend("The import job no longer exists.")
    return notice_context(job)


emails.register(TEMPLATE, _notice_context, personal=False)


def send_notices(job_id: int, *, batch_size: int = 1000) -> int:
    """Queue the notice to eligible, not yet notified users; each is rendered in its user's
    language when the worker sends it, and its record says sent or failed (with the reason).

    A row is marked in the same transaction as its e-mail record is written, so a re-run never
    queues a second notice for it, and a crash loses none.
    """
    job = ImportJob.objects.select_related("organization").get(pk=job_id)
    queued = 0
    while True:
        with transaction.atomic():
            batch = list(
                ImportRow.objects.select_for_update(of=("self",))
                # Through the join: a row can outlive its user by id alone (no database constraint).
                .filter(job_id=job_id, eligible=True, notified_at__isnull=True, user__email__isnull=False)
                .select_related("user")
                .order_by("pk")[:batch_size]
            )
            if not batch:
                break
            emails.queue_to_users(
                TEMPLATE, users=[row.user for row in batch], params={"job_id": job_id}, reference=notice_reference(job_id)
            )
            now = clock.now()
            ImportRow.objects.filter(pk__any_of=[row.pk for row in batch]).update(notified_at=now)
            ImportJob.objects.filter(pk=job_id).update(rows_notified=F("rows_notified") + len(batch), notified_at=now)
            queued += len(batch)
    if queued:
        audit.record(
            "imports.users_notified",
            organization=job.organization,
            actor=None,
            actor_kind=AuditEvent.ActorKind.SYSTEM,
            target=job,
            detail={"users": queued},
        )
    return queued
