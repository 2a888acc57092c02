"""The Owner's SAML settings: the values to copy, metadata by URL or upload, Owners only, CSRF,
bad input explained and nothing saved; the ACS is the one POST without a CSRF token."""

import base64
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.models import AuditEvent, Membership
from console.tests.factories import MembershipFactory, OrganizationFactory
from sso import services
from sso.models import IdentityProvider

pytestmark = pytest.mark.django_db


def test_the_settings_page_shows_the_saml_values_to_copy(admin_client, organization, settings):
    settings.CONSOLE_BASE_URL = "https://admin.example.net"
    response = admin_client.get(reverse("sso:settings"))
    assert response.status_code == 200
    sp = services.saml_service_provider(organization)
    assert sp.acs_url.startswith("https://admin.example.net/sso/saml/")
    page = response.content.decode()
    assert f'id="saml-acs" value="{sp.acs_url}"' in page and f'id="saml-entity" value="{sp.entity_id}"' in page
    assert 'readonly class="copy-value"' in page and 'enctype="multipart/form-data"' in page


def test_an_owner_configures_saml_by_metadata_url_through_the_page(admin_client, saml_idp, organization):
    response = admin_client.post(reverse("sso:saml_settings"), {"metadata_url": saml_idp.metadata_url, "jit_provisioning": "on"})
    assert response.status_code == 302
    provider = IdentityProvider.objects.get()
    assert provider.protocol == "saml" and provider.issuer == saml_idp.entity_id and provider.jit_provisioning
    page = admin_client.get(reverse("sso:settings")).content.decode()
    assert saml_idp.entity_id in page and services.certificate_fingerprint(provider.saml_certificates[0]) in page


def test_an_owner_uploads_the_metadata_file(admin_client, saml_idp):
    upload = SimpleUploadedFile("idp.xml", saml_idp.metadata(), content_type="application/xml")
    response = admin_client.post(reverse("sso:saml_settings"), {"metadata_file": upload})
    assert response.status_code == 302
    assert IdentityProvider.objects.get().saml_metadata_url == ""
    assert AuditEvent.objects.get(action="sso.configured").detail["metadata_source"] == "upload"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, b"Enter the metadata URL or upload the metadata file."),
        ({"metadata_url": "http://idp.example/metadata"}, b"https://"),
        ({"metadata_url": "https://169.254.169.254/metadata"}, b"private or reserved network"),
        ({"metadata_file": SimpleUploadedFile("x.xml", b"<x><y></x>")}, b"not an XML document"),
        ({"metadata_file": SimpleUploadedFile("x.xml", b'<!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>')}, b"DTD"),
    ],
)
def test_unusable_saml_metadata_is_explained_and_nothing_is_saved(admin_client, data, message):
    response = admin_client.post(reverse("sso:saml_settings"), data)
    assert response.status_code == 200
    assert message in response.content
    assert not IdentityProvider.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="sso.").exists()


def test_only_owners_configure_saml(client, organization, saml_idp):
    administrator = MembershipFactory(organization=organization, role=Membership.Role.ADMINISTRATOR).user
    client.force_login(administrator)
    assert client.post(reverse("sso:saml_settings"), {"metadata_url": saml_idp.metadata_url}).status_code == 403
    assert not IdentityProvider.objects.exists()


def test_another_organization_never_sees_our_saml_configuration(client, saml_idp, organization, owner):
    services.save_saml_provider(organization=organization, metadata_url=saml_idp.metadata_url, metadata_xml=None, jit_provisioning=False, actor=owner)
    ours = services.saml_service_provider(organization)
    other_owner = MembershipFactory(organization=OrganizationFactory(name="Globex"), role=Membership.Role.OWNER).user
    client.force_login(other_owner)
    page = client.get(reverse("sso:settings")).content.decode()
    assert saml_idp.entity_id not in page and ours.acs_url not in page


def test_the_saml_settings_post_needs_a_csrf_token_and_the_acs_does_not(owner, organization, saml_idp):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(reverse("sso:saml_settings"), {"metadata_url": saml_idp.metadata_url}).status_code == 403
    assert not IdentityProvider.objects.exists()
    services.save_saml_provider(organization=organization, metadata_url=saml_idp.metadata_url, metadata_xml=None, jit_provisioning=False, actor=owner)
    # The IdP's cross-site POST carries no CSRF token: the view answers (refusing: nothing outstanding).
    acs = urlsplit(services.saml_service_provider(organization).acs_url).path
    response = Client(enforce_csrf_checks=True).post(acs, {"SAMLResponse": "PHg+"})
    assert response.status_code == 400 and b"not started here" in response.content
    assert Client().get(acs).status_code == 405


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    metadata_url=st.one_of(st.text(max_size=1200), st.sampled_from(["https://user:pw@127.0.0.1:1/", "https://[::1]/", "javascript:alert(1)", "https://0.0.0.0/"])),
    document=st.binary(max_size=2000),
)
def test_hostile_saml_input_never_breaks_the_page(admin_client, metadata_url, document):
    response = admin_client.post(
        reverse("sso:saml_settings"), {"metadata_url": metadata_url, "metadata_file": SimpleUploadedFile("m.xml", document)}
    )
    assert response.status_code == 200
    assert not IdentityProvider.objects.exists()


@pytest.fixture
def saml_configured(saml_idp, organization, owner):
    from domains.tests.factories import DomainFactory

    DomainFactory(organization=organization, name="example.com", unicode_name="example.com")
    services.save_saml_provider(organization=organization, metadata_url="", metadata_xml=saml_idp.metadata(), jit_provisioning=True, actor=owner)
    return urlsplit(services.saml_service_provider(organization).acs_url).path


hostile_documents = st.one_of(
    st.binary(max_size=2000),
    st.sampled_from(
        [
            b'<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>',
            b'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="x" Version="2.0" IssueInstant="2026-01-01T00:00:00Z"/>',
            b'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="a"/></samlp:Response>',
        ]
    ),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(saml_response=st.one_of(st.text(max_size=3000), hostile_documents.map(lambda raw: base64.b64encode(raw).decode())))
def test_hostile_responses_to_an_outstanding_request_are_refused(client, saml_configured, saml_response):
    started = client.post("/sign-in/", {"username": "someone@example.com", "sso": "1"})
    assert started.status_code == 200
    response = client.post(saml_configured, {"SAMLResponse": saml_response})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
    assert not AuditEvent.objects.filter(action="sso.signed_in").exists()
