"""manage.py load_demo_data — idempotent demo: Example Corp with users, accounts and a verified
example.com, plus users at example.com who are not in it yet (for the bulk import flow)."""

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction

from console import audit, services
from console.messages import Message, gettext_noop
from console.models import Account, AuditEvent, Membership, Organization, User
from domains import lifecycle
from domains import services as domain_services
from domains.models import Domain, DomainCheck
from domains.verifiers import CheckResult, Outcome

DEMO_ORGANIZATION = "Example Corp"
SECOND_ORGANIZATION = "Globex Demo"
DEMO_PASSWORD = "demo-password-123"  # noqa: S105 (the published demo login, printed on purpose)


class Command(BaseCommand):
    help = "Load demo data (safe to run again: it only adds what is missing)."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEMO_PASSWORD, help="password for the demo users")

    @transaction.atomic
    def handle(self, *args, password, **options):
        domain_name = settings.DEMO_DOMAIN
        self.created = 0
        # Hash the shared demo password once: hashing it per user takes seconds.
        self.password_hash = make_password(password)
        organization = self.organization(DEMO_ORGANIZATION)
        owner = self.user(f"owner@{domain_name}", "Olivia Owner", password)
        self.member(owner, organization, Membership.Role.OWNER, Membership.JoinedVia.CREATED)
        self.account(owner, "Example Corp HQ", organization)

        people = [
            ("admin", "Adam Administrator", Membership.Role.ADMINISTRATOR),
            ("alice", "Alice Anderson", Membership.Role.MEMBER),
            ("bob", "Bob Brown", Membership.Role.MEMBER),
            ("carol", "Carol Chen", Membership.Role.MEMBER),
        ]
        for local, name, role in people:
            user = self.user(f"{local}@{domain_name}", name, password)
            self.member(user, organization, role, Membership.JoinedVia.INVITED, via_domain=domain_name)
            self.account(user, f"{name.split()[0]}'s workspace", organization)
            if local in ("alice", "bob"):
                self.account(user, f"{name.split()[0]}'s sandbox", organization)

        self.verified_domain(organization, domain_name, owner)

        # Users at the demo domain who are NOT in Example Corp: candidates for a bulk import.
        second = self.organization(SECOND_ORGANIZATION)
        second_owner = self.user("owner@globex.example", "Gloria Globex", password)
        self.member(second_owner, second, Membership.Role.OWNER, Membership.JoinedVia.CREATED)
        for number in range(1, 21):
            email = f"user{number:02d}@{domain_name}"
            user = self.user(
                email,
                f"Demo User {number:02d}",
                password,
                email_verified=number not in (3, 7, 11),  # three have not verified their e-mail
                is_active=number != 13,  # one is deactivated
            )
            if number == 17:  # one is managed by another organization
                self.member(user, second, Membership.Role.MEMBER, Membership.JoinedVia.INVITED)
                self.account(user, f"Demo User {number:02d} at Globex", second)
            else:
                self.account(user, f"Demo User {number:02d}'s workspace", None)

        self.stdout.write(self.style.SUCCESS(f"Demo data ready ({self.created} objects created)."))
        self.stdout.write(f"  Console:  {settings.CONSOLE_BASE_URL.rstrip('/')}/")
        self.stdout.write(f"  Sign in:  {owner.email} / {password}")
        self.stdout.write(f"  Organization {organization.name!r} with the verified domain {domain_name};")
        self.stdout.write(f"  20 users at {domain_name} are not in it yet (for Bulk User Import).")

    # Each helper adds the object only when it is missing.

    def organization(self, name):
        organization, created = Organization.objects.get_or_create(name=name)
        if created:
            self.created += 1
            audit.record(
                "organization.created",
                organization=organization,
                actor_kind=AuditEvent.ActorKind.OPERATOR,
                target=organization,
                detail={"source": "demo data"},
            )
        return organization

    def user(self, email, full_name, password, *, email_verified=True, is_active=True):
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create(
                email=email,
                password=self.password_hash,
                full_name=full_name,
                email_verified=email_verified,
                is_active=is_active,
            )
            self.created += 1
        return user

    def member(self, user, organization, role, joined_via, via_domain=""):
        if Membership.objects.filter(user=user).exists():
            return
        joined = services.make_managed(
            organization=organization, user_ids=[user.pk], role=role, joined_via=joined_via, via_domain=via_domain
        )
        if joined.user_ids:
            self.created += 1
            audit.record(
                "user.added",
                organization=organization,
                actor_kind=AuditEvent.ActorKind.OPERATOR,
                target=user,
                detail={"role": role, "source": "demo data"},
            )

    def account(self, owner, name, organization):
        _account, created = Account.objects.get_or_create(
            owner=owner, name=name, defaults={"organization": organization}
        )
        self.created += created

    def verified_domain(self, organization, name, owner):
        if Domain.objects.active().filter(organization=organization, name=name).exists():
            return
        if Domain.objects.held().filter(name=name).exists():
            self.stdout.write(self.style.WARNING(f"{name} is already verified by another organization; skipped."))
            return
        domain, _notes = domain_services.add_domain(organization=organization, text=name, actor=owner)
        # The demo domain is not really published anywhere: record it as verified through the
        # one path a check result takes, saying plainly that nothing was checked.
        result = CheckResult(Outcome.VERIFIED, Message(gettext_noop("Verified by the demo data; nothing was checked.")))
        lifecycle.apply_check_result(domain_id=domain.pk, result=result, trigger=DomainCheck.Trigger.OPERATOR)
        self.created += 1
