"""Test data for Bulk User Import: the console's and domains' factories, plus the import job's."""

import factory

from console import clock
from console.tests.factories import AccountFactory, MembershipFactory, OrganizationFactory, UserFactory
from domains.tests.factories import DomainFactory
from imports.models import ImportJob, ImportRow

__all__ = [
    "AccountFactory",
    "DomainFactory",
    "ImportJobFactory",
    "ImportRowFactory",
    "MembershipFactory",
    "OrganizationFactory",
    "UserFactory",
]


class ImportJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ImportJob

    domain = factory.SubFactory(DomainFactory)
    organization = factory.SelfAttribute("domain.organization")
    domain_name = factory.SelfAttribute("domain.name")
    created_at = factory.LazyFunction(clock.now)


class ImportRowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ImportRow

    job = factory.SubFactory(ImportJobFactory)
    user = factory.SubFactory(UserFactory)
    email = factory.SelfAttribute("user.email")
