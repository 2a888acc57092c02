"""Admin Center › Webhooks: add (secret shown once), edit, delete (confirmed), rotate, test
event, redeliver; Owners and Administrators only; another organization's endpoints and
deliveries are 404."""

import pytest
from django.urls import reverse

from console.models import AuditEvent, Membership
from console.tests.factories import MembershipFactory, OrganizationFactory
from webhooks.models import Delivery, Endpoint, EndpointSecret
from webhooks.tests.conftest import HOST
from webhooks.tests.factories import EndpointFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, acme):
    client.force_login(acme.admin)
    return client


def test_adding_an_endpoint_shows_its_secret_once(signed_in, acme, receiver):
    response = signed_in.post(
        reverse("webhooks:create"),
        {"url": receiver.url_for_hooks, "description": "Pager", "event_types": ["domain.check_failed", "domain.expired"], "enabled": "on"},
    )
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    endpoint = Endpoint.objects.get()
    secret = EndpointSecret.objects.get(endpoint=endpoint).secret
    assert secret.startswith("whsec_") and secret in response.content.decode()
    assert endpoint.event_types == ["domain.check_failed", "domain.expired"] and endpoint.enabled
    detail = signed_in.get(reverse("webhooks:detail", args=[endpoint.pk])).content.decode()
    assert secret not in detail and secret[:10] in detail
    assert AuditEvent.objects.filter(action="webhooks.endpoint_added").count() == 1


def test_a_refused_address_is_explained_and_changes_nothing(signed_in, acme, receiver):
    receiver.dns.set_a("intranet.test", "10.1.2.3")
    response = signed_in.post(reverse("webhooks:create"), {"url": "https://intranet.test/hook", "enabled": "on"})
    assert response.status_code == 200
    assert "special-purpose address" in response.content.decode()
    assert Endpoint.objects.count() == 0


def test_edit_rotate_test_and_delete(signed_in, acme, receiver, hook, eager, django_capture_on_commit_callbacks):
    url = reverse("webhooks:edit", args=[hook.pk])
    response = signed_in.post(url, {"url": receiver.url_for_hooks, "description": "Chat", "event_types": ["member.added"]})
    assert response.status_code == 302
    hook.refresh_from_db()
    assert hook.description == "Chat" and not hook.enabled and hook.event_types == ["member.added"]
    signed_in.post(url, {"url": receiver.url_for_hooks, "description": "Chat", "enabled": "on"})

    assert signed_in.get(reverse("webhooks:rotate", args=[hook.pk])).status_code == 200  # asks first
    assert EndpointSecret.objects.filter(endpoint=hook).count() == 1
    rotated = signed_in.post(reverse("webhooks:rotate", args=[hook.pk]))
    assert rotated["Cache-Control"] == "no-store" and EndpointSecret.objects.filter(endpoint=hook).count() == 2

    receiver.verify_with(HOST)  # verifies nothing: any request is accepted
    with django_capture_on_commit_callbacks(execute=True):
        assert signed_in.post(reverse("webhooks:test", args=[hook.pk])).status_code == 302
    delivery = Delivery.objects.get()
    page = signed_in.get(reverse("webhooks:detail", args=[hook.pk])).content.decode()
    assert "webhook.test" in page and "HTTP 401" in page
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(reverse("webhooks:redeliver", args=[delivery.pk]))
    assert Delivery.objects.get().attempts == 2

    assert signed_in.get(reverse("webhooks:delete", args=[hook.pk])).status_code == 200  # asks first
    assert Endpoint.objects.count() == 1
    assert signed_in.post(reverse("webhooks:delete", args=[hook.pk])).status_code == 302
    assert Endpoint.objects.count() == 0 and Delivery.objects.count() == 0


def test_another_organizations_endpoints_and_deliveries_are_404(signed_in, acme):
    theirs = EndpointFactory(organization=OrganizationFactory(name="Globex"))
    from webhooks import outbox

    (delivery,) = outbox.write(organization_id=theirs.organization_id, event_type="domain.added", items=[{}], endpoints=[theirs])
    for name in ("detail", "edit", "delete", "rotate"):
        assert signed_in.get(reverse(f"webhooks:{name}", args=[theirs.pk])).status_code == 404, name
    for name in ("edit", "delete", "rotate", "test"):
        assert signed_in.post(reverse(f"webhooks:{name}", args=[theirs.pk]), {"url": "https://x.test/"}).status_code == 404, name
    assert signed_in.post(reverse("webhooks:redeliver", args=[delivery.pk])).status_code == 404
    assert Endpoint.objects.filter(pk=theirs.pk, enabled=True).exists()
    assert EndpointSecret.objects.filter(endpoint=theirs).count() == 1
    assert Delivery.objects.get(pk=delivery.pk).attempts == 0
    assert theirs.url not in signed_in.get(reverse("webhooks:list")).content.decode()


def test_members_cannot_see_webhooks(client, acme):
    member = MembershipFactory(organization=acme, role=Membership.Role.MEMBER).user
    client.force_login(member)
    assert client.get(reverse("webhooks:list")).status_code == 403
    assert client.post(reverse("webhooks:create"), {"url": "https://x.test/"}).status_code == 403
    assert Endpoint.objects.count() == 0


def test_the_list_and_detail_pages_read_in_japanese(signed_in, acme, hook):
    signed_in.cookies["django_language"] = "ja"
    page = signed_in.get(reverse("webhooks:list"), HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "エンドポイント" in page


def test_the_endpoint_page_lists_the_secrets_still_signing(signed_in, acme, clock):
    from datetime import timedelta

    from webhooks import services

    endpoint = EndpointFactory(organization=acme)
    services.rotate_secret(endpoint=endpoint, actor=acme.admin)
    page = signed_in.get(reverse("webhooks:detail", args=[endpoint.pk])).content.decode()
    assert page.count("whsec_") == 2 and "stops signing at" in page
    clock.advance(timedelta(hours=25))
    page = signed_in.get(reverse("webhooks:detail", args=[endpoint.pk])).content.decode()
    assert page.count("whsec_") == 1 and "stops signing at" not in page
