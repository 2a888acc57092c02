import factory
from django.utils import timezone

from console.models import Account, AuditEvent, Membership, Organization, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Sequence(lambda n: f"User {n}")
    email_verified = True
    password = factory.django.Password("a-good-password-123")


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")


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


class AuditEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditEvent

    organization = factory.SubFactory(OrganizationFactory)
    actor_kind = AuditEvent.ActorKind.SYSTEM
    action = "test.event"


def verified_domain(organization, name, *, status="verified", auto_add_new_users=True):
    """A Domain held by `organization` without running a check (the domains app tests checks)."""
    from domains.models import Domain

    return Domain.objects.create(
        organization=organization,
        name=name,
        unicode_name=name,
        status=status,
        verified_at=timezone.now() if status != "pending" else None,
        auto_add_new_users=auto_add_new_users,
    )
