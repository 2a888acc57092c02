"""Becoming a managed user through a verified domain: add user (service and page) and auto-add
after sign-up, all through the one admission rule."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from console import registration
from console.errors import ConsoleError
from console.models import Account, AuditEvent, Membership, User
from console.tests.factories import AccountFactory, MembershipFactory, OrganizationFactory, UserFactory
from domains.members import add_member
from domains.tests.factories import DomainFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-and-unusual-passphrase-42"


def test_add_member_refuses_an_address_at_a_domain_the_organization_has_not_verified(organization, owner):
    with pytest.raises(ConsoleError) as error:
        add_member(organization=organization, email="new@unverified.test", role="member", actor=owner)
    assert error.value.code == "domain_not_verified"
    assert "unverified.test" in error.value.message
    assert not User.objects.filter(email="new@unverified.test").exists()


@pytest.mark.parametrize(
    ("status", "code"), [("pending", "domain_pending"), ("failing", "domain_revalidation_required")]
)
def test_add_member_refuses_pending_and_lapsed_domains(organization, owner, status, code):
    DomainFactory(organization=organization, name="example.com", **{status: True})
    with pytest.raises(ConsoleError) as error:
        add_member(organization=organization, email="new@example.com", role="member", actor=owner)
    assert error.value.code == code


def test_add_member_invites_an_unknown_address_with_a_set_password_link(
    organization, owner, django_capture_on_commit_callbacks
):
    DomainFactory(organization=organization, name="example.com")
    with django_capture_on_commit_callbacks(execute=True):
        membership = add_member(
            organization=organization, email="New.Person@EXAMPLE.com", role="administrator", actor=owner
        )
    user = membership.user
    assert user.email == "New.Person@example.com"
    assert not user.has_usable_password() and not user.email_verified
    assert (membership.role, membership.joined_via, membership.via_domain) == (
        "administrator",
        "invited",
        "example.com",
    )
    assert AuditEvent.objects.filter(action="user.invited", organization=organization, actor_user=owner).exists()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["New.Person@example.com"]
    assert "/set-password/" in mail.outbox[0].body


def test_add_member_makes_an_independent_user_managed_with_their_accounts(
    organization, owner, django_capture_on_commit_callbacks
):
    DomainFactory(organization=organization, name="example.com")
    user = UserFactory(email="indie@example.com")
    accounts = AccountFactory.create_batch(2, owner=user)
    with django_capture_on_commit_callbacks(execute=True):
        add_member(organization=organization, email="indie@example.com", role="member", actor=owner)
    assert Membership.objects.get(user=user).organization == organization
    assert set(Account.objects.filter(organization=organization, owner=user)) == set(accounts)
    assert mail.outbox[0].to == ["indie@example.com"]


def test_add_member_refuses_a_user_managed_by_another_organization(organization, owner):
    DomainFactory(organization=organization, name="example.com")
    elsewhere = MembershipFactory(user__email="taken@example.com")
    with pytest.raises(ConsoleError) as error:
        add_member(organization=organization, email="taken@example.com", role="member", actor=owner)
    assert error.value.code == "managed_elsewhere"
    assert Membership.objects.get(user=elsewhere.user).organization == elsewhere.organization


def test_add_member_refuses_existing_member_deactivated_and_unverified_users(organization, owner):
    DomainFactory(organization=organization, name="example.com")
    UserFactory(email="off@example.com", is_active=False)
    UserFactory(email="unverified@example.com", email_verified=False)
    codes = {}
    for email in ("owner@example.com", "off@example.com", "unverified@example.com"):
        with pytest.raises(ConsoleError) as error:
            add_member(organization=organization, email=email, role="member", actor=owner)
        codes[email] = error.value.code
    assert codes == {
        "owner@example.com": "already_member",
        "off@example.com": "deactivated",
        "unverified@example.com": "email_not_verified",
    }


def test_only_an_owner_may_grant_the_owner_role(organization):
    DomainFactory(organization=organization, name="example.com")
    MembershipFactory(organization=organization, role=Membership.Role.OWNER)
    administrator = MembershipFactory(organization=organization, role=Membership.Role.ADMINISTRATOR).user
    with pytest.raises(ConsoleError) as error:
        add_member(organization=organization, email="boss@example.com", role="owner", actor=administrator)
    assert error.value.code == "owner_only"


def test_add_user_page_shows_the_admission_error(admin_client):
    response = admin_client.post(reverse("members:add"), {"email": "someone@elsewhere.test", "role": "member"})
    assert response.status_code == 200
    assert "elsewhere.test is not a verified domain of this organization" in response.content.decode()


def test_add_user_page_adds_at_a_verified_domain(admin_client, organization, django_capture_on_commit_callbacks):
    DomainFactory(organization=organization, name="example.com")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("members:add"), {"email": "new@example.com", "role": "member"})
    assert response.status_code == 302
    assert Membership.objects.filter(organization=organization, user__email="new@example.com").exists()


def test_the_link_page_verifies_only_on_post_and_says_who_manages_the_user(client, django_capture_on_commit_callbacks):
    organization = OrganizationFactory(name="Corp Inc")
    DomainFactory(organization=organization, name="corp.test", auto_add_new_users=True)
    user = UserFactory(email="joiner@corp.test", email_verified=False)
    url = reverse("console:verify_email", args=[registration.email_verification_token(user)])
    response = client.get(url)
    assert response.status_code == 200
    user.refresh_from_db()
    assert not user.email_verified  # a link scanner's GET verifies nothing
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url)
    assert response.status_code == 200
    assert "joiner@corp.test is verified" in response.text and "managed by Corp Inc" in response.text
    user.refresh_from_db()
    assert user.email_verified
    assert client.post(reverse("console:verify_email", args=["not-a-token"])).status_code == 400


def test_verification_auto_adds_to_the_organization_holding_the_domain(django_capture_on_commit_callbacks):
    organization = OrganizationFactory()
    DomainFactory(organization=organization, name="corp.test", auto_add_new_users=True)
    user = UserFactory(email="joiner@corp.test", email_verified=False)
    account = AccountFactory(owner=user)
    with django_capture_on_commit_callbacks(execute=True):
        registration.verify_email(token=registration.email_verification_token(user))
    membership = Membership.objects.get(user=user)
    assert (membership.organization, membership.role) == (organization, "member")
    assert (membership.joined_via, membership.via_domain) == ("auto_added", "corp.test")
    account.refresh_from_db()
    assert account.organization == organization
    assert AuditEvent.objects.filter(action="user.auto_added", organization=organization).exists()
    assert any("managed by" in message.body for message in mail.outbox)


def test_no_auto_add_when_the_setting_is_off_or_the_domain_is_only_pending():
    off = OrganizationFactory()
    DomainFactory(organization=off, name="off.test", auto_add_new_users=False)
    pending = OrganizationFactory()
    DomainFactory(organization=pending, name="pending.test", pending=True)
    for email in ("a@off.test", "b@pending.test"):
        user = UserFactory(email=email, email_verified=False)
        registration.verify_email(token=registration.email_verification_token(user))
        assert not Membership.objects.filter(user=user).exists()


def test_a_domain_needing_revalidation_refuses_auto_add_and_says_why():
    organization = OrganizationFactory()
    DomainFactory(organization=organization, name="lapsed.test", failing=True, auto_add_new_users=True)
    user = UserFactory(email="joiner@lapsed.test", email_verified=False)
    registration.verify_email(token=registration.email_verification_token(user))
    assert not Membership.objects.filter(user=user).exists()
    event = AuditEvent.objects.get(action="user.auto_add_refused")
    assert event.organization == organization
    assert event.detail["code"] == "domain_revalidation_required"
    assert "re-validation" in event.detail["reason"]


def test_invitation_link_sets_the_password_and_verifies_the_address(client, django_capture_on_commit_callbacks):
    organization = OrganizationFactory()
    DomainFactory(organization=organization, name="corp.test")
    with django_capture_on_commit_callbacks(execute=True):
        membership = add_member(
            organization=organization, email="invitee@corp.test", role="member", actor=None
        )
    link = re.search(r"https?://\S+/set-password/\S+/", mail.outbox[0].body).group(0)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    response = client.get(path, follow=True)
    assert response.status_code == 200 and response.context["validlink"]
    response = client.post(response.redirect_chain[-1][0], {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert response.status_code == 302
    user = User.objects.get(pk=membership.user_id)
    assert user.email_verified and user.check_password(PASSWORD)


def test_a_refusal_at_one_of_our_domains_links_to_where_it_is_fixed(admin_client, organization):
    pending = DomainFactory(organization=organization, name="pending.test", pending=True)
    response = admin_client.post(reverse("members:add"), {"email": "new@pending.test", "role": "member"})
    body = response.content.decode()
    assert response.status_code == 200 and not User.objects.filter(email="new@pending.test").exists()
    assert f'href="{reverse("domains:verify", args=[pending.pk])}">Go to pending.test</a>' in body
