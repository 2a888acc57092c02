"""Signing in through a real SAML 2.0 IdP on loopback (pysaml2's IdP, its own process): metadata by
URL or upload, AuthnRequest by HTTP-Redirect, the signed Response posted to the ACS, InResponseTo
used once, assertion IDs used once, expiry on the project clock, the one sign-in rule."""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from console import clock
from console.models import AuditEvent, Membership, User
from console.tests.factories import PASSWORD, MembershipFactory, UserFactory
from domains.tests.factories import DomainFactory
from sso import services
from sso.models import IdentityProvider, SamlAssertionSeen, SamlRequest
from sso.tests.conftest import provider_url
from sso.views import SAML_REQUEST_COOKIE

pytestmark = pytest.mark.django_db


def signed_in_user(client):
    return client.session.get("_auth_user_id")


@pytest.fixture
def saml_provider(saml_idp, organization, owner, domain):
    """The organization's IdP is the loopback SAML IdP (metadata by URL), and it trusts our SP metadata."""
    provider = services.save_saml_provider(
        organization=organization,
        metadata_url=saml_idp.metadata_url,
        metadata_xml=None,
        jit_provisioning=False,
        actor=owner,
    )
    saml_idp.trust(Client().get(urlsplit(services.saml_service_provider(organization).entity_id).path).content.decode())
    return provider


@pytest.fixture
def alice(organization, domain):
    return MembershipFactory(organization=organization, user__email="alice@example.com").user


def local(url: str) -> str:
    return urlsplit(url).path


@pytest.fixture
def saml_sign_in(client, saml_idp):
    """As a browser: the sign-in page's SSO button, the IdP's form, the auto-submitted POST to the ACS.
    Returns (the ACS's answer, the ACS path, the fields posted) so a test can post them again."""

    def sign_in(email: str, *, asserted: str | None = None, http_client=None):
        http_client = http_client or client
        started = http_client.post("/sign-in/", {"username": email, "sso": "1"})
        acs_url, fields = saml_idp.sign_in(provider_url(started), asserted or email)
        return http_client.post(local(acs_url), fields), local(acs_url), fields

    return sign_in


def test_configuring_reads_the_idp_metadata_and_audits_it(saml_provider, saml_idp):
    stored = IdentityProvider.objects.get(pk=saml_provider.pk)
    assert stored.protocol == IdentityProvider.Protocol.SAML
    assert stored.issuer == saml_idp.entity_id
    assert stored.saml_sso_url == f"{saml_idp.base}/sso/redirect"
    assert len(stored.saml_certificates) == 1
    assert stored.saml_metadata_url == saml_idp.metadata_url and stored.saml_metadata_fetched_at is not None
    event = AuditEvent.objects.get(action="sso.configured")
    assert event.detail["protocol"] == "saml" and event.detail["metadata_source"] == "url"
    assert len(event.detail["certificates"][0]) == 95  # a SHA-256 fingerprint, AB:CD:…


