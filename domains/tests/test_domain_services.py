"""Rules of adding, verifying, configuring and deleting domains (domains.services)."""

import pytest
from django.db import IntegrityError, transaction

from console.errors import ConsoleError
from console.models import AuditEvent
from console.tests.factories import OrganizationFactory, admin_of
from domains import checking, services
from domains.models import Domain
from domains.tests.factories import DomainFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_and_org():
    return admin_of(OrganizationFactory(name="Acme Corp"), "owner@acme-corp.example")


def test_add_normalises_and_schedules_first_background_check(clock, owner_and_org):
    owner, organization = owner_and_org
    domain, notes = services.add_domain(organization=organization, text="  https://Acme.TEST./login ", actor=owner)
    assert domain.name == "acme.test"
    assert domain.status == Domain.Status.PENDING
    assert domain.created_by == owner
    assert domain.last_verify_click_at == clock.now()
    assert (domain.next_check_at - clock.now()).total_seconds() == 60
    assert len(domain.token) == 32
    assert notes, "taking the domain out of a URL is explained"
    event = AuditEvent.objects.get(action="domain.added")
    assert event.organization == organization and event.actor_user == owner and event.target_id == str(domain.pk)


def test_idn_is_stored_as_punycode_and_shown_in_unicode(owner_and_org):
    owner, organization = owner_and_org
    domain, _ = services.add_domain(organization=organization, text="Bücher.test", actor=owner)
    assert domain.name == "xn--bcher-kva.test"
    assert domain.unicode_name == "bücher.test"


@pytest.mark.parametrize("text", ["", "gmail.com", "co.uk", "192.0.2.1", "localhost", "a" * 64 + ".test"])
def test_name_rules_refuse_with_a_message_and_add_nothing(owner_and_org, text):
    owner, organization = owner_and_org
    with pytest.raises(ConsoleError) as error:
        services.add_domain(organization=organization, text=text, actor=owner)
    assert str(error.value.message)
    assert not Domain.objects.exists()
    assert not AuditEvent.objects.filter(action="domain.added").exists()


def test_limit_per_organization(settings, owner_and_org):
    settings.DOMAIN_MAX_PER_ORGANIZATION = 3
    owner, organization = owner_and_org
    for index in range(3):
        services.add_domain(organization=organization, text=f"d{index}.test", actor=owner)
    with pytest.raises(ConsoleError) as error:
        services.add_domain(organization=organization, text="d3.test", actor=owner)
    assert error.value.code == "limit"
    assert "3" in error.value.message
    # Removed domains do not count.
    services.delete_domain(domain=Domain.objects.get(name="d0.test"), actor=owner)
    services.add_domain(organization=organization, text="d3.test", actor=owner)
    assert Domain.objects.active().filter(organization=organization).count() == 3


def test_duplicate_in_the_same_organization_says_which_status_and_points_to_it(owner_and_org):
    owner, organization = owner_and_org
    existing = DomainFactory(organization=organization, name="acme.test")
    with pytest.raises(services.DomainAlreadyAdded) as error:
        services.add_domain(organization=organization, text="ACME.test", actor=owner)
    assert error.value.domain == existing
    assert "Verified" in error.value.message
    assert Domain.objects.count() == 1


@pytest.mark.parametrize("status", [Domain.Status.VERIFIED, Domain.Status.REVALIDATION_REQUIRED])
def test_domain_held_by_another_organization_is_refused_without_naming_it(owner_and_org, status):
    owner, organization = owner_and_org
    _, other = admin_of(OrganizationFactory(name="Globex Secret Name"), "owner@globex.example")
    DomainFactory(organization=other, name="acme.test", status=status)
    with pytest.raises(ConsoleError) as error:
        services.add_domain(organization=organization, text="acme.test", actor=owner)
    assert error.value.code == "held_elsewhere"
    assert error.value.message == (
        "This domain has been verified by another organization. If you own it, contact support."
    )
    assert "Globex" not in error.value.message
    assert not Domain.objects.filter(organization=organization).exists()


def test_two_organizations_may_both_hold_a_name_pending_with_different_tokens(owner_and_org):
    owner, organization = owner_and_org
    other_owner, other = admin_of(OrganizationFactory(name="Globex"), "owner@globex.example")
    first, _ = services.add_domain(organization=organization, text="shared.test", actor=owner)
    second, _ = services.add_domain(organization=other, text="shared.test", actor=other_owner)
    assert first.status == second.status == Domain.Status.PENDING
    assert first.token != second.token


