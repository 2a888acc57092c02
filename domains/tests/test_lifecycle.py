"""The state machine at its exact boundaries (jitter 0): 24 h re-checks, 72 h inconclusive
tolerance, re-validation, pending back-off, stale claims, once per due time, and that the
single and the bulk path share one transition."""

from datetime import timedelta

import pytest

from console.models import AuditEvent
from console.tests.factories import MembershipFactory, OrganizationFactory
from domains import lifecycle, scheduler
from domains.models import Domain, DomainCheck
from domains.tests.factories import DomainFactory, check_result
from domains.verifiers import Outcome

pytestmark = pytest.mark.django_db

SCHEDULE = DomainCheck.Trigger.SCHEDULE


@pytest.fixture(autouse=True)
def _no_jitter(settings):
    settings.DOMAIN_RECHECK_JITTER_SECONDS = 0


def apply(domain, outcome, *, due=True):
    domain.refresh_from_db()
    applied = lifecycle.apply_check_result(
        domain_id=domain.pk, result=check_result(outcome), trigger=SCHEDULE, due_at=domain.next_check_at if due else None
    )
    return applied.check if applied else None


def test_pending_becomes_verified_and_is_rechecked_24h_later(clock):
    domain = DomainFactory(organization=OrganizationFactory(name="Acme", owner="owner@owners.test"), pending=True, name="example.test")
    check = apply(domain, Outcome.VERIFIED)
    domain.refresh_from_db()
    assert check.outcome == Outcome.VERIFIED
    assert domain.status == Domain.Status.VERIFIED
    assert domain.verified_at == clock.now()
    assert domain.next_check_at == clock.now() + timedelta(hours=24)
    assert AuditEvent.objects.filter(action="domain.verified", target_id=str(domain.pk)).count() == 1


def test_recheck_is_due_at_24h_not_at_23h59(clock):
    domain = DomainFactory(organization=OrganizationFactory(name="Acme", owner="owner@owners.test"), pending=True, name="example.test")
    apply(domain, Outcome.VERIFIED)
    clock.advance(timedelta(hours=23, minutes=59))
    assert scheduler.claim_due_domains(limit=10) == []
    clock.advance(timedelta(minutes=1))
    claims = scheduler.claim_due_domains(limit=10)
    assert [c.domain_id for c in claims] == [domain.pk]
    assert claims[0].due_at == clock.now()


def test_definitive_failure_starts_the_30_day_grace_period(clock):
    domain = DomainFactory(organization=OrganizationFactory(name="Acme", owner="owner@owners.test"), name="example.test")
    clock.advance(timedelta(hours=24))
    apply(domain, Outcome.NOT_FOUND)
    domain.refresh_from_db()
    assert domain.status == Domain.Status.REVALIDATION_REQUIRED
    assert domain.failing_since == clock.now()
    assert domain.grace_deadline == clock.now() + timedelta(days=30)
    assert domain.next_check_at == clock.now() + lifecycle.FAILING_RECHECK_INTERVAL
    event = AuditEvent.objects.get(action="domain.failing")
    assert event.actor_kind == AuditEvent.ActorKind.SCHEDULE
    assert event.detail["outcome"] == Outcome.NOT_FOUND
    assert event.detail["detail"] == "No TXT record at _twilio.example."


def test_mismatch_is_definitive_too(clock):
    domain = DomainFactory(organization=OrganizationFactory(name="Acme", owner="owner@owners.test"), name="example.test")
    clock.advance(timedelta(hours=24))
    apply(domain, Outcome.MISMATCH)
    domain.refresh_from_db()
    assert domain.status == Domain.Status.REVALIDATION_REQUIRED


def test_inconclusive_for_71h_keeps_verified_72h_starts_grace(clock):
    domain = DomainFactory(organization=OrganizationFactory(name="Acme", owner="owner@owners.test"), name="example.test")
    clock.advance(timedelta(hours=24))
    started = clock.now()
    apply(domain, Outcome.INCONCLUSIVE)
    domain.refresh_from_db()
    assert domain.status == Domain.Status.VERIFIED
    assert domain.inconclusive_since == started
    assert domain.next_check_at == started + lifecycle.INCONCLUSIVE_RETRY

    clock.set_now(started + timedelta(hours=71))
    apply(domain, Outcome.INCONCLUSIVE)
    domain.refresh_from_db()
    assert domain.status == Domain.Status.VERIFIED

    clock.set_now(started + timedelta(hours=72))
    apply(domain, Outcome.INCONCLUSIVE)
    domain.refresh_from_db()
    assert domain.status == Domain.Status.REVALIDATION_REQUIRED
    assert domain.grace_deadline == clock.now() + timedelta(days=30)


