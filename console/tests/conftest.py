"""Shared set-up of the console tests: one organization and its Owner."""

import pytest

from console.models import Membership
from console.tests.factories import MembershipFactory, OrganizationFactory


@pytest.fixture
def organization():
    return OrganizationFactory(name="Example Corp")


@pytest.fixture
def owner(organization):
    return MembershipFactory(
        organization=organization, role=Membership.Role.OWNER, user__email="owner@example.com"
    ).user
