"""Test data for Bulk User Import: the console's factories, plus a Domain factory."""

import factory

from console import clock
from console.tests.factories import AccountFactory, MembershipFactory, OrganizationFactory, UserFactory
from domains.models import Domain

__all__ = ["AccountFactory", "DomainFactory", "MembershipFactory", "OrganizationFactory", "UserFactory"]


class DomainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Domain

    organization = factory.SubFactory(OrganizationFactory)
    name = "example.com"
    unicode_name = factory.LazyAttribute(lambda o: o.name)
    status = Domain.Status.VERIFIED
    verified_at = factory.LazyFunction(clock.now)
