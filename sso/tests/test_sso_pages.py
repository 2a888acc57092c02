"""The Owner's single sign-on pages: configuration, per-domain requirement, break-glass Owner;
isolation between organizations, CSRF, Owners only, bad input changes nothing."""

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.models import AuditEvent, Membership
from console.tests.factories import MembershipFactory, OrganizationFactory
from domains.tests.factories import DomainFactory
from sso.models import DomainPolicy, IdentityProvider
from sso.tests.conftest import CLIENT_ID, CLIENT_SECRET

pytestmark = pytest.mark.django_db


def test_the_settings_page_shows_the_values_to_copy(admin_client, settings):
    settings.CONSOLE_BASE_URL = "https://admin.example.net"
    response = admin_client.get(reverse("sso:settings"))
    assert response.status_code == 200
    assert b"https://admin.example.net/sso/oidc/callback/" in response.content
    assert b"https://admin.example.net/sign-in/" in response.content


def test_an_owner_configures_the_provider_through_the_page(admin_client, oidc_provider, domain):
    response = admin_client.post(
        reverse("sso:settings"),
        {"issuer": oidc_provider.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "jit_provisioning": "on"},
    )
    assert response.status_code == 302
    provider = IdentityProvider.objects.get()
    assert provider.jit_provisioning and provider.client_id == CLIENT_ID
    # Saving again without a secret keeps the stored one.
    before = provider.client_secret_encrypted
    admin_client.post(reverse("sso:settings"), {"issuer": oidc_provider.issuer, "client_id": CLIENT_ID})
    provider.refresh_from_db()
    assert provider.client_secret_encrypted == before and not provider.jit_provisioning
    assert AuditEvent.objects.get(action="sso.changed").detail["client_secret_changed"] is False


@pytest.mark.parametrize(
    ("issuer", "message"),
    [
        ("http://127.0.0.1:1/", b"https://"),
        ("https://127.0.0.1:1", b"could not reach"),
        ("https://169.254.169.254", b"private or reserved network"),
        ("https://10.0.0.8/", b"private or reserved network"),
    ],
)
def test_a_bad_issuer_is_explained_and_nothing_is_saved(admin_client, settings, issuer, message):
    settings.HTTPS_ALLOW_LOOPBACK = True
    response = admin_client.post(
        reverse("sso:settings"), {"issuer": issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    )
    assert response.status_code == 200
    assert message in response.content
    assert not IdentityProvider.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="sso.").exists()


