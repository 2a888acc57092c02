"""Each state change is announced once, by its one home, inside its transaction: one outbox row
per event for each enabled endpoint that wants it."""

from datetime import timedelta

import pytest

from api import tokens
from api.models import Scope
from console import services as console_services
from console.models import Membership
from console.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from domains import expiry, lifecycle, members, reminders, scheduler
from domains import services as domain_services
from domains.models import DomainCheck
from domains.tests.factories import DomainFactory, check_result
from domains.verifiers import Outcome
from imports import services as import_services
from imports.models import ImportJob
from webhooks.models import Delivery, Event
from webhooks.tests.factories import EndpointFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_jitter(settings):
    settings.DOMAIN_RECHECK_JITTER_SECONDS = 0


@pytest.fixture
def org(db):
    organization = OrganizationFactory(name="Acme", features=["bulk_user_import"])
    organization.admin = MembershipFactory(
        organization=organization, role=Membership.Role.OWNER, user__email="owner@acme.test"
    ).user
    EndpointFactory(organization=organization)
    return organization


def events_of(event_type):
    return [event.payload for event in Event.objects.filter(type=event_type).order_by("pk")]


def check(domain, outcome):
    domain.refresh_from_db()
    return lifecycle.apply_check_result(
        domain_id=domain.pk, result=check_result(outcome), trigger=DomainCheck.Trigger.SCHEDULE, due_at=domain.next_check_at
    )


def test_the_domain_lifecycle_is_announced_once_per_transition(clock, org):
    domain = DomainFactory(organization=org, pending=True, name="acme.test")
    check(domain, Outcome.VERIFIED)
    clock.advance(timedelta(hours=24))
    check(domain, Outcome.NOT_FOUND)
    (failed,) = events_of("domain.check_failed")
    assert failed["data"]["check"]["outcome"] == "not_found"
    assert failed["data"]["grace_deadline"] == (clock.now() + timedelta(days=30)).isoformat()
    assert failed["data"]["domain"]["status"] == "revalidation_required"
    clock.advance(timedelta(hours=6))
    check(domain, Outcome.VERIFIED)
    assert [len(events_of(t)) for t in ("domain.verified", "domain.check_failed", "domain.revalidated")] == [1, 1, 1]
    # A repeated result for the same due time changes nothing and announces nothing.
    assert lifecycle.apply_check_result(
        domain_id=domain.pk, result=check_result(Outcome.VERIFIED), trigger=DomainCheck.Trigger.SCHEDULE,
        due_at=clock.now() - timedelta(hours=1),
    ) is None
    assert Event.objects.filter(type__startswith="domain.").count() == 3


def test_the_scheduled_sweep_announces_through_the_bulk_path(clock, org):
    domains = [DomainFactory(organization=org, name=f"d{i}.test", next_check_at=clock.now()) for i in range(3)]
    outcome = lifecycle.apply_check_results_bulk(
        [(d.pk, d.next_check_at, check_result(Outcome.NOT_FOUND)) for d in domains], trigger=scheduler.DomainCheck.Trigger.SCHEDULE
    )
    assert len(outcome.events) == 3
    assert sorted(p["data"]["domain"]["name"] for p in events_of("domain.check_failed")) == ["d0.test", "d1.test", "d2.test"]


def test_added_reminder_expired_and_deleted(clock, org, settings):
    domain, _ = domain_services.add_domain(organization=org, text="Acme-Corp.org", actor=org.admin)
    assert events_of("domain.added")[0]["data"]["domain"]["name"] == "acme-corp.org"
    lapsing = DomainFactory(organization=org, failing=True, name="lapsing.test")
    leaver = MembershipFactory(organization=org, user__email="leaver@lapsing.test").user
    clock.advance(timedelta(days=29, hours=1))
    reminders.send_due_reminders()
    (reminder,) = events_of("domain.reminder")
    assert reminder["data"]["days_left"] == 1
    clock.advance(timedelta(days=1))
    expiry.expire_domain(domain_id=lapsing.pk)
    (expired,) = events_of("domain.expired")
    assert expired["data"]["users_removed"] == [{"id": leaver.pk, "email": "leaver@lapsing.test"}]
    assert expired["data"]["domain"]["status"] == "removed"
    (removed,) = events_of("member.removed")
    assert removed["data"]["user"]["email"] == "leaver@lapsing.test"
    domain_services.delete_domain(domain=domain, actor=org.admin)
    (deleted,) = events_of("domain.deleted")
    assert deleted["data"]["previous_status"] == "pending"


