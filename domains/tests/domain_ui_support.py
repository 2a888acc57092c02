"""Small builders shared by the Domains UI tests (test_domain_*.py)."""

from console.models import Membership, Organization, User
from domains.models import Domain

PASSWORD = "a-long-test-password-42"


def make_admin(email="owner@acme-corp.example", organization_name="Acme Corp", role=Membership.Role.OWNER):
    organization = Organization.objects.create(name=organization_name)
    user = User.objects.create_user(email, password=PASSWORD, email_verified=True)
    Membership.objects.create(user=user, organization=organization, role=role, joined_via=Membership.JoinedVia.CREATED)
    return user, organization


def make_domain(organization, name, status=Domain.Status.PENDING, **fields):
    return Domain.objects.create(
        organization=organization, name=name, unicode_name=fields.pop("unicode_name", name), status=status, **fields
    )
