"""The whole flow through a real Celery worker (in-process thread; Redis broker when REDIS_URL is set)."""

import time

import pytest
from celery import current_app as app
from celery.contrib.testing.worker import start_worker
from django.db import OperationalError

from console.models import Account, Membership
from imports import services, tasks
from imports.models import ImportJob, ImportRow
from imports.tests.conftest import make_world, population
from imports.tests.factories import AccountFactory, UserFactory
from imports.tests.worker_support import QUEUE, broker, redis_broker_url

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def wait_for(predicate, *, timeout=60.0, what="the worker"):
    """Poll the database until the worker has done its part (not a time rule: an async wait)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except OperationalError:  # SQLite's shared-cache test DB: "table is locked" while the worker writes
            value = None
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def worker(settings):
    settings.IMPORT_CHUNK_SIZE = 7
    settings.IMPORT_TASK_TIME_BUDGET_SECONDS = 0.01  # re-enqueue after each chunk: exercises the hand-off
    url = redis_broker_url() or "memory://"
    with broker(app, url):
        with start_worker(app, pool="solo", perform_ping_check=False, queues=[QUEUE], shutdown_timeout=30):
            yield url


def test_report_notify_import_and_sweep_through_a_real_worker(worker, mailoutbox, settings):
    world = make_world()
    people = population(world)
    for i in range(30):
        user = UserFactory(email=f"bulk{i}@example.com")
        AccountFactory(owner=user)
    job = services.create_report_job(domain=world.domain, actor=world.admin)  # enqueued on commit
    wait_for(lambda: ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.REPORT_READY, what="the report")
    job.refresh_from_db()
    assert (job.rows_total, job.rows_eligible) == (35, 32)

    services.notify_eligible(job=job, actor=world.admin)
    wait_for(lambda: ImportJob.objects.get(pk=job.pk).rows_notified == 32, what="the notices")

    services.start_import(job=job, actor=world.admin)
    wait_for(lambda: ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.COMPLETED, what="the import")
    job.refresh_from_db()
    assert (job.rows_imported, job.rows_not_imported) == (32, 3)
    assert job.rows_imported + job.rows_not_imported == job.rows_total
    assert not ImportRow.objects.filter(job=job, result="pending").exists()
    imported = Membership.objects.filter(organization=world.organization, joined_via="imported")
    assert imported.count() == 32
    assert Account.objects.filter(owner__in=imported.values("user"), organization=world.organization).count() == 33
    assert Membership.objects.get(user=people["managed_elsewhere"]).organization == world.other_organization

    # The beat sweep as a task: a job whose heartbeat stopped is resumed by the worker.
    again = services.create_report_job(domain=world.domain, actor=world.admin, enqueue=False)
    services.build_report(again.pk)
    UserFactory(email="late@example.com")
    again = ImportJob.objects.get(pk=again.pk)
    services.start_import(job=again, actor=world.admin, enqueue=False)  # "lost" message
    settings.IMPORT_STALL_SECONDS = 0
    ImportJob.objects.filter(pk=again.pk).update(heartbeat_at=again.created_at)
    tasks.resume_stalled.delay()
    wait_for(lambda: ImportJob.objects.get(pk=again.pk).status == ImportJob.Status.COMPLETED, what="the sweep")