def test_our_sp_metadata_names_the_entity_id_and_the_acs(organization, client):
    sp = services.saml_service_provider(organization)
    response = client.get(urlsplit(sp.entity_id).path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/samlmetadata+xml")
    assert f'entityID="{sp.entity_id}"' in response.content.decode()
    assert sp.acs_url in response.content.decode() and "HTTP-POST" in response.content.decode()
    # Random keys, not organization ids: the public URLs neither count nor name organizations.
    assert str(organization.pk) not in urlsplit(sp.entity_id).path.split("/")
    assert services.saml_service_provider(organization) == sp  # fixed for good
    assert client.get(reverse("sso:saml_metadata", args=["no-such-key"])).status_code == 404
    assert client.post(reverse("sso:saml_acs", args=["no-such-key"]), {"SAMLResponse": "x"}).status_code == 404


def test_a_managed_user_signs_in_through_the_saml_idp(saml_provider, alice, saml_sign_in, client):
    started = client.post("/sign-in/", {"username": "alice@example.com", "sso": "1"})
    assert provider_url(started).startswith(saml_provider.saml_sso_url + "?SAMLRequest=")
    cookie = started.cookies[SAML_REQUEST_COOKIE]
    assert cookie["samesite"] == "None" and cookie["secure"] and cookie["httponly"]
    assert cookie["path"] == urlsplit(services.saml_service_provider(saml_provider.organization).acs_url).path
    client.cookies.pop(SAML_REQUEST_COOKIE)
    response, _acs, _fields = saml_sign_in("alice@example.com")
    assert response.status_code == 302 and response["Location"] == "/"
    assert signed_in_user(client) == str(alice.pk)
    assert client.session["_auth_user_backend"] == "sso.backends.IdentityProviderBackend"
    assert AuditEvent.objects.filter(action="sso.signed_in", target_id=str(alice.pk)).exists()
    assert SamlRequest.objects.count() == 1  # the answered request is used up; the first, abandoned, waits


def test_a_replayed_response_is_refused(saml_provider, alice, saml_sign_in, client):
    _response, acs, fields = saml_sign_in("alice@example.com")
    client.logout()
    replay = client.post(acs, fields)
    assert replay.status_code == 400 and b"already used" in replay.content
    assert signed_in_user(client) is None


def test_an_assertion_id_is_accepted_once_even_for_an_outstanding_request(saml_provider, alice, saml_idp, client):
    """The second line against replay: the assertion ID, stored until its NotOnOrAfter."""
    started = client.post("/sign-in/", {"username": "alice@example.com", "sso": "1"})
    request_id = SamlRequest.objects.get().request_id
    acs_url, fields = saml_idp.sign_in(provider_url(started), "alice@example.com")
    assert client.post(local(acs_url), fields).status_code == 302
    assert SamlAssertionSeen.objects.count() == 1
    outstanding = SamlRequest.objects.create(request_id=request_id, provider=saml_provider)
    with pytest.raises(services.SignInRefused) as refused:
        services.accept_saml_response(provider=saml_provider, outstanding=outstanding, saml_response=fields["SAMLResponse"])
    assert refused.value.code == "replayed"


def test_an_unsolicited_response_is_refused(saml_provider, alice, saml_idp, saml_sign_in, client):
    saml_idp.behave(unsolicited=True)
    response, _acs, _fields = saml_sign_in("alice@example.com")
    assert response.status_code == 403
    assert signed_in_user(client) is None
    assert AuditEvent.objects.get(action="sso.signin_refused").detail["reason"] == "unsolicited"


def test_an_idp_initiated_post_without_our_request_is_refused(saml_provider, alice, saml_idp, client):
    started = Client().post("/sign-in/", {"username": "alice@example.com", "sso": "1"})
    acs_url, fields = saml_idp.sign_in(provider_url(started), "alice@example.com")
    response = client.post(local(acs_url), fields)  # another browser: no request of ours outstanding here
    assert response.status_code == 400
    assert signed_in_user(client) is None
    assert not AuditEvent.objects.filter(action="sso.signed_in").exists()


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        ({"expired": True}, "expired"),
        ({"foreign_key": True}, "bad_signature"),
        ({"audience": "https://another-service.example/"}, "wrong_audience"),
        ({"sha1": True}, "weak_algorithm"),
    ],
)
def test_a_response_that_is_expired_forged_or_for_another_sp_is_refused(
    saml_provider, alice, saml_idp, saml_sign_in, client, behaviour, reason
):
    saml_idp.behave(**behaviour)
    response, _acs, _fields = saml_sign_in("alice@example.com")
    assert response.status_code == 403
    assert b"could not be verified" in response.content
    assert signed_in_user(client) is None
    assert AuditEvent.objects.get(action="sso.signin_refused").detail["reason"] == reason


def test_expiry_is_judged_by_the_project_clock_too(saml_provider, alice, saml_idp, client):
    started = client.post("/sign-in/", {"username": "alice@example.com", "sso": "1"})
    acs_url, fields = saml_idp.sign_in(provider_url(started), "alice@example.com")
    clock.set_now(datetime.now(UTC) + timedelta(minutes=8))  # the assertion lives 5 minutes, the request 10
    response = client.post(local(acs_url), fields)
    assert response.status_code == 403
    assert signed_in_user(client) is None
    assert AuditEvent.objects.get(action="sso.signin_refused").detail["reason"] == "expired"


