"""Test data for Bulk User Import (plain factory_boy factories over the real models)."""

import factory

from console import clock
from console.models import Account, Membership, Organization, User
from domains.models import Domain


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    features = factory.LazyFunction(list)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    email_verified = True
    is_active = True
    date_joined = factory.LazyFunction(clock.now)
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Membership.Role.MEMBER


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Account {n}")
    owner = factory.SubFactory(UserFactory)


class DomainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Domain

    organization = factory.SubFactory(OrganizationFactory)
    name = "example.com"
    unicode_name = factory.LazyAttribute(lambda o: o.name)
    status = Domain.Status.VERIFIED
    verified_at = factory.LazyFunction(clock.now)
