"""A worker PROCESS killed with SIGKILL while its delivery hangs on the receiver: the outbox row
is left leased, the dispatcher claims it again once the lease is over, and the event arrives
(the same webhook-id, so the receiver can tell a repeat). Needs PostgreSQL and Redis; skips
without them unless REQUIRE_SERVICES=1."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from celery import current_app as app
from django.db import connection

from console import clock
from domains import services as domain_services
from imports.tests.test_import_crash import child_database_url, wait_for
from imports.tests.worker_support import broker, redis_broker_url
from tests.support.missing import skip_or_fail
from webhooks import services
from webhooks.models import Delivery
from webhooks.tests.conftest import HOST, PATH

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(__file__).resolve().parents[2]
QUEUE = "webhooks"


def spawn_worker(url, settings, log_dir):
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": child_database_url(),
            "CELERY_BROKER_URL": url,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DNS_NAMESERVERS": ",".join(settings.DNS_NAMESERVERS),
            "DNS_PORT": str(settings.DNS_PORT),
            "HTTPS_ALLOW_LOOPBACK": "1",
            "HTTPS_CA_BUNDLE": settings.HTTPS_CA_BUNDLE,
            "WEBHOOK_DELIVERY_DEADLINE_SECONDS": "60",
            "WEBHOOK_LEASE_MARGIN_SECONDS": "30",
            "LOG_LEVEL": "WARNING",
        }
    )
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", QUEUE, "-P", "solo", "-c", "1", "-n", "doomed@%h"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "warning"]
    log = open(log_dir / "worker.log", "wb")  # noqa: SIM115  (closed with the process)
    process = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    process.log_path = log_dir / "worker.log"
    return process


def test_a_worker_killed_mid_delivery_loses_nothing(acme, hook, receiver, settings, tmp_path, eager):
    if connection.vendor != "postgresql" or not redis_broker_url():
        skip_or_fail("worker-kill test needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)")
    receiver.hang(HOST, PATH)
    app.conf.task_always_eager = False
    worker = None
    try:
        with broker(app, redis_broker_url(), QUEUE) as url:
            worker = spawn_worker(url, settings, tmp_path)
            domain_services.add_domain(organization=acme, text="acme-corp.org", actor=acme.admin)  # queued on commit
            wait_for(lambda: receiver.posts, timeout=60, what="the delivery to reach the receiver", process=worker)
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
            worker.wait()
        app.conf.task_always_eager = True

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING and delivery.attempts == 1
    lease_end = delivery.next_attempt_at
    # Before the lease is over nobody takes it; after, the dispatcher does (the project clock
    # moved past it: the test does not wait 90 seconds).
    assert services.dispatch_due() == 0
    receiver.answer_sequence(HOST, PATH, [200])
    clock.set_now(lease_end + timedelta(seconds=1))
    started = time.monotonic()
    assert services.dispatch_due() == 1  # transaction=True: queued and run (eagerly) on commit
    assert time.monotonic() - started < 30
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED and delivery.attempts == 2
    assert len(receiver.posts) == 2 and receiver.posts[1].verified is True
    assert receiver.posts[0].headers["webhook-id"] == receiver.posts[1].headers["webhook-id"]