def test_members_joining_say_how(clock, org):
    domain = DomainFactory(organization=org, name="acme.test", auto_add_new_users=True)
    existing = UserFactory(email="existing@acme.test")
    members.add_member(organization=org, email="existing@acme.test", role="member", actor=org.admin)
    members.add_member(organization=org, email="new@acme.test", role="administrator", actor=org.admin)
    newcomer = UserFactory(email="newcomer@acme.test")
    members.auto_add(user=newcomer)
    added = events_of("member.added")
    assert [(p["data"]["user"]["email"], p["data"]["how"], p["data"]["role"]) for p in added] == [
        ("existing@acme.test", "invited", "member"),
        ("new@acme.test", "invited", "administrator"),
        ("newcomer@acme.test", "auto_added", "member"),
    ]
    assert all(p["data"]["via_domain"] == domain.name for p in added)
    console_services.remove_member(membership=existing.membership, actor=org.admin)
    assert events_of("member.removed")[0]["data"]["user"]["id"] == existing.pk


def test_an_import_announces_its_report_its_members_and_its_end(clock, org):
    domain = DomainFactory(organization=org, name="acme.test")
    people = [UserFactory(email=f"person{i}@acme.test") for i in range(3)]
    job = import_services.create_report_job(domain=domain, actor=org.admin, enqueue=False)
    import_services.build_report(job.pk)
    assert events_of("import.report_ready")[0]["data"] == {
        "import_job": {"id": job.pk, "domain": "acme.test"}, "rows": 3, "eligible": 3,
    }
    import_services.start_import(job=ImportJob.objects.get(pk=job.pk), actor=org.admin, enqueue=False)
    import_services.run_import(job.pk)
    assert sorted(p["data"]["how"] for p in events_of("member.added")) == ["imported"] * 3
    # Each member's own id and address, as read under the import's lock on the user.
    assert sorted((p["data"]["user"]["id"], p["data"]["user"]["email"]) for p in events_of("member.added")) == sorted(
        (person.pk, person.email) for person in people
    )
    assert events_of("import.completed")[0]["data"]["imported"] == 3


def test_api_tokens(clock, org):
    token, _secret = tokens.create_token(
        organization=org, name="CI", scopes=[Scope.DOMAINS_READ], created_by=org.admin, actor=org.admin
    )
    tokens.revoke_token(token=token, actor=org.admin)
    tokens.revoke_token(token=token, actor=org.admin)  # already revoked: announced once
    assert events_of("api_token.created")[0]["data"]["token"]["name"] == "CI"
    assert len(events_of("api_token.revoked")) == 1


def test_nothing_is_written_for_an_organization_without_endpoints(clock):
    lonely = OrganizationFactory(name="Lonely")
    admin = MembershipFactory(organization=lonely, role=Membership.Role.OWNER).user
    domain_services.add_domain(organization=lonely, text="lonely.org", actor=admin)
    assert Event.objects.count() == 0


def test_a_disabled_endpoint_gets_no_outbox_rows_and_every_endpoint_its_own(clock, org):
    EndpointFactory(organization=org, enabled=False)
    EndpointFactory(organization=org)
    domain_services.add_domain(organization=org, text="acme-corp.org", actor=org.admin)
    assert Event.objects.count() == 1 and Delivery.objects.count() == 2