def test_an_address_at_a_domain_the_organization_has_not_verified_is_refused(
    saml_provider, alice, organization, saml_sign_in, client
):
    DomainFactory(organization=organization, name="pending.example", pending=True)
    for asserted in ("ceo@victim.example", "someone@pending.example"):
        response, _acs, _fields = saml_sign_in("alice@example.com", asserted=asserted)
        assert response.status_code == 403
        assert b"not at a verified domain" in response.content
        assert signed_in_user(client) is None
    reasons = [event.detail["reason"] for event in AuditEvent.objects.filter(action="sso.signin_refused")]
    assert reasons == ["domain_not_verified", "domain_not_verified"]


def test_just_in_time_provisioning_through_saml(saml_provider, organization, saml_sign_in, client):
    IdentityProvider.objects.filter(pk=saml_provider.pk).update(jit_provisioning=True)
    response, _acs, _fields = saml_sign_in("newcomer@example.com")
    assert response.status_code == 302
    user = User.objects.get(email="newcomer@example.com")
    assert signed_in_user(client) == str(user.pk)
    assert user.full_name == "Newcomer"  # from the displayName attribute
    assert user.membership.organization == organization
    assert user.membership.joined_via == Membership.JoinedVia.SSO


def test_the_password_of_a_managed_user_is_refused_where_saml_is_required(saml_provider, alice, domain, owner, client):
    services.set_domain_requirement(domain=domain, require_sso=True, actor=owner)
    response = client.post("/sign-in/", {"username": "alice@example.com", "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert b"requires single sign-on for addresses at example.com" in response.content
    # Home-realm discovery sends the same address to the SAML IdP.
    started = client.post("/sign-in/", {"username": "alice@example.com", "sso": "1"})
    assert provider_url(started).startswith(saml_provider.saml_sso_url)


def test_metadata_can_be_uploaded(saml_idp, organization, owner, domain):
    provider = services.save_saml_provider(
        organization=organization, metadata_url="", metadata_xml=saml_idp.metadata(), jit_provisioning=True, actor=owner
    )
    assert provider.issuer == saml_idp.entity_id and provider.saml_metadata_url == ""
    assert AuditEvent.objects.get(action="sso.configured").detail["metadata_source"] == "upload"


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (b"not xml at all", "not_xml"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', "dtd_forbidden"),
        (b'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>', "not_one_idp"),
        (b"x" * (1024 * 1024 + 1), "too_large"),
    ],
)
def test_unusable_metadata_is_refused_with_a_reason_and_changes_nothing(organization, owner, document, reason):
    with pytest.raises(services.ConsoleError) as refused:
        services.save_saml_provider(
            organization=organization, metadata_url="", metadata_xml=document, jit_provisioning=False, actor=owner
        )
    assert refused.value.code == reason
    assert not IdentityProvider.objects.exists() and not AuditEvent.objects.filter(action="sso.configured").exists()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1:9/metadata", "forbidden_address"),
        ("https://169.254.169.254/latest/meta-data/", "forbidden_address"),
        ("https://10.0.0.1/metadata", "forbidden_address"),
        ("http://idp.example/metadata", "not_https"),
    ],
)
def test_a_metadata_url_at_a_forbidden_address_is_never_fetched(organization, owner, url, reason):
    """Loopback is allowed only when the tests say so (here they do not)."""
    with pytest.raises(services.ConsoleError) as refused:
        services.save_saml_provider(
            organization=organization, metadata_url=url, metadata_xml=None, jit_provisioning=False, actor=owner
        )
    assert refused.value.code == reason
    assert not IdentityProvider.objects.exists()


def test_switching_protocols_keeps_one_provider_and_drops_the_other_configuration(
    saml_provider, oidc_provider, organization, owner
):
    provider = services.save_provider(
        organization=organization, issuer=oidc_provider.issuer, client_id="c", client_secret="s",
        jit_provisioning=False, actor=owner,
    )
    assert provider.pk == saml_provider.pk and provider.protocol == IdentityProvider.Protocol.OIDC
    assert provider.saml_metadata_xml == "" and provider.saml_certificates == []
    assert IdentityProvider.objects.count() == 1


def test_a_deactivated_user_is_refused(saml_provider, saml_sign_in, client):
    MembershipFactory(organization=saml_provider.organization, user=UserFactory(email="gone@example.com", is_active=False))
    response, _acs, _fields = saml_sign_in("gone@example.com")
    assert response.status_code == 403
    assert signed_in_user(client) is None