def test_a_success_resets_the_inconclusive_streak(clock):
    domain = DomainFactory(organization=OrganizationFactory(name="Acme", owner="owner@owners.test"), name="example.test")
    clock.advance(timedelta(hours=24))
    apply(domain, Outcome.INCONCLUSIVE)
    clock.advance(timedelta(hours=70))
    apply(domain, Outcome.VERIFIED)
    clock.advance(timedelta(hours=24))
    apply(domain, Outcome.INCONCLUSIVE)
    domain.refresh_from_db()
    assert domain.status == Domain.Status.VERIFIED
    assert domain.inconclusive_since == clock.now()


def test_inconclusive_never_revokes_a_failing_domain_nor_restores_it(clock):
    domain = DomainFactory(organization=OrganizationFactory(name="Acme", owner="owner@owners.test"), failing=True, name="example.test")
    deadline = domain.grace_deadline
    clock.advance(timedelta(hours=6))
    apply(domain, Outcome.INCONCLUSIVE)
    domain.refresh_from_db()
    assert domain.status == Domain.Status.REVALIDATION_REQUIRED
    assert domain.grace_deadline == deadline


def test_success_during_grace_restores_verified(clock):
    domain = DomainFactory(organization=OrganizationFactory(name="Acme", owner="owner@owners.test"), failing=True, name="example.test", reminders_sent=[30])
    clock.advance(timedelta(hours=6))
    apply(domain, Outcome.VERIFIED)
    domain.refresh_from_db()
    assert domain.status == Domain.Status.VERIFIED
    assert domain.failing_since is None and domain.grace_deadline is None
    assert domain.reminders_sent == []
    assert AuditEvent.objects.filter(action="domain.revalidated").count() == 1


def test_pending_backs_off_and_stops_72h_after_the_last_click(clock):
    domain = DomainFactory(organization=OrganizationFactory(name="Acme", owner="owner@owners.test"), pending=True, name="example.test")
    clicked = clock.now()
    apply(domain, Outcome.NOT_FOUND)
    domain.refresh_from_db()
    assert domain.status == Domain.Status.PENDING
    assert domain.next_check_at == clicked + lifecycle.PENDING_MIN_INTERVAL
    clock.set_now(clicked + timedelta(hours=10))
    apply(domain, Outcome.NOT_FOUND, due=False)
    domain.refresh_from_db()
    assert domain.next_check_at == clock.now() + lifecycle.PENDING_MAX_INTERVAL
    clock.set_now(clicked + timedelta(hours=71, minutes=30))
    apply(domain, Outcome.NOT_FOUND, due=False)
    domain.refresh_from_db()
    assert domain.next_check_at == clicked + timedelta(hours=72)
    clock.set_now(clicked + timedelta(hours=72))
    apply(domain, Outcome.NOT_FOUND, due=False)
    domain.refresh_from_db()
    assert domain.next_check_at is None
    assert domain.status == Domain.Status.PENDING


def test_one_check_per_due_time_and_stale_claims_ignored(clock):
    domain = DomainFactory(organization=OrganizationFactory(name="Acme", owner="owner@owners.test"), name="example.test")
    clock.advance(timedelta(hours=24))
    due = domain.next_check_at
    assert lifecycle.apply_check_result(domain_id=domain.pk, result=check_result(Outcome.VERIFIED), trigger=SCHEDULE, due_at=due)
    # Same due time again (a second worker, a re-delivered task): nothing happens.
    assert lifecycle.apply_check_result(domain_id=domain.pk, result=check_result(Outcome.NOT_FOUND), trigger=SCHEDULE, due_at=due) is None
    domain.refresh_from_db()
    assert domain.status == Domain.Status.VERIFIED
    assert DomainCheck.objects.filter(domain=domain).count() == 1


def test_removed_domain_is_never_checked(clock):
    domain = DomainFactory(organization=OrganizationFactory(name="Acme", owner="owner@owners.test"), removed=True, name="example.test", next_check_at=None)
    assert lifecycle.apply_check_result(domain_id=domain.pk, result=check_result(Outcome.VERIFIED), trigger=SCHEDULE) is None


def test_first_organization_to_verify_wins(clock):
    winner = DomainFactory(organization=OrganizationFactory(name="A", owner="a@a.test"), name="shared.test")
    loser = DomainFactory(organization=OrganizationFactory(name="B", owner="b@b.test"), name="shared.test", pending=True)
    check = apply(loser, Outcome.VERIFIED)
    loser.refresh_from_db()
    assert check is not None
    assert loser.status == Domain.Status.PENDING and loser.next_check_at is None
    assert AuditEvent.objects.filter(action="domain.verification_refused").count() == 1
    winner.refresh_from_db()
    assert winner.status == Domain.Status.VERIFIED


