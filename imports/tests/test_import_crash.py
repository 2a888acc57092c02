"""A worker PROCESS killed with SIGKILL in the middle of an import; a new worker finishes the job.

Needs PostgreSQL and Redis: the worker is a separate process, which cannot see an in-memory
SQLite database. Skips without them, but fails under REQUIRE_SERVICES=1 (CI).
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from celery import current_app as app
from django.db import connection
from django.db.models import Count

from console import clock
from console.models import Account, Membership, User
from imports import services, tasks
from imports.models import ImportJob, ImportRow
from imports.tests.conftest import make_world
from imports.tests.worker_support import QUEUE, broker, redis_broker_url
from tests.support.missing import skip_or_fail

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(__file__).resolve().parents[2]
USERS = 600
CHUNK = 20


def require_services():
    problems = []
    if connection.vendor != "postgresql":
        problems.append("DATABASE_URL is not postgres://")
    if not redis_broker_url():
        problems.append("REDIS_URL is unset")
    if problems:
        skip_or_fail("worker-kill test needs PostgreSQL and Redis: " + ", ".join(problems))


def child_database_url() -> str:
    """The test database (pytest-django's test_<name>) as a URL for the child process."""
    s = connection.settings_dict
    auth = quote(s["USER"] or "")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"])
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or "5432"
    return f"postgres://{auth}@{host}:{port}/{s['NAME']}"


def spawn_worker(broker_url: str, name: str, *, delay: float, log_dir: Path) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": child_database_url(),
            "CELERY_BROKER_URL": broker_url,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "IMPORT_CHUNK_SIZE": str(CHUNK),
            "IMPORT_CHUNK_DELAY_SECONDS": str(delay),
            "IMPORT_TASK_TIME_BUDGET_SECONDS": "5",
            "LOG_LEVEL": "WARNING",
        }
    )
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", QUEUE, "-P", "solo", "-c", "1"]
    command += ["-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "warning"]
    log = open(log_dir / f"{name}.log", "wb")  # noqa: SIM115  (closed with the process)
    process = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    process.log_path = log_dir / f"{name}.log"
    return process


def wait_for(predicate, *, timeout, what, process=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if process is not None and process.poll() is not None:
            raise AssertionError(f"worker exited early: {process.log_path.read_text()[-2000:]}")
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def make_population(world):
    users = [
        User(email=f"person{i}@example.com", email_domain="example.com", email_verified=i % 10 != 0, password="!")
        for i in range(USERS)
    ]
    User.objects.bulk_create(users, batch_size=1000)
    owners = list(User.objects.filter(email__startswith="person").values_list("pk", flat=True))
    Account.objects.bulk_create(
        [Account(name=f"acct {pk}-{n}", owner_id=pk) for pk in owners for n in range(1 + pk % 3)], batch_size=2000
    )


def progress(job_id):
    return ImportJob.objects.values_list("rows_processed", "rows_total", "status").get(pk=job_id)


def test_a_killed_worker_loses_nothing_and_imports_nobody_twice(settings, tmp_path):
    require_services()
    world = make_world()
    make_population(world)
    job = services.create_report_job(domain=world.domain, actor=world.admin, enqueue=False)
    services.build_report(job.pk)
    job = ImportJob.objects.get(pk=job.pk)
    assert job.rows_total == USERS and job.rows_eligible == USERS - USERS // 10

    children = []
    try:
        with broker(app, redis_broker_url()) as url:
            services.start_import(job=job, actor=world.admin)  # enqueued on commit to Redis
            first = spawn_worker(url, "doomed", delay=0.1, log_dir=tmp_path)
            children.append(first)
            wait_for(lambda: progress(job.pk)[0] > 0, timeout=60, what="the first chunk", process=first)
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
            processed, total, status = progress(job.pk)
            assert 0 < processed < total, "the kill must land mid-import"
            assert status == ImportJob.Status.IMPORTING
            # Everything committed so far is consistent: a row result for every membership.
            imported_rows = ImportRow.objects.filter(job=job, result="imported").count()
            assert Membership.objects.filter(joined_via="imported").count() == imported_rows

            # The stall sweep (in-process, real time: the child cannot see a frozen clock).
            settings.IMPORT_STALL_SECONDS = 1
            heartbeat = ImportJob.objects.get(pk=job.pk).heartbeat_at
            wait_for(lambda: (clock.now() - heartbeat).total_seconds() > 1.2, timeout=10, what="the stall")
            assert services.resume_stalled() == [job.pk]  # re-enqueued on commit
            second = spawn_worker(url, "rescuer", delay=0, log_dir=tmp_path)
            children.append(second)
            wait_for(
                lambda: progress(job.pk)[2] == ImportJob.Status.COMPLETED, timeout=120, what="the rescue", process=second
            )
            tasks.run_import.delay(job.pk)  # a late duplicate message is harmless
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()

    job.refresh_from_db()
    eligible_users = set(ImportRow.objects.filter(job=job, eligible=True).values_list("user_id", flat=True))
    memberships = Membership.objects.filter(organization=world.organization, joined_via="imported")
    assert set(memberships.values_list("user_id", flat=True)) == eligible_users
    assert not memberships.values("user_id").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert job.rows_imported == len(eligible_users) == ImportRow.objects.filter(job=job, result="imported").count()
    assert job.rows_imported + job.rows_not_imported == job.rows_total == job.rows_processed == USERS
    assert not ImportRow.objects.filter(job=job, result="pending").exists()
    # Accounts moved with their owners, and only theirs.
    assert not Account.objects.filter(owner_id__in=eligible_users).exclude(organization=world.organization).exists()
    assert not Account.objects.exclude(owner_id__in=eligible_users).filter(organization=world.organization).exists()
