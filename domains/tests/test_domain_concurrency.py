"""On PostgreSQL, two organizations verifying the same name at the same instant: the
database's partial unique constraint lets exactly one of them hold it."""

import threading

import pytest
from django.db import connection, connections

from console.errors import ConsoleError
from console.models import AuditEvent
from console.tests.factories import OrganizationFactory, admin_of
from domains import checking, lifecycle, services
from domains.models import Domain, DomainCheck
from domains.tests.factories import DomainFactory
from tests.support.missing import skip_or_fail

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _require_postgres():
    if connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL: set DATABASE_URL=postgres://...")


@pytest.fixture
def two_pending(dns_server, dns_settings):
    first_owner, first_org = admin_of(OrganizationFactory(name="First"), "owner@first.example")
    second_owner, second_org = admin_of(OrganizationFactory(name="Second"), "owner@second.example")
    first = DomainFactory(organization=first_org, name="race.test", pending=True)
    second = DomainFactory(organization=second_org, name="race.test", pending=True)
    dns_server.set_txt(first.txt_host, first.txt_value, second.txt_value)
    return [(first, first_owner), (second, second_owner)]


def _in_threads(work, items):
    barrier = threading.Barrier(len(items))
    outcomes: dict[int, object] = {}

    def run(domain, actor):
        try:
            barrier.wait(timeout=10)
            outcomes[domain.pk] = work(domain, actor)
        except Exception as error:  # noqa: BLE001  (the outcome is what the test inspects)
            outcomes[domain.pk] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=item) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


def _assert_exactly_one_holder(items):
    held = Domain.objects.held().filter(name="race.test")
    assert held.count() == 1
    winner = held.get()
    loser = Domain.objects.exclude(pk=winner.pk).get(name="race.test")
    assert loser.status == Domain.Status.PENDING
    return winner, loser


def test_concurrent_verify_now_one_organization_wins(two_pending):
    outcomes = _in_threads(lambda domain, actor: services.verify_now(domain=domain, actor=actor), two_pending)
    winner, loser = _assert_exactly_one_holder(two_pending)
    assert outcomes[winner.pk][0] == services.VerifyOutcome.VERIFIED
    assert isinstance(outcomes[winner.pk][1], DomainCheck)
    lost = outcomes[loser.pk]
    # The loser either saw the winner already holding it, or lost at the constraint.
    if isinstance(lost, ConsoleError):
        assert lost.code == "held_elsewhere"
    else:
        assert lost[0] == services.VerifyOutcome.HELD_ELSEWHERE, lost
        assert isinstance(lost[1], DomainCheck), lost
        assert AuditEvent.objects.filter(action="domain.verification_refused", target_id=str(loser.pk)).exists()
        assert loser.next_check_at is None


def test_concurrent_results_both_verified_the_constraint_decides(two_pending):
    """Both checks find their token (real DNS); both results are applied at the same time."""
    results = {
        domain.pk: checking.run_check(domain.name, domain.token, domain.method, deadline_seconds=5)
        for domain, _ in two_pending
    }
    assert {result.outcome for result in results.values()} == {"verified"}
    outcomes = _in_threads(
        lambda domain, actor: lifecycle.apply_check_result(
            domain_id=domain.pk, result=results[domain.pk], trigger=DomainCheck.Trigger.USER, actor=actor
        ),
        two_pending,
    )
    assert not any(isinstance(outcome, Exception) for outcome in outcomes.values()), outcomes
    winner, loser = _assert_exactly_one_holder(two_pending)
    assert AuditEvent.objects.filter(action="domain.verified", target_id=str(winner.pk)).count() == 1
    assert AuditEvent.objects.filter(action="domain.verification_refused", target_id=str(loser.pk)).count() == 1
    assert loser.next_check_at is None