@pytest.mark.parametrize(
    "status,outcomes",
    [
        (Domain.Status.PENDING, [Outcome.VERIFIED]),
        (Domain.Status.VERIFIED, [Outcome.NOT_FOUND]),
        (Domain.Status.VERIFIED, [Outcome.INCONCLUSIVE]),
        (Domain.Status.REVALIDATION_REQUIRED, [Outcome.VERIFIED]),
        (Domain.Status.REVALIDATION_REQUIRED, [Outcome.MISMATCH]),
    ],
)
def test_bulk_path_gives_the_same_state_as_the_single_path(clock, status, outcomes):
    org = OrganizationFactory(name="Acme", owner="owner@owners.test")
    single = DomainFactory(organization=org, name="single.test", status=status)
    bulk = DomainFactory(organization=org, name="bulk.test", status=status)
    for outcome in outcomes:
        apply(single, outcome, due=False)
        lifecycle.apply_check_results_bulk([(bulk.pk, bulk.next_check_at, check_result(outcome))])
    single.refresh_from_db()
    bulk.refresh_from_db()
    for field in lifecycle.TRANSITION_FIELDS:
        assert getattr(single, field) == getattr(bulk, field), field
    assert DomainCheck.objects.filter(domain=bulk, due_at__isnull=False).count() == 1
    actions = sorted(AuditEvent.objects.filter(target_type="domain").values_list("target_id", "action"))
    assert [a for t, a in actions if t == str(single.pk)] == [a for t, a in actions if t == str(bulk.pk)]


def test_one_batch_of_mixed_results_gives_each_domain_the_single_path_state(clock):
    # One batch where some columns hold one value for every row and others differ, some rows
    # change status and others do not: each domain must end as its single-path twin does.
    org = OrganizationFactory(name="Acme", owner="owner@owners.test")
    cases = [
        (Domain.Status.VERIFIED, Outcome.VERIFIED),
        (Domain.Status.VERIFIED, Outcome.NOT_FOUND),
        (Domain.Status.VERIFIED, Outcome.INCONCLUSIVE),
        (Domain.Status.REVALIDATION_REQUIRED, Outcome.VERIFIED),
        (Domain.Status.REVALIDATION_REQUIRED, Outcome.MISMATCH),
        (Domain.Status.PENDING, Outcome.NOT_FOUND),
        (Domain.Status.PENDING, Outcome.VERIFIED),
    ]
    pairs = [
        (
            DomainFactory(organization=org, name=f"single{i}.test", status=status),
            DomainFactory(organization=org, name=f"bulk{i}.test", status=status),
            outcome,
        )
        for i, (status, outcome) in enumerate(cases)
    ]
    for single, _bulk, outcome in pairs:
        apply(single, outcome, due=False)
    written = lifecycle.apply_check_results_bulk([(b.pk, b.next_check_at, check_result(o)) for _s, b, o in pairs])
    assert written.applied == len(cases)
    for single, bulk, result in pairs:
        single.refresh_from_db()
        bulk.refresh_from_db()
        for field in lifecycle.TRANSITION_FIELDS:
            assert getattr(single, field) == getattr(bulk, field), (bulk.name, field)
        assert list(DomainCheck.objects.filter(domain=bulk).values_list("outcome", flat=True)) == [result]


def test_bulk_path_skips_stale_and_duplicate_due_times(clock):
    org = OrganizationFactory(name="Acme", owner="owner@owners.test")
    domain = DomainFactory(organization=org, name="example.test")
    clock.advance(timedelta(hours=24))
    due = domain.next_check_at
    first = lifecycle.apply_check_results_bulk([(domain.pk, due, check_result(Outcome.VERIFIED))])
    again = lifecycle.apply_check_results_bulk([(domain.pk, due, check_result(Outcome.NOT_FOUND))])
    assert (first.applied, again.applied, again.skipped) == (1, 0, 1)
    domain.refresh_from_db()
    assert domain.status == Domain.Status.VERIFIED


def test_bulk_batch_costs_a_fixed_number_of_queries(clock, django_assert_max_num_queries):
    org = OrganizationFactory(name="Acme", owner="owner@owners.test")
    MembershipFactory(organization=org, user__email="admin@owners.test")
    domains = [DomainFactory(organization=org, name=f"d{i}.test") for i in range(30)]
    clock.advance(timedelta(hours=24))
    items = [(d.pk, d.next_check_at, check_result(Outcome.NOT_FOUND if i % 2 else Outcome.VERIFIED)) for i, d in enumerate(domains)]
    # 6, +2 for the e-mails about the 15 changes (their admins and their records, one statement
    # each), +1 per kind of transition announced to the webhooks outbox (finding the endpoints),
    # +1 for the SSO requirements of the domains that lapsed (audited as suspended).
    with django_assert_max_num_queries(10):
        outcome = lifecycle.apply_check_results_bulk(items)
    assert outcome.applied == 30
    assert Domain.objects.filter(status=Domain.Status.REVALIDATION_REQUIRED).count() == 15
    assert AuditEvent.objects.filter(action="domain.failing").count() == 15