def test_a_discovery_document_naming_another_issuer_is_refused(admin_client, oidc_provider):
    response = admin_client.post(
        reverse("sso:settings"),
        {"issuer": oidc_provider.issuer + "/tenant", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )
    assert response.status_code == 200
    assert not IdentityProvider.objects.exists()


def test_requiring_sso_asks_to_confirm_then_applies(admin_client, provider, domain):
    url = reverse("sso:domain_requirement", args=[domain.pk])
    confirm = admin_client.get(url)
    assert confirm.status_code == 200
    assert b"Require single sign-on" in confirm.content
    assert not DomainPolicy.objects.filter(require_sso=True).exists()
    assert admin_client.post(url, {"require_sso": "on"}).status_code == 302
    assert DomainPolicy.objects.get(domain=domain).require_sso
    admin_client.post(url, {"require_sso": "off"})
    assert not DomainPolicy.objects.get(domain=domain).require_sso
    changes = AuditEvent.objects.filter(action="sso.enforcement_changed").order_by("pk")
    assert [event.detail["require_sso"] for event in changes] == [True, False]


def test_only_owners_change_single_sign_on(client, organization, provider, domain):
    administrator = MembershipFactory(organization=organization, role=Membership.Role.ADMINISTRATOR).user
    client.force_login(administrator)
    assert client.get(reverse("sso:settings")).status_code == 403
    response = client.post(reverse("sso:domain_requirement", args=[domain.pk]), {"require_sso": "on"})
    assert response.status_code == 302
    assert not DomainPolicy.objects.filter(require_sso=True).exists()
    assert client.post(reverse("sso:remove")).status_code == 403
    assert IdentityProvider.objects.exists()


def test_another_organizations_domain_is_404_and_its_configuration_unseen(client, provider, domain):
    other = OrganizationFactory(name="Globex")
    other_owner = MembershipFactory(organization=other, role=Membership.Role.OWNER).user
    client.force_login(other_owner)
    url = reverse("sso:domain_requirement", args=[domain.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"require_sso": "on"}).status_code == 404
    page = client.get(reverse("sso:settings"))
    assert provider.issuer.encode() not in page.content
    assert b">example.com</td>" not in page.content
    assert not DomainPolicy.objects.exists()


def test_the_break_glass_owner_must_be_an_owner_of_this_organization(admin_client, provider, organization):
    outsider = MembershipFactory(organization=OrganizationFactory(), role=Membership.Role.OWNER).user
    member = MembershipFactory(organization=organization).user
    for candidate in (outsider, member):
        admin_client.post(reverse("sso:break_glass"), {"owner": candidate.pk})
    provider.refresh_from_db()
    assert provider.break_glass_owner is None


def test_every_sso_post_needs_a_csrf_token(owner, provider, domain):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    posts = [
        (reverse("sso:settings"), {"issuer": provider.issuer, "client_id": "x"}),
        (reverse("sso:domain_requirement", args=[domain.pk]), {"require_sso": "on"}),
        (reverse("sso:break_glass"), {"owner": owner.pk}),
        (reverse("sso:remove"), {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert Client(enforce_csrf_checks=True).post(reverse("sso:start"), {"email": "a@example.com"}).status_code == 403
    assert not DomainPolicy.objects.exists()
    assert IdentityProvider.objects.get().client_id == CLIENT_ID


def test_removing_asks_to_confirm(admin_client, provider):
    assert admin_client.get(reverse("sso:remove")).status_code == 200
    assert IdentityProvider.objects.exists()
    assert admin_client.post(reverse("sso:remove")).status_code == 302
    assert not IdentityProvider.objects.exists()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    issuer=st.one_of(st.text(max_size=600), st.sampled_from(["https://user:pw@127.0.0.1:1/", "https://[::1]/", "https://xn--/", "javascript:alert(1)"])),
    client_id=st.text(max_size=300),
    secret=st.text(max_size=1200),
)
def test_hostile_configuration_input_never_breaks_the_page(admin_client, issuer, client_id, secret):
    response = admin_client.post(
        reverse("sso:settings"), {"issuer": issuer, "client_id": client_id, "client_secret": secret}
    )
    assert response.status_code == 200
    assert not IdentityProvider.objects.exists()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(email=st.text(max_size=400))
def test_hostile_addresses_on_the_sign_in_page_never_break_it(client, domain, email):
    response = client.post("/sign-in/", {"username": email, "sso": "1"})
    assert response.status_code in (200, 302)
    response = client.get(reverse("sso:start"), {"email": email})
    assert response.status_code in (200, 400)


def test_a_pending_domain_cannot_require_sso(admin_client, provider, organization):
    pending = DomainFactory(organization=organization, name="pending.example", pending=True)
    admin_client.post(reverse("sso:domain_requirement", args=[pending.pk]), {"require_sso": "on"})
    assert not DomainPolicy.objects.filter(require_sso=True).exists()


def test_choosing_sso_for_an_address_without_it_checks_no_password(client, domain, owner):
    response = client.post("/sign-in/", {"username": "someone@elsewhere.example", "password": "guess", "sso": "1"})
    assert b"no single sign-on for this address" in response.content
    assert b'value="someone@elsewhere.example"' in response.content
    assert not AuditEvent.objects.filter(action="user.signin_failed").exists()
