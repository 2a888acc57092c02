"""Claiming due domains: batches, leases, re-claim after a dead worker, the heartbeat, and
the dispatcher/batch path end to end in-process (a real DNS server on loopback)."""

from datetime import timedelta

import pytest
from django.db import connection

from console.models import TaskHeartbeat
from console.tests.factories import OrganizationFactory
from domains import scheduler
from domains.models import Domain
from domains.tests.factories import DomainFactory
from tests.support.missing import skip_or_fail

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.DOMAIN_RECHECK_JITTER_SECONDS = 0
    settings.DOMAIN_CHECK_LEASE_SECONDS = 600


def test_claims_only_due_domains_oldest_first_in_batches(clock):
    org = OrganizationFactory(name="Acme", owner="owner@owners.test")
    now = clock.now()
    late = DomainFactory(organization=org, name="late.test", next_check_at=now - timedelta(hours=2))
    due = DomainFactory(organization=org, name="due.test", next_check_at=now)
    DomainFactory(organization=org, name="later.test", next_check_at=now + timedelta(seconds=1))
    DomainFactory(organization=org, name="gone.test", removed=True, next_check_at=now - timedelta(days=1))
    DomainFactory(organization=org, name="idle.test", pending=True, next_check_at=None)
    pending = DomainFactory(organization=org, name="pending.test", pending=True)
    first = scheduler.claim_due_domains(limit=2)
    assert [c.domain_id for c in first] == [late.pk, due.pk]
    second = scheduler.claim_due_domains(limit=2)
    assert [c.domain_id for c in second] == [pending.pk]
    assert scheduler.claim_due_domains(limit=2) == []
    late.refresh_from_db()
    assert late.lease_expires_at == now + timedelta(seconds=600)
    assert late.claimed_due_at == late.next_check_at


def test_a_claim_whose_worker_died_is_claimed_again_after_its_lease(clock):
    domain = DomainFactory(organization=OrganizationFactory(name="Acme", owner="owner@owners.test"), name="x.test", next_check_at=clock.now())
    [claim] = scheduler.claim_due_domains(limit=10)
    clock.advance(timedelta(seconds=599))
    assert scheduler.claim_due_domains(limit=10) == []
    clock.advance(timedelta(seconds=1))
    [again] = scheduler.claim_due_domains(limit=10)
    assert again == claim  # same domain, same due time: still one check per due time
    assert again.due_at == domain.next_check_at


def test_dispatch_records_a_heartbeat_and_hands_over_every_batch(clock, settings):
    org = OrganizationFactory(name="Acme", owner="owner@owners.test")
    for i in range(5):
        DomainFactory(organization=org, name=f"d{i}.test", next_check_at=clock.now())
    batches = []
    assert scheduler.dispatch_due(enqueue=batches.append, batch_size=2) == 5
    assert [len(b) for b in batches] == [2, 2, 1]
    beat = TaskHeartbeat.objects.get(name="dispatcher")
    assert beat.last_run_at == clock.now() and beat.runs == 1
    assert scheduler.dispatch_due(enqueue=batches.append, batch_size=2) == 0
    assert TaskHeartbeat.objects.get(name="dispatcher").runs == 2


def test_claim_costs_two_queries_whatever_the_batch(clock):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    org = OrganizationFactory(name="Acme", owner="owner@owners.test")
    for i in range(40):
        DomainFactory(organization=org, name=f"d{i}.test", next_check_at=clock.now())
    with CaptureQueriesContext(connection) as queries:
        assert len(scheduler.claim_due_domains(limit=40)) == 40
    # The test's own transaction turns BEGIN/COMMIT into savepoints; they are not round-trips
    # a production claim pays as statements of its own.
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 2, statements


def test_claim_task_args_round_trip(clock):
    claim = scheduler.Claim(7, clock.now())
    assert scheduler.Claim.from_task_args(claim.as_task_args()) == claim


