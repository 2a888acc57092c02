"""Test data for domains: one factory per model, reading the project clock."""

from datetime import timedelta

import factory

from console import clock
from console.messages import Message
from console.tests.factories import OrganizationFactory, UserFactory
from domains import rules
from domains.models import Domain, DomainCheck, RemovedMember
from domains.verifiers import CheckResult

Outcome = DomainCheck.Outcome


class DomainFactory(factory.django.DjangoModelFactory):
    """A verified domain by default; traits `pending`, `failing` (re-validation required, the
    grace period running from now) and `removed`."""

    class Meta:
        model = Domain

    class Params:
        pending = factory.Trait(
            status=Domain.Status.PENDING,
            verified_at=None,
            next_check_at=factory.LazyFunction(clock.now),
            last_verify_click_at=factory.LazyFunction(clock.now),
        )
        failing = factory.Trait(
            status=Domain.Status.REVALIDATION_REQUIRED,
            verified_at=factory.LazyFunction(lambda: clock.now() - timedelta(days=60)),
            failing_since=factory.LazyFunction(clock.now),
            grace_deadline=factory.LazyFunction(lambda: clock.now() + rules.GRACE_PERIOD),
            next_check_at=factory.LazyFunction(lambda: clock.now() + rules.FAILING_RECHECK_INTERVAL),
        )
        removed = factory.Trait(
            status=Domain.Status.REMOVED,
            next_check_at=None,
            removed_at=factory.LazyFunction(clock.now),
            removal_reason="Deleted",
        )

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"domain{n}.example")
    unicode_name = factory.LazyAttribute(lambda o: o.name)
    status = Domain.Status.VERIFIED
    created_at = factory.LazyFunction(clock.now)
    verified_at = factory.LazyFunction(clock.now)
    next_check_at = factory.LazyFunction(lambda: clock.now() + rules.RECHECK_INTERVAL)


class DomainCheckFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DomainCheck

    domain = factory.SubFactory(DomainFactory)
    checked_at = factory.LazyFunction(clock.now)
    method = Domain.Method.DNS
    outcome = DomainCheck.Outcome.VERIFIED
    detail = "The TXT record was found."
    trigger = DomainCheck.Trigger.SCHEDULE


class RemovedMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RemovedMember

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    domain_name = "example.com"
    role = "member"
    removed_at = factory.LazyFunction(clock.now)


def check_result(outcome: str) -> CheckResult:
    """A verifier's result with the given outcome (what the lifecycle tests feed it)."""
    text = {
        Outcome.VERIFIED: "The TXT record was found.",
        Outcome.NOT_FOUND: "No TXT record at %(host)s.",
        Outcome.MISMATCH: "Other TXT values were found.",
        Outcome.INCONCLUSIVE: "The DNS server did not answer in time.",
    }[outcome]
    params = {"host": "_twilio.example"} if "%(" in text else {}
    return CheckResult(outcome, Message(text, params), (Message("Check the host field."),))
