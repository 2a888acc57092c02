"""End to end through a REAL Celery worker, Redis broker and PostgreSQL, against the real
loopback DNS server: the dispatcher claims due domains, the worker checks them, states and
e-mails come out right; never two checks for one due time (two workers, racing dispatchers,
duplicate deliveries); a claim whose worker died is taken again after its lease; and the
whole story from a removed record to users added back after re-verification.

Needs DATABASE_URL=postgres://... and REDIS_URL; skips with a message otherwise, and fails
when REQUIRE_SERVICES=1 (CI).
"""

import os
import threading
from collections import Counter
from contextlib import ExitStack
from datetime import timedelta

import pytest
from celery import current_app as app
from celery.contrib.testing.worker import start_worker
from celery.signals import task_failure, task_postrun
from django.conf import settings as django_settings
from django.core import mail

from console.models import Account, AuditEvent, Membership
from console.tests.factories import AccountFactory, MembershipFactory, OrganizationFactory
from domains import members, scheduler, tasks
from domains.models import Domain, DomainCheck, RemovedMember
from domains.tests.factories import DomainFactory
from tests.support.missing import skip_or_fail

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres]

QUEUES = ("checks", "default")


def _services_or_skip():
    engine = django_settings.DATABASES["default"]["ENGINE"]
    redis_url = os.environ.get("REDIS_URL", "")
    missing = []
    if "postgresql" not in engine:
        missing.append("DATABASE_URL=postgres://... (PostgreSQL)")
    if not redis_url:
        missing.append("REDIS_URL=redis://...")
    if missing:
        skip_or_fail("the Celery end-to-end tests need " + " and ".join(missing))
    return redis_url


class TaskLog:
    """Counts finished tasks (signals fire in the worker's threads, in this process)."""

    def __init__(self):
        self.done = Counter()
        self.errors = []
        self._cond = threading.Condition()

    def on_postrun(self, sender=None, **kwargs):
        with self._cond:
            self.done[sender.name] += 1
            self._cond.notify_all()

    def on_failure(self, sender=None, exception=None, **kwargs):
        self.errors.append(f"{sender.name}: {exception!r}")

    def wait(self, name: str, count: int, timeout: float = 60.0):
        """Wait until `count` tasks named `name` have finished in total (not a time rule:
        the worker's progress, bounded so a broken worker fails the test)."""
        with self._cond:
            finished = self._cond.wait_for(lambda: self.done[name] >= count, timeout=timeout)
        assert not self.errors, self.errors
        assert finished, f"only {self.done[name]} of {count} {name} tasks finished: {dict(self.done)}"


@pytest.fixture
def redis_broker():
    """Point the one Celery app at Redis (conftest set memory:// for the process), purge our
    queues, and put everything back afterwards."""
    redis_url = _services_or_skip()
    saved = {key: app.conf.get(key) for key in ("broker_url", "task_always_eager", "broker_transport_options")}
    app.conf.broker_url = redis_url
    app.conf.task_always_eager = False
    app.conf.broker_transport_options = {}
    app._pool = None  # connection pools were built for the previous broker
    app.amqp._producer_pool = None
    with app.connection_for_write() as connection:
        for queue in QUEUES:
            connection.default_channel.queue_purge(queue)
    log = TaskLog()
    task_postrun.connect(log.on_postrun, weak=False)
    task_failure.connect(log.on_failure, weak=False)
    yield log
    task_postrun.disconnect(log.on_postrun)
    task_failure.disconnect(log.on_failure)
    with app.connection_for_write() as connection:
        for queue in QUEUES:
            connection.default_channel.queue_purge(queue)
    for key, value in saved.items():
        app.conf[key] = value
    app._pool = None
    app.amqp._producer_pool = None


def worker(hostname: str):
    return start_worker(
        app, pool="threads", concurrency=4, perform_ping_check=False, queues=list(QUEUES),
        hostname=f"{hostname}@e2e", shutdown_timeout=30,
    )


@pytest.fixture
def lifecycle_settings(settings, dns_settings):
    settings.DOMAIN_RECHECK_JITTER_SECONDS = 0
    settings.DOMAIN_DISPATCH_BATCH_SIZE = 3
    settings.DOMAIN_CHECK_LEASE_SECONDS = 600
    settings.DOMAIN_CHECK_CONCURRENCY = 4
    settings.BACKGROUND_CHECK_DEADLINE_SECONDS = 5
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return dns_settings


