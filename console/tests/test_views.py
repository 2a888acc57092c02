"""The Admin Center pages: who gets in, isolation between organizations, CSRF, list sizes."""

import pytest
from django.urls import reverse

from console.models import Account, AuditEvent, Membership
from console.tests.factories import (
    AccountFactory,
    AuditEventFactory,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


ADMIN_PAGES = ["console:home", "console:users", "members:add", "console:accounts", "console:audit"]


@pytest.mark.parametrize("name", ADMIN_PAGES)
def test_admin_pages_open_for_owners_and_administrators(client, organization, name):
    for role in (Membership.Role.OWNER, Membership.Role.ADMINISTRATOR):
        client.force_login(MembershipFactory(organization=organization, role=role).user)
        response = client.get(reverse(name))
        assert response.status_code == 200, (role, name)
        assert b"Need help?" in response.content


@pytest.mark.parametrize("name", ADMIN_PAGES)
def test_members_and_independent_users_get_a_plain_403_page(client, organization, name):
    client.force_login(MembershipFactory(organization=organization, role=Membership.Role.MEMBER).user)
    response = client.get(reverse(name))
    assert response.status_code == 403
    assert b"Owners and Administrators can use the Admin Center" in response.content
    client.force_login(UserFactory())
    assert client.get(reverse(name)).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(reverse("console:users"))
    assert response.status_code == 302 and response.url.startswith(reverse("console:login"))


def test_another_organizations_users_and_events_are_404(admin_client, owner):
    other = OrganizationFactory(name="Other Corp")
    stranger = MembershipFactory(organization=other, role=Membership.Role.MEMBER)
    event = AuditEventFactory(organization=other)
    assert admin_client.get(reverse("console:user_remove", args=[stranger.pk])).status_code == 404
    assert admin_client.post(reverse("console:user_remove", args=[stranger.pk])).status_code == 404
    assert (
        admin_client.post(reverse("console:user_change_role", args=[stranger.pk]), {"role": "owner"}).status_code == 404
    )
    assert admin_client.get(reverse("console:audit_detail", args=[event.pk])).status_code == 404
    assert Membership.objects.filter(pk=stranger.pk, role="member").exists()


def test_another_organizations_accounts_and_users_are_not_listed(admin_client, organization):
    other = OrganizationFactory(name="Other Corp")
    MembershipFactory(organization=other, user__email="stranger@other.test")
    AccountFactory(name="Secret other account", organization=other)
    AccountFactory(name="Our account", organization=organization)
    assert b"stranger@other.test" not in admin_client.get(reverse("console:users")).content
    content = admin_client.get(reverse("console:accounts")).content
    assert b"Our account" in content and b"Secret other account" not in content


def test_removing_the_last_owner_through_the_page_is_refused(admin_client, owner):
    response = admin_client.post(reverse("console:user_remove", args=[owner.membership.pk]), follow=True)
    assert "last Owner" in response.content.decode()
    assert Membership.objects.filter(user=owner).exists()


def test_demoting_the_last_owner_through_the_page_is_refused(admin_client, owner):
    response = admin_client.post(
        reverse("console:user_change_role", args=[owner.membership.pk]), {"role": "member"}, follow=True
    )
    assert "last Owner" in response.content.decode()
    assert Membership.objects.get(user=owner).role == "owner"


def test_remove_asks_for_confirmation_then_removes(admin_client, organization):
    member = MembershipFactory(organization=organization, user__email="leaver@example.com")
    AccountFactory(owner=member.user, organization=organization, name="Leaver's workspace")
    page = admin_client.get(reverse("console:user_remove", args=[member.pk]))
    assert b"Leaver&#x27;s workspace" in page.content
    assert Membership.objects.filter(pk=member.pk).exists()
    admin_client.post(reverse("console:user_remove", args=[member.pk]))
    assert not Membership.objects.filter(pk=member.pk).exists()
    assert Account.objects.get(name="Leaver's workspace").organization is None


def test_users_list_searches_filters_and_paginates(admin_client, organization):
    for number in range(60):
        MembershipFactory(organization=organization, user__email=f"person{number:02d}@example.com")
    MembershipFactory(
        organization=organization, role="administrator", user__email="boss@example.com", user__full_name="Zed Boss"
    )
    first = admin_client.get(reverse("console:users"))
    assert len(first.context["page_obj"].object_list) == 50
    second = admin_client.get(reverse("console:users"), {"page": 2})
    assert len(second.context["page_obj"].object_list) == 12
    by_name = admin_client.get(reverse("console:users"), {"q": "zed"})
    assert [m.user.email for m in by_name.context["page_obj"]] == ["boss@example.com"]
    by_role = admin_client.get(reverse("console:users"), {"role": "owner"})
    assert [m.user.email for m in by_role.context["page_obj"]] == ["owner@example.com"]


def _user_row(body: str, email: str) -> str:
    return next(row for row in body.split("<tr>") if row.startswith(f"<td>{email}")).split("</tr>", 1)[0]


def test_users_rows_show_roles_actions_and_badges_escaped(admin_client, organization, owner):
    """The rows are built in Python (console/rows.py): the sole Owner has no role form and no
    Remove link, an invitation not yet accepted can be resent, every value is escaped."""
    invited = MembershipFactory(
        organization=organization, joined_via="invited", user__email="new@example.com",
        user__email_verified=False, user__full_name="Ann <b>&</b>",
    )
    invited.user.set_unusable_password()  # the invitation is not accepted yet
    invited.user.save()
    secured = MembershipFactory(
        organization=organization, joined_via="auto_added", via_domain="example.com", user__email="safe@example.com",
        user__two_factor_enabled=True,
    )
    body = admin_client.get(reverse("console:users")).content.decode()
    sole = _user_row(body, owner.email)
    assert '<td>Owner<br><span class="muted">The only Owner</span></td>' in sole
    assert "role-form" not in sole and "/remove/" not in sole and '<span class="muted">—</span>' in sole
    row = _user_row(body, "new@example.com")
    assert 'new@example.com <span class="badge pending">e-mail not verified</span></td><td>Ann &lt;b&gt;&amp;&lt;/b&gt;' in row
    change = reverse("console:user_change_role", args=[invited.pk])
    assert f'<form method="post" action="{change}" class="role-form"><input type="hidden" name="csrfmiddlewaretoken"' in row
    assert '<option value="member" selected>Member</option>' in row
    assert '<span class="visually-hidden"> the role of new@example.com</span>' in row
    resend = reverse("console:user_resend_invitation", args=[invited.pk])
    assert f'<a href="{resend}" class="nowrap">Resend invitation<span class="visually-hidden"> new@example.com</span></a><br>' in row
    assert '<span class="badge pending">Not set up</span>' in row
    row = _user_row(body, "safe@example.com")
    assert 'Added automatically at sign-up <span class="muted">(example.com)</span>' in row
    assert '<span class="badge verified">On</span>' in row and "Resend invitation" not in row
    assert f'<a href="{reverse("console:user_remove", args=[secured.pk])}">Remove' in row
    japanese = admin_client.get(reverse("console:users"), headers={"accept-language": "ja"}).content.decode()
    assert "The only Owner" not in japanese and "Resend invitation" not in japanese and ">Change<" not in japanese


def test_audit_log_filters_by_action_actor_and_date(admin_client, organization, clock):
    from datetime import timedelta

    AuditEventFactory(organization=organization, action="user.added", actor_kind="user", created_at=clock.now())
    AuditEventFactory(
        organization=organization,
        action="domain.verified",
        actor_kind="schedule",
        created_at=clock.now() - timedelta(days=10),
    )
    url = reverse("console:audit")

    def actions(**params):
        return [event.action for event in admin_client.get(url, params).context["page_obj"]]

    assert actions(action="user.added") == ["user.added"]
    assert actions(actor_kind="schedule") == ["domain.verified"]
    day = (clock.now() - timedelta(days=10)).date().isoformat()
    assert actions(date_from=day, date_to=day) == ["domain.verified"]
    today = actions(date_from=clock.now().date().isoformat())
    assert "user.added" in today and "domain.verified" not in today  # (signing in the client is audited too)


def _thousand_members(organization):
    from console.models import User

    users = User.objects.bulk_create(
        [User(email=f"bulk{number:04d}@example.com", email_domain="example.com") for number in range(1000)]
    )
    Membership.objects.bulk_create([Membership(user=user, organization=organization) for user in users])
    Account.objects.bulk_create([Account(name=f"Account {u.pk}", owner=u, organization=organization) for u in users])
    AuditEvent.objects.bulk_create(
        [AuditEvent(organization=organization, actor_kind="user", actor_user=u, action="user.added") for u in users]
    )


@pytest.mark.parametrize("name", ["console:users", "console:accounts", "console:audit", "console:home"])
def test_list_pages_use_a_bounded_number_of_queries_at_1000_users(
    admin_client, organization, name, django_assert_max_num_queries
):
    _thousand_members(organization)
    with django_assert_max_num_queries(10):
        response = admin_client.get(reverse(name))
    assert response.status_code == 200


def test_staff_see_when_background_tasks_last_ran(client, owner):
    from console.tasks import heartbeat

    owner.is_staff = True
    owner.save()
    client.force_login(owner)
    assert b"no background task has run yet" in client.get(reverse("console:users")).content
    heartbeat()
    assert b"background tasks last ran at" in client.get(reverse("console:users")).content
    owner.is_staff = False
    owner.save()
    assert b"System status" not in client.get(reverse("console:users")).content


def test_sign_in_and_out(client, owner):
    response = client.post(
        reverse("console:login"), {"username": "owner@example.com", "password": "a-good-password-123"}
    )
    assert response.status_code == 302
    assert client.get(reverse("console:home")).status_code == 200
    client.post(reverse("console:logout"))
    assert client.get(reverse("console:home")).status_code == 302


def test_sign_in_is_throttled_after_repeated_failures(client, owner, settings):
    from django.core.cache import cache

    cache.clear()
    settings.SIGNIN_FAILURES_PER_ACCOUNT = 3
    for _attempt in range(3):
        response = client.post(reverse("console:login"), {"username": "owner@example.com", "password": "wrong"})
        assert "do not match" in response.content.decode()
    response = client.post(
        reverse("console:login"), {"username": "owner@example.com", "password": "a-good-password-123"}
    )
    assert response.status_code == 200 and "Too many sign-in attempts" in response.content.decode()
    cache.clear()


def test_audit_events_read_as_words_in_the_readers_language(client, owner, organization):
    from console import audit
    from console.models import AuditEvent

    audit.record("domain.failing", organization=organization, actor=owner, target=organization)
    AuditEvent.objects.create(
        organization=organization, actor_kind="system", action="imports.report_ready",
        target_type="importjob", target_id="7", target_repr="Import job 7 for example.com",
    )
    audit.record("something.new", organization=organization, actor=owner)
    client.force_login(owner)
    body = client.get("/audit/").content.decode()
    assert "Domain needs re-validation: its record or file was not found" in body
    assert "Import of users of example.com" in body
    assert "Other event (something.new)" in body
    assert ">domain.failing<" not in body  # no codes in the list
    client.post("/i18n/setlang/", {"language": "ja", "next": "/audit/"})
    body = client.get("/audit/").content.decode()
    assert "ドメインの再検証が必要" in body and "example.com のユーザーのインポート" in body


def test_topbar_read_from_memory_still_shows_the_current_address_and_language(admin_client, owner):
    """The language menu and the address links are kept per process ({% cache … using="fragments" %}),
    keyed by what they show: a changed address or another language is rendered anew."""
    first = admin_client.get(reverse("console:users")).content.decode()
    assert f">{owner.email}</a>" in first and '<option value="en" lang="en" selected>' in first
    owner.email = "renamed@example.com"
    owner.save(update_fields=["email"])
    again = admin_client.get(reverse("console:users")).content.decode()
    assert ">renamed@example.com</a>" in again and "owner@example.com</a>" not in again
    japanese = admin_client.get(reverse("console:users"), headers={"accept-language": "ja"}).content.decode()
    assert '<option value="ja" lang="ja" selected>' in japanese and '<option value="en" lang="en" >' in japanese
    assert ">renamed@example.com</a>" in japanese and ">Security</a>" not in japanese
