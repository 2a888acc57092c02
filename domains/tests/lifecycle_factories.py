"""Small builders for the lifecycle tests (organizations, admins, domains, check results)."""

from datetime import timedelta

from console import clock
from console.models import Account, Membership, Organization, User
from domains.messages import Message
from domains.models import Domain
from domains.verifiers import CheckResult, Outcome


def result(outcome: str) -> CheckResult:
    text = {
        Outcome.VERIFIED: "The TXT record was found.",
        Outcome.NOT_FOUND: "No TXT record at %(host)s.",
        Outcome.MISMATCH: "Other TXT values were found.",
        Outcome.INCONCLUSIVE: "The DNS server did not answer in time.",
    }[outcome]
    return CheckResult(outcome, Message(text, {"host": "_twilio.example"} if "%(" in text else {}),
                       (Message("Check the host field."),))


def make_user(email: str, *, language: str = "en", verified: bool = True) -> User:
    return User.objects.create_user(email, password="x-Secret-123", email_verified=verified, language=language)


def make_member(organization, email: str, role=Membership.Role.MEMBER, **kwargs) -> Membership:
    user = make_user(email, **kwargs)
    return Membership.objects.create(user=user, organization=organization, role=role)


def make_org(name="Acme", owner_email="owner@owners.test") -> Organization:
    organization = Organization.objects.create(name=name)
    make_member(organization, owner_email, role=Membership.Role.OWNER)
    return organization


def make_domain(organization, name="example.test", *, status=Domain.Status.VERIFIED, **fields) -> Domain:
    now = clock.now()
    defaults = {"unicode_name": name, "created_at": now}
    if status == Domain.Status.VERIFIED:
        defaults.update(verified_at=now, next_check_at=now + timedelta(hours=24))
    if status == Domain.Status.PENDING:
        defaults.update(next_check_at=now, last_verify_click_at=now)
    if status == Domain.Status.REVALIDATION_REQUIRED:
        defaults.update(verified_at=now - timedelta(days=60), failing_since=now,
                        grace_deadline=now + timedelta(days=30), next_check_at=now + timedelta(hours=6))
    defaults.update(fields)
    return Domain.objects.create(organization=organization, name=name, status=status, **defaults)


def make_account(owner: User, organization=None, name="Workspace") -> Account:
    return Account.objects.create(name=name, owner=owner, organization=organization)
