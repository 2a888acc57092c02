"""Two organizations with one of everything, for the hostile-input and isolation tests.

`build_world()` makes Acme (A) and Globex (B), each with an Owner, an Administrator, a
Member, a verified and a pending domain, an account, a ready report with rows (through the
real services), a completed import, a user removed at expiry (for "add back"), and the
audit events those services wrote. `snapshot()` reads every table a request could change,
so a test can say "nothing changed".
"""

from dataclasses import dataclass, field

from django.db import models
from django.db.models.functions import Length

from api import tokens
from api.models import ApiToken, IdempotencyRecord, Scope
from console import audit
from console.models import Account, AuditEvent, Membership, Organization, User
from domains.models import Domain, DomainCheck, RemovedMember
from imports.models import AccessRequest, ImportJob, ImportRow
from mfa.models import SecurityKey
from sso.models import DomainPolicy, IdentityProvider
from webhooks import outbox, signing
from webhooks.models import Delivery, Endpoint, EndpointSecret

PASSWORD = "a-long-test-password-42"
FEATURE = Organization.Feature.BULK_USER_IMPORT

# Every table a console request may write to.
WATCHED_MODELS = (
    User,
    Organization,
    Membership,
    Account,
    Domain,
    DomainCheck,
    RemovedMember,
    AuditEvent,
    ImportJob,
    ImportRow,
    AccessRequest,
    ApiToken,
    IdempotencyRecord,
    Endpoint,
    EndpointSecret,
    Delivery,
    IdentityProvider,
    DomainPolicy,
)

# Written by signing in (force_login in the tests, too) and by using a token, not by the
# requests under test.
UNWATCHED_FIELDS = {"last_login", "last_used_at"}


@dataclass
class Side:
    """One organization and its objects."""

    organization: Organization
    owner: User
    administrator: User
    member: User
    owner_membership: Membership
    administrator_membership: Membership
    member_membership: Membership
    domain: Domain  # verified
    pending_domain: Domain
    account: Account
    ready_job: ImportJob  # report ready: selectable, notifiable, startable
    completed_job: ImportJob  # imported: check for new users
    audit_event: AuditEvent
    removed_member: RemovedMember
    api_token: ApiToken  # every scope, acting for the Owner
    api_secret: str
    webhook_endpoint: Endpoint
    webhook_delivery: Delivery
    security_key: SecurityKey  # the Administrator's
    other_rows: list = field(default_factory=list)

    @property
    def ready_rows(self) -> list[int]:
        return list(ImportRow.objects.filter(job=self.ready_job).order_by("pk").values_list("pk", flat=True))


@dataclass
class World:
    a: Side
    b: Side


def _user(email, *, verified=True, active=True) -> User:
    return User.objects.create_user(email, password=PASSWORD, email_verified=verified, is_active=active)


def _side(name: str, domain_name: str) -> Side:
    from imports import services as import_services

    organization = Organization.objects.create(name=name, features=[FEATURE])
    owner = _user(f"owner@{domain_name}")
    administrator = _user(f"admin@{domain_name}")
    member = _user(f"member@{domain_name}")
    memberships = [
        Membership.objects.create(user=user, organization=organization, role=role, joined_via="created")
        for user, role in (
            (owner, Membership.Role.OWNER),
            (administrator, Membership.Role.ADMINISTRATOR),
            (member, Membership.Role.MEMBER),
        )
    ]
    domain = Domain.objects.create(
        organization=organization, name=domain_name, unicode_name=domain_name, status=Domain.Status.VERIFIED
    )
    pending = Domain.objects.create(
        organization=organization,
        name=f"pending-{domain_name}",
        unicode_name=f"pending-{domain_name}",
        status=Domain.Status.PENDING,
    )
    account = Account.objects.create(name=f"{name} workspace", owner=member, organization=organization)

    # Independent users at the domain: the first report imports two of them, the second
    # (ready) report lists the rest.
    first = [_user(f"early{i}@{domain_name}") for i in range(2)]
    for user in first:
        Account.objects.create(name=f"{user.email} account", owner=user)
    completed = import_services.create_report_job(domain=domain, actor=owner, enqueue=False)
    import_services.build_report(completed.pk)
    completed.refresh_from_db()
    import_services.start_import(job=completed, actor=owner, enqueue=False)
    import_services.run_import(completed.pk)
    completed.refresh_from_db()

    for i in range(3):
        user = _user(f"late{i}@{domain_name}")
        Account.objects.create(name=f"{user.email} account", owner=user)
    _user(f"unverified@{domain_name}", verified=False)
    ready = import_services.create_report_job(domain=domain, actor=owner, enqueue=False)
    import_services.build_report(ready.pk)
    ready.refresh_from_db()

    removed_user = _user(f"removed@{domain_name}")
    removed = RemovedMember.objects.create(
        organization=organization, user=removed_user, domain_name=domain_name, role=Membership.Role.MEMBER
    )
    event = audit.record("test.marker", organization=organization, actor=owner, target=domain, detail={"x": 1})
    api_token, api_secret = tokens.create_token(
        organization=organization, name=f"{name} pipeline", scopes=Scope.values, created_by=owner, actor=owner
    )
    endpoint = Endpoint.objects.create(organization=organization, url=f"https://hooks.{domain_name}/in")
    EndpointSecret.objects.create(endpoint=endpoint, secret=signing.new_secret())
    (delivery,) = outbox.write(
        organization_id=organization.pk, event_type="domain.added", items=[{"marker": name}], endpoints=[endpoint]
    )
    # The row only (the user's two_factor_enabled stays off, so the suites' force_login sessions
    # are not sent to the second-factor page): the routes that name a key are what is tested.
    security_key = SecurityKey.objects.create(
        user=administrator, name=f"{name} key", credential_id=f"{name}-credential".encode(), public_key=b"\x00"
    )
    return Side(
        webhook_endpoint=endpoint,
        webhook_delivery=delivery,
        organization=organization,
        owner=owner,
        administrator=administrator,
        member=member,
        owner_membership=memberships[0],
        administrator_membership=memberships[1],
        member_membership=memberships[2],
        domain=domain,
        pending_domain=pending,
        account=account,
        ready_job=ready,
        completed_job=completed,
        audit_event=event,
        removed_member=removed,
        api_token=api_token,
        api_secret=api_secret,
        security_key=security_key,
    )


