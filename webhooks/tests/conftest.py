import pytest
from celery import current_app

from console.models import Membership
from console.tests.factories import MembershipFactory, OrganizationFactory
from webhooks import services

HOST = "hooks.test"
PATH = "/admin-center"


@pytest.fixture
def eager():
    """Tasks queued on commit run at once, in the test (a worker in the test's own process)."""
    previous = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = previous


@pytest.fixture
def receiver(dns_settings, https_settings, settings):
    """The loopback HTTPS server as a webhook receiver at https://hooks.test:<port>/admin-center."""
    dns_settings.set_a(HOST, "127.0.0.1")
    settings.WEBHOOK_DELIVERY_DEADLINE_SECONDS = 3.0
    settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS = 2.0
    https_settings.answer_sequence(HOST, PATH, [200])
    https_settings.dns = dns_settings  # to change what a name resolves to
    https_settings.url_for_hooks = https_settings.url(HOST, PATH)
    return https_settings


@pytest.fixture
def acme(db):
    organization = OrganizationFactory(name="Acme")
    admin = MembershipFactory(organization=organization, role=Membership.Role.OWNER, user__email="owner@acme.test").user
    organization.admin = admin
    return organization


@pytest.fixture
def hook(acme, receiver):
    """An endpoint of Acme at the receiver, added through the service (address vetted), whose
    secret the receiver verifies with."""
    endpoint, secret = services.create_endpoint(
        organization=acme, url=receiver.url_for_hooks, description="Pager", event_types=[], enabled=True, actor=acme.admin
    )
    receiver.verify_with(HOST, secret)
    endpoint.secret = secret
    return endpoint
