"""One path per rule, held across every entry point: the five ways a user becomes managed move
the same accounts and refuse the same people; every status change goes through the writer."""

from datetime import timedelta

import pytest
from django.core.management import call_command

from console import services as console_services
from console.errors import ConsoleError
from console.models import Account, Membership, Organization
from domains import members
from domains.models import Domain
from imports import services
from imports.models import ImportJob, ImportRow
from imports.tests.factories import AccountFactory, DomainFactory, MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def _user_with_three_accounts(email, elsewhere):
    """Two accounts in no organization, one already in another organization (never taken)."""
    user = UserFactory(email=email)
    AccountFactory(owner=user, name="own 1")
    AccountFactory(owner=user, name="own 2")
    AccountFactory(owner=user, name="elsewhere", organization=elsewhere)
    return user


def _moved(user, organization):
    return sorted(Account.objects.filter(owner=user, organization=organization).values_list("name", flat=True))


def test_every_way_in_moves_the_same_accounts(clock, django_capture_on_commit_callbacks):
    """Add user, auto-add at sign-up, bulk import, add-back and the demo data's membership all go
    through console.services.make_managed: the user's accounts in no organization follow."""
    organization = OrganizationFactory(name="Acme", owner="boss@owners.test", features=["bulk_user_import"])
    elsewhere = OrganizationFactory(name="Elsewhere")
    domain = DomainFactory(organization=organization, name="acme.test", auto_add_new_users=True)
    owner = Membership.objects.get(organization=organization).user
    outcomes = {}

    invited = _user_with_three_accounts("invited@acme.test", elsewhere)
    members.add_member(organization=organization, email=invited.email, role="member", actor=owner)
    outcomes["add user"] = _moved(invited, organization)

    joiner = _user_with_three_accounts("joiner@acme.test", elsewhere)
    joiner.email_verified = False
    joiner.save()
    from console import registration

    with django_capture_on_commit_callbacks(execute=True):
        registration.verify_email(token=registration.email_verification_token(joiner))
    outcomes["auto-add"] = _moved(joiner, organization)

    imported = _user_with_three_accounts("imported@acme.test", elsewhere)
    job = services.create_report_job(domain=domain, actor=owner, enqueue=False)
    services.build_report(job.pk)
    services.start_import(job=job, actor=owner, enqueue=False)
    services.run_import(job.pk)
    outcomes["import"] = _moved(imported, organization)

    back = _user_with_three_accounts("back@acme.test", elsewhere)
    console_services.make_managed(organization=organization, user_ids=[back.pk], joined_via="invited")
    console_services.remove_member(membership=Membership.objects.get(user=back), actor=None, notify=False)
    from domains.models import RemovedMember

    RemovedMember.objects.create(organization=organization, user=back, domain_name="acme.test", role="member")
    members.add_back_removed_members(domain=domain, actor=owner)
    outcomes["add back"] = _moved(back, organization)

    assert outcomes == {way: ["own 1", "own 2"] for way in ("add user", "auto-add", "import", "add back")}
    for user in (invited, joiner, imported, back):
        assert Account.objects.get(owner=user, name="elsewhere").organization == elsewhere

    call_command("load_demo_data", verbosity=0)
    demo = Organization.objects.get(name="Example Corp")
    assert Membership.objects.filter(organization=demo).count() >= 5


def test_every_way_in_refuses_the_same_people(clock):
    """The admission rule says the same thing to add user, the import and add-back."""
    organization = OrganizationFactory(name="Acme", owner="boss@owners.test", features=["bulk_user_import"])
    domain = DomainFactory(organization=organization, name="acme.test")
    owner = Membership.objects.get(organization=organization).user
    unverified = UserFactory(email="carol@acme.test", email_verified=False)
    deactivated = UserFactory(email="dave@acme.test", is_active=False)
    elsewhere = MembershipFactory(user__email="erin@acme.test").user
    refusals = {}
    for user in (unverified, deactivated, elsewhere):
        with pytest.raises(ConsoleError) as error:
            members.add_member(organization=organization, email=user.email, role="member", actor=owner)
        refusals[user.email] = error.value.code
    job = services.create_report_job(domain=domain, actor=owner, enqueue=False)
    services.build_report(job.pk)
    report = dict(ImportRow.objects.filter(job=job).values_list("email", "reason"))
    assert refusals == report == {
        "carol@acme.test": "email_not_verified",
        "dave@acme.test": "deactivated",
        "erin@acme.test": "managed_elsewhere",
    }