def publish(dns_server, domain):
    dns_server.set_txt(domain.txt_host, domain.txt_value)


def dispatch_and_wait(log, *, expected_domains: int, batch_size: int = 3, already: int = 0):
    claimed = tasks.dispatch_due_checks()
    assert claimed == expected_domains
    batches = -(-claimed // batch_size)
    log.wait("domains.check_batch", already + batches)
    return batches


@pytest.mark.django_db(transaction=True)
def test_dispatcher_and_worker_check_due_domains(clock, redis_broker, lifecycle_settings):
    dns = lifecycle_settings
    org = OrganizationFactory(name="Acme", owner="boss@owners.test")
    MembershipFactory(organization=org, user__email="admin@owners.test", role=Membership.Role.ADMINISTRATOR, user__language="ja")
    good = [DomainFactory(organization=org, name=f"good{i}.test") for i in range(4)]
    bad = DomainFactory(organization=org, name="bad.test")
    pending = DomainFactory(organization=org, name="new.test", pending=True)
    for domain in good + [pending]:
        publish(dns, domain)
    clock.advance(timedelta(hours=24))

    with worker("one"):
        dispatch_and_wait(redis_broker, expected_domains=6)

    states = dict(Domain.objects.values_list("name", "status"))
    assert {states[d.name] for d in good} == {"verified"}
    assert states["bad.test"] == "revalidation_required"
    assert states["new.test"] == "verified"
    assert DomainCheck.objects.filter(trigger="schedule").count() == 6
    assert set(Domain.objects.values_list("lease_expires_at", flat=True)) == {None}
    failing = [m for m in mail.outbox if "bad.test" in m.subject]
    assert sorted(m.to[0] for m in failing) == ["admin@owners.test", "boss@owners.test"]
    english = next(m for m in failing if m.to[0] == "boss@owners.test")
    assert bad.txt_host in english.body and bad.txt_value in english.body
    assert AuditEvent.objects.filter(action="domain.failing", actor_kind="schedule").count() == 1
    assert dispatcher_runs() == 1


def dispatcher_runs():
    from console.models import TaskHeartbeat

    return TaskHeartbeat.objects.get(name="dispatcher").runs


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_dispatchers_and_duplicates_check_once_per_due_time(clock, redis_broker, lifecycle_settings):
    dns = lifecycle_settings
    org = OrganizationFactory(name="Acme", owner="owner@owners.test")
    domains = [DomainFactory(organization=org, name=f"d{i}.test") for i in range(12)]
    for domain in domains:
        publish(dns, domain)
    clock.advance(timedelta(hours=24))

    claimed = []
    barrier = threading.Barrier(2)

    def race():
        from django.db import connection

        barrier.wait()
        try:
            claimed.append(tasks.dispatch_due_checks())
        finally:
            connection.close()

    with ExitStack() as stack:
        stack.enter_context(worker("one"))
        stack.enter_context(worker("two"))
        racers = [threading.Thread(target=race) for _ in range(2)]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join()
        assert sum(claimed) == 12  # SKIP LOCKED + conditional update: no row claimed twice
        batches = sum(-(-n // 3) for n in claimed)
        # A duplicate delivery of every claim (e.g. a redelivered message) changes nothing.
        for domain in domains:
            tasks.check_batch.delay([[domain.pk, domain.next_check_at.isoformat()]])
        redis_broker.wait("domains.check_batch", batches + len(domains))

    assert DomainCheck.objects.count() == 12
    assert DomainCheck.objects.values("domain", "due_at").distinct().count() == 12
    assert set(Domain.objects.values_list("status", flat=True)) == {"verified"}


@pytest.mark.django_db(transaction=True)
def test_a_claim_whose_worker_died_is_checked_once_after_its_lease(clock, redis_broker, lifecycle_settings):
    dns = lifecycle_settings
    domain = DomainFactory(organization=OrganizationFactory(name="Acme", owner="owner@owners.test"), name="orphan.test")
    publish(dns, domain)
    clock.advance(timedelta(hours=24))
    [lost] = scheduler.claim_due_domains(limit=10)  # claimed; its worker "dies" before running it

    with worker("one"):
        assert tasks.dispatch_due_checks() == 0  # still leased
        clock.advance(timedelta(seconds=django_settings.DOMAIN_CHECK_LEASE_SECONDS))
        dispatch_and_wait(redis_broker, expected_domains=1)
        # The dead worker's task finally runs (redelivered): still one check for that due time.
        tasks.check_batch.delay([lost.as_task_args()])
        redis_broker.wait("domains.check_batch", 2)

    assert DomainCheck.objects.filter(domain=domain).count() == 1
    check = DomainCheck.objects.get(domain=domain)
    assert check.due_at == lost.due_at and check.outcome == "verified"


@pytest.mark.django_db(transaction=True)
def test_the_whole_story_with_the_clock_moved(clock, redis_broker, lifecycle_settings):
    dns = lifecycle_settings
    org = OrganizationFactory(name="Acme", owner="boss@owners.test")
    ann = MembershipFactory(organization=org, user__email="ann@story.test")
    bob = MembershipFactory(organization=org, user__email="bob@story.test", role=Membership.Role.ADMINISTRATOR)
    account = AccountFactory(owner=ann.user, organization=org, name="Ann's workspace")
    domain = DomainFactory(organization=org, name="story.test")
    publish(dns, domain)
    log = redis_broker
    checks_run = 0

    def sweep(expected):
        nonlocal checks_run
        claimed = tasks.dispatch_due_checks()
        assert claimed == expected
        if claimed:
            checks_run += 1
            log.wait("domains.check_batch", checks_run)

    def run_task(task, n):
        task.delay()
        log.wait(task.name, n)

    with worker("one"):
        clock.advance(timedelta(hours=24))
        sweep(1)
        domain.refresh_from_db()
        assert domain.status == "verified"

        dns.remove(domain.txt_host)
        clock.advance(timedelta(hours=24))
        sweep(1)
        domain.refresh_from_db()
        assert domain.status == "revalidation_required"
        failing_mail = [m for m in mail.outbox if "must be re-validated" in m.subject]
        assert sorted(m.to[0] for m in failing_mail) == ["bob@story.test", "boss@owners.test"]
        deadline = domain.grace_deadline

        reminders = 0
        for moment in (clock.now(), deadline - timedelta(days=7), deadline - timedelta(days=1)):
            clock.set_now(moment)
            reminders += 1
            run_task(tasks.send_reminders, reminders)
        subjects = [m.subject for m in mail.outbox if "left to re-validate" in m.subject]
        assert [s.split(": ")[1] for s in subjects[::2]] == [
            "30 days left to re-validate", "7 days left to re-validate", "1 day left to re-validate"
        ]

        clock.set_now(deadline - timedelta(seconds=1))
        run_task(tasks.expire_lapsed, 1)
        assert Domain.objects.get(pk=domain.pk).status == "revalidation_required"
        clock.set_now(deadline)
        run_task(tasks.expire_lapsed, 2)

    domain.refresh_from_db()
    assert domain.status == "removed" and "Not re-validated within 30 days" in domain.removal_reason
    assert not Membership.objects.filter(user__email_domain="story.test").exists()
    account.refresh_from_db()
    assert account.owner_id == ann.user_id and account.organization_id is None
    assert Account.objects.filter(owner=ann.user).count() == 1
    assert RemovedMember.objects.filter(organization=org).count() == 2
    assert {m.to[0] for m in mail.outbox if "no longer a managed user" in m.subject} == {"ann@story.test", "bob@story.test"}

    # Added and verified again (a new row, a new token), then the users come back in one action.
    again = DomainFactory(organization=org, name="story.test", pending=True)
    assert again.token != domain.token
    publish(dns, again)
    with worker("two"):
        sweep(1)
    again.refresh_from_db()
    assert again.status == "verified"
    outcome = members.add_back_removed_members(domain=again, actor=None)
    assert sorted(outcome.added) == ["ann@story.test", "bob@story.test"]
    assert Membership.objects.get(user=bob.user).role == "administrator"
    account.refresh_from_db()
    assert account.organization_id == org.pk
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"domain.verified", "domain.failing", "domain.reminder_sent", "domain.deleted", "user.removed",
            "user.added_back"} <= actions
