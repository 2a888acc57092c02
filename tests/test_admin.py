"""Django admin works for operators: every registered model's changelist, add and change page
opens for a superuser, with one of everything in the database."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from console import emails
from console.models import TaskHeartbeat, User
from imports.models import AccessRequest
from sso import crypto
from sso.models import DomainPolicy, IdentityProvider
from tests.support.two_organizations import build_world


@pytest.fixture
def superuser_client(db, clock, dns_settings):
    world = build_world()
    AccessRequest.objects.create(organization=world.a.organization, feature="bulk_user_import")
    Group.objects.create(name="Support")
    TaskHeartbeat.objects.beat("heartbeat", clock.now())
    provider = IdentityProvider.objects.create(
        organization=world.a.organization,
        issuer="https://idp.acme.test",
        client_id="admin-center",
        client_secret_encrypted=crypto.encrypt("secret"),
        authorization_endpoint="https://idp.acme.test/authorize",
        token_endpoint="https://idp.acme.test/token",
        jwks_uri="https://idp.acme.test/jwks",
        break_glass_owner=world.a.owner,
    )
    DomainPolicy.objects.create(domain=world.a.domain, require_sso=True, changed_by=provider.break_glass_owner)
    superuser = User.objects.create_superuser("operator@support.example", password="a-good-password-123")
    emails.queue_to_user("console_added", user=superuser, params={"organization": "Support"})
    client = Client(raise_request_exception=False)
    client.force_login(superuser)
    return client


def _registered():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


@pytest.mark.parametrize("model", [model for model, _ in _registered()], ids=lambda model: model._meta.label)
def test_every_admin_page_of_a_model_opens(superuser_client, model):
    model_admin = admin.site._registry[model]
    prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    changelist = superuser_client.get(reverse(f"{prefix}_changelist"))
    assert changelist.status_code == 200, changelist.content[:500]
    assert b"Database error" not in changelist.content
    if model_admin.has_add_permission(changelist.wsgi_request):
        assert superuser_client.get(reverse(f"{prefix}_add")).status_code == 200
    obj = model._default_manager.order_by("pk").first()
    assert obj is not None, f"the test world has no {model._meta.label}"
    change = superuser_client.get(reverse(f"{prefix}_change", args=[obj.pk]))
    assert change.status_code == 200, change.content[:500]
