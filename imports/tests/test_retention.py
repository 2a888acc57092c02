"""Retention of import rows: a completed job's rows go after 180 days, its counts stay."""

from datetime import timedelta

import pytest

from imports import retention
from imports.models import ImportJob, ImportRow
from imports.tests.factories import ImportJobFactory, ImportRowFactory

pytestmark = pytest.mark.django_db


def _job(clock, *, status, finished_days_ago, rows=5):
    finished = clock.now() - timedelta(days=finished_days_ago)
    job = ImportJobFactory(
        status=status, finished_at=finished, rows_total=rows, rows_eligible=rows, rows_imported=rows - 1,
        rows_not_imported=1, rows_notified=2,
    )
    for _ in range(rows):
        ImportRowFactory(job=job)
    return job


def test_rows_of_completed_jobs_past_retention_go_and_the_counts_stay(clock, settings):
    settings.IMPORT_ROW_RETENTION_DAYS = 180
    old = _job(clock, status=ImportJob.Status.COMPLETED, finished_days_ago=181)
    recent = _job(clock, status=ImportJob.Status.COMPLETED, finished_days_ago=179)
    failed = _job(clock, status=ImportJob.Status.FAILED, finished_days_ago=400)  # may still be replayed
    waiting = _job(clock, status=ImportJob.Status.REPORT_READY, finished_days_ago=400)  # may still be started

    outcome = retention.purge_finished_rows(rows_per_batch=2)

    assert outcome.deleted == 5 and outcome.jobs == 1 and outcome.finished
    assert not ImportRow.objects.filter(job=old).exists()
    for kept in (recent, failed, waiting):
        assert ImportRow.objects.filter(job=kept).count() == 5
    old.refresh_from_db()
    assert old.rows_purged_at == clock.now()
    assert (old.rows_total, old.rows_imported, old.rows_not_imported, old.rows_notified) == (5, 4, 1, 2)
    assert retention.purge_finished_rows().deleted == 0  # nothing left to do


def test_a_purge_past_its_time_budget_stops_between_batches(clock, settings):
    settings.IMPORT_ROW_RETENTION_DAYS = 1
    job = _job(clock, status=ImportJob.Status.COMPLETED, finished_days_ago=2, rows=6)

    first = retention.purge_finished_rows(rows_per_batch=2, time_budget_seconds=0)

    assert not first.finished and first.deleted == 2 and ImportRow.objects.filter(job=job).count() == 4
    job.refresh_from_db()
    assert job.rows_purged_at is None  # marked only once every row is gone
    rest = retention.purge_finished_rows(rows_per_batch=2)
    assert rest.finished and rest.deleted == 4 and rest.jobs == 1


def test_the_job_page_says_the_list_was_deleted_and_keeps_the_counts(client, clock, settings):
    from django.urls import reverse

    from console.models import Membership
    from imports.tests.factories import MembershipFactory

    settings.IMPORT_ROW_RETENTION_DAYS = 180
    job = _job(clock, status=ImportJob.Status.COMPLETED, finished_days_ago=200)
    admin = MembershipFactory(organization=job.organization, role=Membership.Role.OWNER).user
    retention.purge_finished_rows()
    client.force_login(admin)
    page = client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert "4 users were imported." in page
    assert "The list of users in this report was deleted on" in page