def build_world() -> World:
    world = World(a=_side("Acme", "acme.test"), b=_side("Globex", "globex.test"))
    assert world.a.ready_job.status == ImportJob.Status.REPORT_READY and world.a.ready_rows
    assert world.a.completed_job.status == ImportJob.Status.COMPLETED
    return world


def snapshot(filters_by_model: dict | None = None) -> dict[str, list[tuple]]:
    """Every row of every watched table, as tuples ordered by pk (small test databases only)."""
    state = {}
    for model in WATCHED_MODELS:
        queryset = model.objects.order_by("pk")
        if filters_by_model and model in filters_by_model:
            queryset = queryset.filter(**filters_by_model[model])
        names = [f.attname for f in model._meta.concrete_fields if f.attname not in UNWATCHED_FIELDS]
        state[model.__name__] = [tuple(_comparable(v) for v in row) for row in queryset.values_list(*names)]
    return state


def organization_snapshot(organization: Organization) -> dict[str, list[tuple]]:
    """The rows that belong to one organization (directly or through its domains/jobs/users)."""
    user_ids = list(Membership.objects.filter(organization=organization).values_list("user_id", flat=True))
    return snapshot(
        {
            User: {"pk__in": user_ids},
            Organization: {"pk": organization.pk},
            Membership: {"organization": organization},
            Account: {"organization": organization},
            Domain: {"organization": organization},
            DomainCheck: {"domain__organization": organization},
            RemovedMember: {"organization": organization},
            AuditEvent: {"organization": organization},
            ImportJob: {"organization": organization},
            ImportRow: {"job__organization": organization},
            AccessRequest: {"organization": organization},
            ApiToken: {"organization": organization},
            IdempotencyRecord: {"token__organization": organization},
            Endpoint: {"organization": organization},
            EndpointSecret: {"endpoint__organization": organization},
            Delivery: {"endpoint__organization": organization},
            SecurityKey: {"user_id__in": user_ids},
            IdentityProvider: {"organization": organization},
            DomainPolicy: {"domain__organization": organization},
        }
    )


def _comparable(value):
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, sort_keys=True, default=str)
    return value


def changed_rows(before: dict, after: dict) -> dict[str, tuple[int, int]]:
    """{model: (rows before, rows after)} for the tables whose content differs."""
    return {name: (len(before[name]), len(after[name])) for name in before if before[name] != after[name]}


def oversized_values() -> list[str]:
    """Rows whose text exceeds the column's max_length (SQLite stores them; PostgreSQL refuses)."""
    problems = []
    for model in WATCHED_MODELS:
        for field_ in model._meta.concrete_fields:
            if isinstance(field_, models.CharField) and field_.max_length:
                too_long = (
                    model.objects.annotate(_length=Length(field_.attname))
                    .filter(_length__gt=field_.max_length)
                    .values_list("pk", "_length")[:3]
                )
                problems += [f"{model.__name__}.{field_.attname} pk={pk}: {n} chars" for pk, n in too_long]
    return problems