def test_subdomain_may_be_verified_by_another_organization_than_its_parent(owner_and_org):
    owner, organization = owner_and_org
    _, other = admin_of(OrganizationFactory(name="Globex"), "owner@globex.example")
    DomainFactory(organization=other, name="acme.test")
    domain, _ = services.add_domain(organization=organization, text="eu.acme.test", actor=owner)
    domain.status = Domain.Status.VERIFIED
    domain.save()  # the database allows it: the one-holder rule is per exact name
    assert Domain.objects.held().filter(name__endswith="acme.test").count() == 2


def test_database_refuses_a_second_holder_of_the_same_name(owner_and_org):
    _, organization = owner_and_org
    _, other = admin_of(OrganizationFactory(name="Globex"), "owner@globex.example")
    DomainFactory(organization=organization, name="acme.test")
    with pytest.raises(IntegrityError), transaction.atomic():
        DomainFactory(organization=other, name="acme.test", failing=True)


def test_re_adding_after_delete_gives_a_new_token_and_remembers_the_old_ones(owner_and_org):
    owner, organization = owner_and_org
    first, _ = services.add_domain(organization=organization, text="acme.test", actor=owner)
    services.delete_domain(domain=first, actor=owner)
    second, _ = services.add_domain(organization=organization, text="acme.test", actor=owner)
    services.delete_domain(domain=second, actor=owner)
    third, _ = services.add_domain(organization=organization, text="acme.test", actor=owner)
    assert len({first.token, second.token, third.token}) == 3
    assert set(checking.old_tokens_of([third])[(organization.pk, "acme.test")]) == {first.token, second.token}
    # Another organization's old rows are not ours to report.
    other_owner, other = admin_of(OrganizationFactory(name="Globex"), "owner@globex.example")
    theirs, _ = services.add_domain(organization=other, text="acme.test", actor=other_owner)
    assert (other.pk, "acme.test") not in checking.old_tokens_of([theirs])
    assert theirs.token not in {first.token, second.token, third.token}


def test_delete_keeps_a_record_with_the_reason_and_stops_checks(clock, owner_and_org):
    owner, organization = owner_and_org
    domain = DomainFactory(organization=organization, name="acme.test", next_check_at=clock.now())
    services.delete_domain(domain=domain, actor=owner)
    domain.refresh_from_db()
    assert domain.status == Domain.Status.REMOVED
    assert domain.removed_at == clock.now()
    assert domain.removal_reason == f"Deleted by {owner.email}"
    assert domain.next_check_at is None
    assert AuditEvent.objects.filter(action="domain.deleted", target_id=str(domain.pk), actor_user=owner).exists()
    with pytest.raises(ConsoleError):
        services.delete_domain(domain=domain, actor=owner)


def test_method_and_settings_changes_are_audited_once(owner_and_org):
    owner, organization = owner_and_org
    domain = DomainFactory(organization=organization, name="acme.test", pending=True)
    services.choose_method(domain=domain, method=Domain.Method.HTTPS, actor=owner)
    services.choose_method(domain=domain, method=Domain.Method.HTTPS, actor=owner)
    assert Domain.objects.get(pk=domain.pk).method == Domain.Method.HTTPS
    assert AuditEvent.objects.filter(action="domain.method_changed").count() == 1
    with pytest.raises(ConsoleError):
        services.choose_method(domain=domain, method="ftp", actor=owner)

    assert domain.auto_add_new_users is False  # off until an admin decides
    services.update_settings(domain=domain, auto_add_new_users=True, actor=owner)
    services.update_settings(domain=domain, auto_add_new_users=True, actor=owner)
    assert Domain.objects.get(pk=domain.pk).auto_add_new_users is True
    event = AuditEvent.objects.get(action="domain.settings_changed")
    assert event.detail == {"auto_add_new_users": True} and event.actor_user == owner


def test_verify_now_refuses_a_removed_domain(owner_and_org):
    owner, organization = owner_and_org
    domain = DomainFactory(organization=organization, name="acme.test", removed=True)
    with pytest.raises(ConsoleError):
        services.verify_now(domain=domain, actor=owner)