def test_batches_reuse_the_check_threads(clock, dns_settings, settings):
    """Batch after batch runs on the same threads: none started per batch, none left behind."""
    import threading

    from domains.checking import check_domains
    from domains.tests.factories import DomainFactory

    settings.DOMAIN_CHECK_CONCURRENCY = 8
    domains = [DomainFactory(name=f"pool{i}.example") for i in range(8)]
    for domain in domains:
        dns_settings.set_txt(f"_twilio.{domain.name}", f"twilio-domain-verification={domain.token}")

    def batch():
        results = list(check_domains(domains, deadline_seconds=5))
        assert sorted(r.outcome for _, r in results) == ["verified"] * 8
        return {t for t in threading.enumerate() if t.name.startswith("domain-check")}  # objects, not reusable ids

    seen = set()
    for _ in range(12):
        seen |= batch()
    # A pool started per batch would show at least one new thread each time (12 or more).
    assert 1 <= len(seen) <= settings.DOMAIN_CHECK_CONCURRENCY


@pytest.mark.postgres
def test_claims_update_rows_in_place_where_their_page_has_room(clock):
    # The lease columns are in no index and domain pages keep room (fillfactor) for new row
    # versions: on full pages (the default) none of these claims is a HOT update, here a share
    # as large as the room left (more later, as pruning frees dead versions).
    if connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL: set DATABASE_URL=postgres://...")
    org = OrganizationFactory(name="Acme", owner="owner@owners.test")
    for i in range(200):  # several pages' worth: full pages would leave no room
        DomainFactory(organization=org, name=f"d{i}.test", next_check_at=clock.now())
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_get_xact_tuples_hot_updated('domains_domain'::regclass)")
        (before,) = cursor.fetchone()
        assert len(scheduler.claim_due_domains(limit=500)) == 200
        cursor.execute("SELECT pg_stat_get_xact_tuples_hot_updated('domains_domain'::regclass)")
        (after,) = cursor.fetchone()
    assert after - before >= 50


def test_a_batch_comes_to_what_each_check_alone_comes_to(clock, dns_settings, settings):
    """The batch's first lookups are shared (one socket) and what they settle is verified at once;
    every other check continues on the pool: each domain once, each result as its own check's."""
    from domains.checking import check_domain, check_domains
    from domains.tests.factories import DomainFactory

    settings.DOMAIN_CHECK_CONCURRENCY = 3
    domains = []
    for i in range(10):
        domain = DomainFactory(name=f"mixed{i}.example", method=Domain.Method.HTTPS if i == 9 else Domain.Method.DNS)
        domains.append(domain)
        kind = i % 5
        if kind in (0, 4):
            dns_settings.set_txt(f"_twilio.{domain.name}", f"twilio-domain-verification={domain.token}")
        elif kind == 1:
            dns_settings.set_txt(f"_twilio.{domain.name}", "twilio-domain-verification=" + "f" * 32)
        elif kind == 2:
            dns_settings.set_zone(domain.name)
        else:
            dns_settings.set_rcode(f"_twilio.{domain.name}", "SERVFAIL")

    def seen(result):
        return result.outcome, result.method, result.detail.english(), [m.english() for m in result.diagnostics]

    batch = {domain.pk: seen(result) for domain, result in check_domains(domains, deadline_seconds=5)}
    assert sorted(batch) == sorted(domain.pk for domain in domains)
    alone = {domain.pk: seen(check_domain(domain, deadline_seconds=5)) for domain in domains}
    assert batch == alone
    assert [batch[domain.pk][0] for domain in domains] == [
        "verified", "mismatch", "not_found", "inconclusive", "verified",
        "verified", "mismatch", "not_found", "inconclusive", "verified",
    ]


def test_a_failure_of_the_batch_lookups_reaches_the_caller(settings):
    """The first lookups run in a thread of their own: if they fail outright, the caller gets
    the error instead of waiting for results that will never come."""
    from domains.checking import check_domains

    settings.DNS_AUTHORITATIVE_MODE = False
    settings.DNS_NAMESERVERS = ["not-an-address"]
    domains = [DomainFactory(name=f"broken{i}.example") for i in range(2)]
    with pytest.raises(ValueError):
        list(check_domains(domains, deadline_seconds=5))
