import factory

from console import clock
from console.models import Account, AuditEvent, Membership, Organization, User

PASSWORD = "a-good-password-123"  # every factory user's password


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Sequence(lambda n: f"User {n}")
    email_verified = True
    password = factory.django.Password(PASSWORD)
    date_joined = factory.LazyFunction(clock.now)


class OrganizationFactory(factory.django.DjangoModelFactory):
    """`OrganizationFactory(owner="boss@example.com")` also makes that user its Owner."""

    class Meta:
        model = Organization
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Organization {n}")
    created_at = factory.LazyFunction(clock.now)

    @factory.post_generation
    def owner(organization, create, email, **kwargs):
        if email:
            MembershipFactory(
                organization=organization, user__email=email, role=Membership.Role.OWNER, joined_via="created"
            )


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Membership.Role.MEMBER
    joined_at = factory.LazyFunction(clock.now)


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Account {n}")
    owner = factory.SubFactory(UserFactory)
    created_at = factory.LazyFunction(clock.now)


class AuditEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditEvent

    organization = factory.SubFactory(OrganizationFactory)
    actor_kind = AuditEvent.ActorKind.SYSTEM
    action = "test.event"


def admin_of(organization: Organization, email: str, *, role=Membership.Role.OWNER):
    """(user, organization): a signed-in-able admin of `organization`, for view tests."""
    return MembershipFactory(organization=organization, user__email=email, role=role, joined_via="created").user, organization
