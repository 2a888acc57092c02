from dataclasses import dataclass

import pytest

from console.models import Membership
from imports.tests.factories import AccountFactory, DomainFactory, MembershipFactory, OrganizationFactory, UserFactory


@dataclass
class World:
    organization: object
    admin: object
    domain: object
    other_organization: object
    other_admin: object
    other_domain: object


def make_world(*, feature=True, domain_name="example.com"):
    organization = OrganizationFactory(name="Acme", features=["bulk_user_import"] if feature else [])
    admin = UserFactory(email=f"owner@{domain_name}")
    MembershipFactory(user=admin, organization=organization, role=Membership.Role.OWNER, via_domain=domain_name)
    domain = DomainFactory(organization=organization, name=domain_name)
    other = OrganizationFactory(name="Globex", features=["bulk_user_import"])
    other_admin = UserFactory(email="boss@globex.test")
    MembershipFactory(user=other_admin, organization=other, role=Membership.Role.OWNER)
    other_domain = DomainFactory(organization=other, name="globex.test")
    return World(organization, admin, domain, other, other_admin, other_domain)


@pytest.fixture
def world(db):
    return make_world()


def population(world, *, domain_name="example.com"):
    """One user for every eligibility case, with accounts. Returns a dict name -> user."""
    users = {
        "eligible": UserFactory(email=f"alice@{domain_name}"),
        "eligible2": UserFactory(email=f"bob@{domain_name}"),
        "unverified": UserFactory(email=f"carol@{domain_name}", email_verified=False),
        "deactivated": UserFactory(email=f"dave@{domain_name}", is_active=False),
        "managed_elsewhere": UserFactory(email=f"erin@{domain_name}"),
        "member": UserFactory(email=f"frank@{domain_name}"),
        "outsider": UserFactory(email="grace@elsewhere.test"),
        "subdomain": UserFactory(email=f"heidi@sub.{domain_name}"),
    }
    MembershipFactory(user=users["managed_elsewhere"], organization=world.other_organization)
    MembershipFactory(user=users["member"], organization=world.organization)
    AccountFactory(owner=users["eligible"], name="Alice 1")
    AccountFactory(owner=users["eligible"], name="Alice 2")
    AccountFactory(owner=users["eligible2"], name="Bob 1")
    AccountFactory(owner=users["unverified"], name="Carol 1")
    return users


@pytest.fixture
def people(world):
    return population(world)


@pytest.fixture
def admin_client(client, world):
    client.force_login(world.admin)
    return client


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Factories set a password on every user; the production hasher would dominate test time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def eager_tasks():
    """Tasks run in-process when enqueued (restored afterwards)."""
    from celery import current_app as app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = previous
