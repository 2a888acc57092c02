"""The fixed parts of a domain's page come from a per-process cache, keyed by what they show: each
domain, method, state, language and setting still gets its own text, and the forms inside are
rendered per request."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from console.tests.factories import OrganizationFactory, admin_of
from domains.models import Domain
from domains.tests.factories import DomainFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_and_org():
    return admin_of(OrganizationFactory(name="Acme Corp"), "owner@acme-corp.example")


def page(client, domain, language="en") -> str:
    return client.get(reverse("domains:detail", args=[domain.pk]), headers={"accept-language": language}).content.decode()


def test_each_domain_method_state_and_language_gets_its_own_text(owner_and_org):
    owner, organization = owner_and_org
    client = Client()
    client.force_login(owner)
    first = DomainFactory(organization=organization, name="first.example", unicode_name="first.example")
    second = DomainFactory(organization=organization, name="second.example", unicode_name="second.example")

    first_page, second_page = page(client, first), page(client, second)
    assert first.txt_value in first_page and first.txt_value not in second_page
    assert second.txt_value in second_page and "first.example" not in second_page
    assert 'method-card selected" id="method-dns"' in first_page
    assert "Switch to the HTML file…" in first_page

    Domain.objects.filter(pk=first.pk).update(method=Domain.Method.HTTPS, auto_add_new_users=True)
    switched = page(client, first)
    assert "Switch to the DNS record…" in switched and "Switch to the HTML file…" not in switched
    assert 'method-card selected" id="method-https"' in switched and 'selected" id="method-dns"' not in switched
    assert re.search(r'<input type="checkbox" name="auto_add_new_users"[^>]* checked', switched)

    Domain.objects.filter(pk=first.pk).update(status=Domain.Status.REVALIDATION_REQUIRED)
    assert "The users managed through it stay in the Organization" in page(client, first)

    japanese = page(client, first, "ja")
    assert "Automatically add new sign-ups" not in japanese and first.txt_value in japanese
    assert page(client, first, "en").count("Automatically add new sign-ups") == 1


def test_forms_inside_cached_parts_carry_this_sessions_token(owner_and_org):
    owner, organization = owner_and_org
    domain = DomainFactory(organization=organization)
    other_owner, _other = admin_of(OrganizationFactory(name="Globex"), "owner@globex.example")
    other_domain = DomainFactory(organization=_other)
    for user, shown in ((owner, domain), (other_owner, other_domain)):
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        html = page(client, shown)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        # The method switch's form sits between cached parts: posting its token is accepted.
        response = client.post(
            reverse("domains:settings", args=[shown.pk]),
            {"csrfmiddlewaretoken": token, "auto_add_new_users": "on", "return_to": "detail"},
        )
        assert response.status_code == 302
        assert Domain.objects.get(pk=shown.pk).auto_add_new_users


def test_a_changed_setting_changes_the_instructions(owner_and_org, settings):
    owner, organization = owner_and_org
    client = Client()
    client.force_login(owner)
    domain = DomainFactory(organization=organization)
    assert f"{settings.DOMAIN_TXT_LABEL}.{domain.name}" in page(client, domain)
    settings.DOMAIN_TXT_LABEL = "_another-label"
    assert f"_another-label.{domain.name}" in page(client, domain)
