"""The report: every user whose e-mail is at the domain and who is not in the organization,
eligible or not, with the reason in words. Built in one transaction behind a lock on the job,
as ONE `INSERT … SELECT` whose reasons are the admission rule's own SQL expression
(console.admission.person_refusal_sql): a re-run after a crash starts over, two concurrent
runs produce one set of rows, and a hundred thousand users take about as long as the database.
"""

from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from console import audit, bulk, clock, events
from console.admission import person_refusal_sql
from console.errors import ConsoleError
from console.models import Account, AuditEvent, User
from domains.models import Domain
from imports.enqueue import BUILD_REPORT, on_commit
from imports.models import ImportJob, ImportRow
from imports.services.access import require_feature


def create_report_job(*, domain: Domain, actor, parent: ImportJob | None = None, enqueue: bool = True) -> ImportJob:
    """Queue a report of the domain's users who are not in the organization (verified domains only)."""
    organization = domain.organization
    require_feature(organization)
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
            on_commit(BUILD_REPORT, job.pk)
    return job


def check_for_new_users(*, job: ImportJob, actor) -> ImportJob:
    """A new report for the same domain: users who joined since or were not imported before."""
    if job.status != ImportJob.Status.COMPLETED:
        raise ConsoleError(_("Check for new users once the import has completed."), code="not_completed")
    return create_report_job(domain=job.domain, actor=actor, parent=job)


def _report_rows(job: ImportJob):
    """The report's rows as a query over the users at the domain (the indexed e-mail-domain
    column, never a LIKE scan): one annotation per ImportRow column, in `_ROW_COLUMNS` order
    (a values() of annotations selects them in the order they were added)."""
    # COUNT(*), not COUNT(id): the owner index alone answers it (an index-only scan per user).
    accounts = (
        Account.objects.filter(owner=OuterRef("pk")).order_by().values("owner").annotate(n=Count("*")).values("n")
    )
    if job.parent_id:
        new_since_parent = ~Exists(ImportRow.objects.filter(job_id=job.parent_id, user_id=OuterRef("pk")))
        # A user notified for the earlier report stays notified: "Check for new users" never
        # sends the same notice twice.
        notified = Subquery(
            ImportRow.objects.filter(job_id=job.parent_id, user_id=OuterRef("pk")).values("notified_at")[:1],
            output_field=DateTimeField(),
        )
    else:
        new_since_parent = Value(False)
        notified = Value(None, output_field=DateTimeField())
    columns = {
        "r_job": Value(job.pk, output_field=IntegerField()),
        "r_user": F("pk"),
        "r_email": F("email"),
        "r_accounts": Coalesce(Subquery(accounts, output_field=IntegerField()), 0),
        "r_signed_up": F("date_joined"),
        "r_verified": F("email_verified"),
        "r_reason": person_refusal_sql(job.organization_id),
        "r_eligible": ExpressionWrapper(Q(r_reason=""), output_field=BooleanField()),
        "r_new": ExpressionWrapper(new_since_parent, output_field=BooleanField()),
        "r_selected": Value(False, output_field=BooleanField()),
        "r_result": Value(ImportRow.Result.PENDING),
        "r_result_reason": Value(""),
        "r_notified": notified,
    }
    users = User.objects.filter(email_domain=job.domain_name).exclude(membership__organization_id=job.organization_id)
    return users.annotate(**columns).order_by("pk").values(*columns)


_ROW_COLUMNS = (
    "job_id",
    "user_id",
    "email",
    "accounts_count",
    "signed_up_at",
    "email_verified",
    "reason",
    "eligible",
    "new_since_parent",
    "selected",
    "result",
    "result_reason",
    "notified_at",
)


def _insert_report_rows(job: ImportJob) -> dict:
    """Insert the job's rows; returns their counts (total, eligible, notified, last notified).
    On PostgreSQL the counts come from the INSERT's own RETURNING, not a second scan of the rows."""
    sql, params = _report_rows(job).query.sql_with_params()
    table = connection.ops.quote_name(ImportRow._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(column) for column in _ROW_COLUMNS)
    # Identifiers come from model metadata; the SELECT is the ORM's, with bound parameters.
    insert = f"INSERT INTO {table} ({columns}) {sql}"  # noqa: S608
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute(insert, params)
            return _counts(ImportRow.objects.filter(job=job))
        # The per-user account count makes the plan look costly enough for JIT compiling,
        # which takes longer (a third of a second) than the expressions it would speed up.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(
            f"WITH inserted AS ({insert} RETURNING eligible, notified_at) "  # noqa: S608
            "SELECT count(*), count(*) FILTER (WHERE eligible), "
            "count(*) FILTER (WHERE eligible AND notified_at IS NOT NULL), max(notified_at) FROM inserted",
            params,
        )
        total, eligible, notified, last_notified = cursor.fetchone()
    return {"total": total, "eligible": eligible, "notified": notified, "last_notified": last_notified}


def _counts(rows) -> dict:
    # Aggregate names must not shadow the fields the filters read.
    counts = rows.aggregate(
        total=Count("id"),
        n_eligible=Count("id", filter=Q(eligible=True)),
        n_notified=Count("id", filter=Q(eligible=True, notified_at__isnull=False)),
        last_notified=Max("notified_at"),
    )
    return {
        "total": counts["total"],
        "eligible": counts["n_eligible"],
        "notified": counts["n_notified"],
        "last_notified": counts["last_notified"],
    }


def build_report(job_id: int) -> bool:
    """Fill the job's rows. Idempotent: returns False when there is nothing (more) to do."""
    now = clock.now()
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.REPORT_QUEUED).write_state(
        to=ImportJob.Status.REPORT_RUNNING, heartbeat_at=now, started_at=now
    )
    if not claimed:
        return False
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().select_related("organization").get(pk=job_id)
        if job.status != ImportJob.Status.REPORT_RUNNING:
            return False  # another run finished it while we waited for the lock
        ImportRow.objects.filter(job=job).delete()  # a crashed earlier run left nothing, but be sure
        counts = _insert_report_rows(job)
        # The columns the reads of a job's rows filter on: the text columns' statistics cost
        # most of a full ANALYZE and no query plan depends on them.
        bulk.analyze(ImportRow, columns=("job", "user", "eligible"))
        finished = clock.now()
        ImportJob.objects.filter(pk=job.pk).write_state(
            to=ImportJob.Status.REPORT_READY,
            rows_total=counts["total"],
            rows_eligible=counts["eligible"],
            rows_notified=counts["notified"],
            notified_at=counts["last_notified"],
            report_ready_at=finished,
            heartbeat_at=finished,
        )
        audit.record(
            "imports.report_ready",
            organization=job.organization,
            actor=None,
            actor_kind=AuditEvent.ActorKind.SYSTEM,
            target=job,
            detail={"rows": counts["total"], "eligible": counts["eligible"]},
        )
        events.emit(
            events.IMPORT_REPORT_READY,
            organization_id=job.organization_id,
            data={
                "import_job": {"id": job.pk, "domain": job.domain_name},
                "rows": counts["total"],
                "eligible": counts["eligible"],
            },
        )
    return True


def record_csv_download(*, job: ImportJob, actor, where: dict) -> None:
    """Audit a download of the report's CSV (personal data: names and addresses of people),
    with the client address and user agent."""
    audit.record(
        "imports.report_downloaded",
        organization=job.organization,
        actor=actor,
        target=job,
        detail={"domain": job.domain_name, "rows": job.rows_total, **where},
    )