def test_an_administrator_never_adds_back_an_owner(clock):
    organization = OrganizationFactory(name="Acme", owner="boss@owners.test")
    domain = DomainFactory(organization=organization, name="acme.test")
    administrator = MembershipFactory(organization=organization, role="administrator").user
    former_owner = UserFactory(email="old-owner@acme.test")
    from domains.models import RemovedMember

    RemovedMember.objects.create(organization=organization, user=former_owner, domain_name="acme.test", role="owner")
    outcome = members.add_back_removed_members(domain=domain, actor=administrator)
    assert outcome.added == [] and outcome.skipped[0][0] == "old-owner@acme.test"
    assert "Owner" in outcome.skipped[0][1]
    assert not Membership.objects.filter(user=former_owner).exists()


def test_status_changes_go_only_where_the_machine_allows(clock):
    domain = DomainFactory(name="acme.test", pending=True)
    assert Domain.objects.filter(pk=domain.pk).write_state(to=Domain.Status.REVALIDATION_REQUIRED) == 0
    assert Domain.objects.filter(pk=domain.pk).write_state(to=Domain.Status.REMOVED) == 1
    assert Domain.objects.filter(pk=domain.pk).write_state(to=Domain.Status.VERIFIED) == 0  # removed is final
    assert Domain.objects.filter(pk=domain.pk).write_state(next_check_at=clock.now()) == 0
    job = ImportJob.objects.create(
        organization=domain.organization, domain=domain, domain_name=domain.name, status=ImportJob.Status.REPORT_QUEUED
    )
    assert ImportJob.objects.filter(pk=job.pk).write_state(to=ImportJob.Status.COMPLETED) == 0
    assert ImportJob.objects.filter(pk=job.pk).write_state(to=ImportJob.Status.REPORT_RUNNING) == 1


def test_an_import_that_keeps_stalling_ends_failed_and_can_be_replayed(clock, settings):
    settings.IMPORT_STALL_SECONDS = 60
    settings.IMPORT_MAX_ATTEMPTS = 3
    organization = OrganizationFactory(name="Acme", owner="boss@owners.test", features=["bulk_user_import"])
    domain = DomainFactory(organization=organization, name="acme.test")
    UserFactory(email="alice@acme.test")
    owner = Membership.objects.get(organization=organization).user
    job = services.create_report_job(domain=domain, actor=owner, enqueue=False)
    services.build_report(job.pk)
    services.start_import(job=job, actor=owner, enqueue=False)
    for attempt in range(2):
        clock.advance(timedelta(minutes=2))
        assert services.resume_stalled(enqueue=False) == [job.pk], attempt
    clock.advance(timedelta(minutes=2))
    assert services.resume_stalled(enqueue=False) == []  # the third stall: no endless re-queueing
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and "gave up" in job.error
    replayed = services.replay_import(job_id=job.pk)
    assert replayed.status == ImportJob.Status.IMPORTING and replayed.attempts == 0
    services.run_import(job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMPLETED and job.rows_imported == 1


def test_a_report_nobody_decided_to_import_cannot_be_replayed(clock):
    organization = OrganizationFactory(name="Acme", owner="boss@owners.test", features=["bulk_user_import"])
    domain = DomainFactory(organization=organization, name="acme.test")
    owner = Membership.objects.get(organization=organization).user
    job = services.create_report_job(domain=domain, actor=owner, enqueue=False)
    services.fail_job(job.pk, "broke while building")
    with pytest.raises(ConsoleError):
        services.replay_import(job_id=job.pk)
